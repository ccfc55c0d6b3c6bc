SELECT
  c.contact_id
FROM tern.contacts AS c
WHERE
  (
    c.org_id = 'acme' AND NOT c.contact_id IS NULL
  )
  AND (
    c.contact_id IN (
      SELECT
        contact_id
      FROM tern.events
      WHERE
        (
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
        )
        AND NOT contact_id IS NULL
    )
  )
ORDER BY
  contact_id NULLS FIRST
