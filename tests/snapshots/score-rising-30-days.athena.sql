WITH e AS (
  SELECT
    contact_id,
    SUM(
      CASE
        WHEN NOT score_delta IS NULL
        AND ts >= CAST('2026-10-23 09:30:00' AS TIMESTAMP)
        AND ts <= CAST('2026-11-22 09:30:00' AS TIMESTAMP)
        THEN score_delta
      END
    ) AS m0
  FROM tern.events
  WHERE
    (
      (
        org_id = 'acme' AND dt >= '2026-10-23'
      ) AND dt <= '2026-11-22'
    )
    AND (
      NOT score_delta IS NULL
      AND ts >= CAST('2026-10-23 09:30:00' AS TIMESTAMP)
      AND ts <= CAST('2026-11-22 09:30:00' AS TIMESTAMP)
    )
  GROUP BY
    contact_id
), base AS (
  SELECT
    c.contact_id,
    COALESCE(COALESCE(e.m0, 0) > 0.0, FALSE)
    AND ROW_NUMBER() OVER (
      ORDER BY CASE WHEN COALESCE(COALESCE(e.m0, 0) > 0.0, FALSE) THEN 0 ELSE 1 END, COALESCE(e.m0, 0) DESC, c.contact_id
    ) <= 100 AS p0
  FROM tern.contacts AS c
  LEFT JOIN e
    ON e.contact_id = c.contact_id
  WHERE
    c.org_id = 'acme' AND NOT c.contact_id IS NULL
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
