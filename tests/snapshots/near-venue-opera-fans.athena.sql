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
    COALESCE(
      12742.0 * ASIN(
        LEAST(
          1,
          SQRT(
            POWER(SIN(CAST((
              RADIANS(c.latitude) - RADIANS(52.2297)
            ) AS DOUBLE) / 2), 2) + COS(RADIANS(52.2297)) * COS(RADIANS(c.latitude)) * POWER(SIN(CAST((
              RADIANS(c.longitude) - RADIANS(21.0122)
            ) AS DOUBLE) / 2), 2)
          )
        )
      ) <= 25.0,
      FALSE
    )
    AND (
      COALESCE(CONTAINS(c.categories, 'opera'), FALSE)
      OR COALESCE(ELEMENT_AT(c.attributes, 'loyalty_tier') = 'gold', FALSE)
    )
    AND COALESCE(CONTAINS(c.consents, 'email_marketing'), FALSE)
    AND COALESCE(
      c.birth_date IS NULL
      OR (
        c.birth_date <= CAST('2001-11-22' AS DATE)
        AND c.birth_date > CAST('1965-11-22' AS DATE)
      ),
      FALSE
    )
    AND TRUE
  )
ORDER BY
  contact_id NULLS FIRST
