WITH e AS (
  SELECT
    contact_id,
    COUNT_IF(
      event_type = 'purchase'
      AND event_start >= CAST('2026-07-25 09:30:00' AS TIMESTAMP)
    ) AS m0,
    COUNT_IF(
      event_type = 'purchase'
      AND production_ref = 'carmen'
      AND event_start >= CAST('2026-07-25 09:30:00' AS TIMESTAMP)
    ) AS m1
  FROM tern.events
  WHERE
    org_id = 'acme'
    AND (
      (
        event_type = 'purchase'
        AND event_start >= CAST('2026-07-25 09:30:00' AS TIMESTAMP)
      )
      OR (
        event_type = 'purchase'
        AND production_ref = 'carmen'
        AND event_start >= CAST('2026-07-25 09:30:00' AS TIMESTAMP)
      )
    )
  GROUP BY
    contact_id
), base AS (
  SELECT
    c.contact_id,
    COALESCE(COALESCE(e.m0, 0) >= 1, FALSE) AS p0,
    COALESCE(COALESCE(e.m1, 0) >= 1, FALSE) AS p1
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
    p0 AND NOT p1
  )
ORDER BY
  contact_id NULLS FIRST
