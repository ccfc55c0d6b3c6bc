WITH e AS (
  SELECT
    contact_id,
    COUNT_IF(
      event_type = 'email_clicked'
      AND link = 'https://shop.example.com/new'
      AND ts >= CAST('2026-10-23 09:30:00' AS TIMESTAMP)
      AND ts <= CAST('2026-11-22 09:30:00' AS TIMESTAMP)
    ) AS m0,
    COUNT_IF(event_type = 'email_bounced' AND bounce_type = 'hard') AS m1
  FROM tern.events
  WHERE
    org_id = 'acme'
    AND (
      (
        event_type = 'email_clicked'
        AND link = 'https://shop.example.com/new'
        AND ts >= CAST('2026-10-23 09:30:00' AS TIMESTAMP)
        AND ts <= CAST('2026-11-22 09:30:00' AS TIMESTAMP)
      )
      OR (
        event_type = 'email_bounced' AND bounce_type = 'hard'
      )
    )
  GROUP BY
    contact_id
), base AS (
  SELECT
    c.contact_id,
    COALESCE(c.lead_score > 20, FALSE) AS p0,
    COALESCE(c.city = 'Warszawa', FALSE) AS p1,
    COALESCE(COALESCE(e.m0, 0) >= 1, FALSE) AS p2,
    COALESCE(COALESCE(e.m1, 0) >= 1, FALSE) AS p3
  FROM tern.contacts AS c
  LEFT JOIN e
    ON e.contact_id = c.contact_id
  WHERE
    c.org_id = 'acme'
)
SELECT
  contact_id
FROM base
WHERE
  (
    p0 AND p1 AND p2 AND NOT p3
  )
ORDER BY
  contact_id NULLS FIRST
