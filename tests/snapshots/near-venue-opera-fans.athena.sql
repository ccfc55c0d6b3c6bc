WITH base AS (
  SELECT
    c.contact_id,
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
    ) AS p0,
    COALESCE(CONTAINS(c.categories, 'opera'), FALSE) AS p1,
    COALESCE(ELEMENT_AT(c.attributes, 'loyalty_tier') = 'gold', FALSE) AS p2,
    COALESCE(CONTAINS(c.consents, 'email_marketing'), FALSE) AS p3,
    COALESCE(
      c.birth_date IS NULL
      OR (
        c.birth_date <= CAST('2001-11-22' AS DATE)
        AND c.birth_date > CAST('1965-11-22' AS DATE)
      ),
      FALSE
    ) AS p4,
    TRUE AS p5
  FROM tern.contacts AS c
  WHERE
    c.org_id = 'acme'
)
SELECT
  contact_id
FROM base
WHERE
  (
    p0 AND (
      p1 OR p2
    ) AND p3 AND p4 AND p5
  )
ORDER BY
  contact_id NULLS FIRST
