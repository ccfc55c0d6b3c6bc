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
  FROM (
    SELECT
      c.contact_id,
      c.email,
      c.phone,
      c.first_name,
      c.last_name,
      c.gender,
      c.birth_date,
      c.city,
      c.postal_code,
      c.country,
      c.latitude,
      c.longitude,
      c.language,
      c.lead_score,
      c.lead_stage,
      c.opportunity_stage,
      c.owner,
      c.subscriber,
      CASE
        WHEN o.contact_id IS NULL
        THEN c.tags
        ELSE CONCAT(
          FILTER(
            COALESCE(c.tags, CAST(ARRAY[] AS ARRAY(VARCHAR))),
            x -> NOT CONTAINS(COALESCE(o.tags_remove, CAST(ARRAY[] AS ARRAY(VARCHAR))), x)
          ),
          FILTER(
            COALESCE(o.tags_add, CAST(ARRAY[] AS ARRAY(VARCHAR))),
            x -> NOT CONTAINS(COALESCE(c.tags, CAST(ARRAY[] AS ARRAY(VARCHAR))), x)
          )
        )
      END AS tags,
      CASE
        WHEN o.contact_id IS NULL
        THEN c.categories
        ELSE CONCAT(
          FILTER(
            COALESCE(c.categories, CAST(ARRAY[] AS ARRAY(VARCHAR))),
            x -> NOT CONTAINS(COALESCE(o.categories_remove, CAST(ARRAY[] AS ARRAY(VARCHAR))), x)
          ),
          FILTER(
            COALESCE(o.categories_add, CAST(ARRAY[] AS ARRAY(VARCHAR))),
            x -> NOT CONTAINS(COALESCE(c.categories, CAST(ARRAY[] AS ARRAY(VARCHAR))), x)
          )
        )
      END AS categories,
      CASE
        WHEN o.contact_id IS NULL
        THEN c.consents
        ELSE CONCAT(
          FILTER(
            COALESCE(c.consents, CAST(ARRAY[] AS ARRAY(VARCHAR))),
            x -> NOT CONTAINS(COALESCE(o.consents_remove, CAST(ARRAY[] AS ARRAY(VARCHAR))), x)
          ),
          FILTER(
            COALESCE(o.consents_add, CAST(ARRAY[] AS ARRAY(VARCHAR))),
            x -> NOT CONTAINS(COALESCE(c.consents, CAST(ARRAY[] AS ARRAY(VARCHAR))), x)
          )
        )
      END AS consents,
      c.attributes,
      c.created_at,
      c.updated_at,
      c.timezone,
      c.org_id
    FROM tern.contacts AS c
    LEFT JOIN (
      SELECT
        contact_id,
        ARRAY_AGG(value) FILTER(WHERE
          kind = 'tag' AND action = 'add') AS tags_add,
        ARRAY_AGG(value) FILTER(WHERE
          kind = 'tag' AND action = 'remove') AS tags_remove,
        ARRAY_AGG(value) FILTER(WHERE
          kind = 'category' AND action = 'add') AS categories_add,
        ARRAY_AGG(value) FILTER(WHERE
          kind = 'category' AND action = 'remove') AS categories_remove,
        ARRAY_AGG(value) FILTER(WHERE
          kind = 'consent' AND action = 'add') AS consents_add,
        ARRAY_AGG(value) FILTER(WHERE
          kind = 'consent' AND action = 'remove') AS consents_remove
      FROM (
        SELECT
          contact_id,
          kind,
          value,
          MAX_BY(action, changed_at) AS action
        FROM tern.overlay
        WHERE
          org_id = 'acme'
        GROUP BY
          contact_id,
          kind,
          value
      ) AS latest
      GROUP BY
        contact_id
    ) AS o
      ON o.contact_id = c.contact_id
    WHERE
      c.org_id = 'acme'
  ) AS c
  LEFT JOIN e
    ON e.contact_id = c.contact_id
  WHERE
    NOT c.contact_id IS NULL
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
