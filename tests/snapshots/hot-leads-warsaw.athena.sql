SELECT
  c.contact_id
FROM tern.contacts AS c
WHERE
  (
    c.org_id = 'acme' AND NOT c.contact_id IS NULL
  )
  AND (
    COALESCE(c.lead_score > 20, FALSE)
    AND COALESCE(c.city = 'Warszawa', FALSE)
    AND c.contact_id IN (
      SELECT
        contact_id
      FROM tern.events
      WHERE
        (
          (
            (
              org_id = 'acme' AND dt >= '2026-10-23'
            ) AND dt <= '2026-11-22'
          )
          AND (
            event_type = 'email_clicked'
            AND link = 'https://shop.example.com/new'
            AND ts >= CAST('2026-10-23 09:30:00' AS TIMESTAMP)
            AND ts <= CAST('2026-11-22 09:30:00' AS TIMESTAMP)
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
          org_id = 'acme' AND (
            event_type = 'email_bounced' AND bounce_type = 'hard'
          )
        )
        AND NOT contact_id IS NULL
    )
  )
ORDER BY
  contact_id NULLS FIRST
