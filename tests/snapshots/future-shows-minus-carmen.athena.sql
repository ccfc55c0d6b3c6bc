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
          org_id = 'acme'
          AND (
            event_type = 'purchase'
            AND event_start >= CAST('2026-07-25 09:30:00' AS TIMESTAMP)
          )
        )
        AND NOT contact_id IS NULL
    )
    AND NOT c.contact_id IN (
      SELECT
        contact_id
      FROM tern.events
      WHERE
        (
          org_id = 'acme'
          AND (
            event_type = 'purchase'
            AND production_ref = 'carmen'
            AND event_start >= CAST('2026-07-25 09:30:00' AS TIMESTAMP)
          )
        )
        AND NOT contact_id IS NULL
    )
  )
ORDER BY
  contact_id NULLS FIRST
