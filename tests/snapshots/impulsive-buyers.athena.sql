SELECT
  c.contact_id
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
WHERE
  NOT c.contact_id IS NULL
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
