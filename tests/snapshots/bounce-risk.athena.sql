WITH e AS (
  SELECT
    contact_id,
    COUNT_IF(event_type = 'email_bounced' AND bounce_type = 'soft') AS m0
  FROM tern.events
  WHERE
    org_id = 'acme' AND (
      event_type = 'email_bounced' AND bounce_type = 'soft'
    )
  GROUP BY
    contact_id
)
SELECT
  c.contact_id
FROM tern.contacts AS c
LEFT JOIN e
  ON e.contact_id = c.contact_id
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
          org_id = 'acme' AND (
            event_type = 'email_bounced' AND bounce_type = 'hard'
          )
        )
        AND NOT contact_id IS NULL
    )
    OR COALESCE(COALESCE(e.m0, 0) >= 4.0, FALSE)
  )
ORDER BY
  contact_id NULLS FIRST
