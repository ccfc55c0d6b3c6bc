WITH e AS (
  SELECT
    contact_id,
    COUNT_IF(
      event_type = 'purchase'
      AND NOT event_start IS NULL
      AND ts <= event_start
      AND ts >= event_start - INTERVAL '2' DAY
      AND ts >= CAST('2025-11-22 09:30:00' AS TIMESTAMP)
      AND ts <= CAST('2026-11-22 09:30:00' AS TIMESTAMP)
    ) AS m0
  FROM tern.events
  WHERE
    (
      (
        org_id = 'acme' AND dt >= '2025-11-22'
      ) AND dt <= '2026-11-22'
    )
    AND (
      event_type = 'purchase'
      AND NOT event_start IS NULL
      AND ts <= event_start
      AND ts >= event_start - INTERVAL '2' DAY
      AND ts >= CAST('2025-11-22 09:30:00' AS TIMESTAMP)
      AND ts <= CAST('2026-11-22 09:30:00' AS TIMESTAMP)
    )
  GROUP BY
    contact_id
), base AS (
  SELECT
    c.contact_id,
    COALESCE(COALESCE(e.m0, 0) > 0, FALSE) AS p0
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
    p0
  )
ORDER BY
  contact_id NULLS FIRST
