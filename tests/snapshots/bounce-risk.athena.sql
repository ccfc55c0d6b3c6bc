WITH e AS (
  SELECT
    contact_id,
    COUNT_IF(event_type = 'email_bounced' AND bounce_type = 'hard') AS m0,
    COUNT_IF(event_type = 'email_bounced' AND bounce_type = 'soft') AS m1
  FROM tern.events
  WHERE
    org_id = 'acme'
    AND (
      (
        event_type = 'email_bounced' AND bounce_type = 'hard'
      )
      OR (
        event_type = 'email_bounced' AND bounce_type = 'soft'
      )
    )
  GROUP BY
    contact_id
), base AS (
  SELECT
    c.contact_id,
    COALESCE(COALESCE(e.m0, 0) >= 1, FALSE) AS p0,
    COALESCE(COALESCE(e.m1, 0) >= 4.0, FALSE) AS p1
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
    p0 OR p1
  )
ORDER BY
  contact_id NULLS FIRST
