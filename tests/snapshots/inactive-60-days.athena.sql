WITH e AS (
  SELECT
    contact_id,
    COUNT_IF(
      event_type IN ('page_view', 'search', 'download', 'form_submit', 'email_clicked', 'purchase')
      AND ts >= CAST('2026-09-23 09:30:00' AS TIMESTAMP)
      AND ts <= CAST('2026-11-22 09:30:00' AS TIMESTAMP)
    ) AS m0,
    COUNT_IF(event_type = 'page_view') AS m1
  FROM tern.events
  WHERE
    org_id = 'acme'
    AND (
      (
        event_type IN ('page_view', 'search', 'download', 'form_submit', 'email_clicked', 'purchase')
        AND ts >= CAST('2026-09-23 09:30:00' AS TIMESTAMP)
        AND ts <= CAST('2026-11-22 09:30:00' AS TIMESTAMP)
      )
      OR event_type = 'page_view'
    )
  GROUP BY
    contact_id
), base AS (
  SELECT
    c.contact_id,
    NOT COALESCE(COALESCE(e.m0, 0) > 0, FALSE) AS p0,
    COALESCE(COALESCE(e.m1, 0) >= 1.0, FALSE) AS p1
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
    p0 AND p1
  )
ORDER BY
  contact_id NULLS FIRST
