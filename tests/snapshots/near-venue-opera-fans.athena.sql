SELECT
  c.contact_id
FROM tern.contacts AS c
WHERE
  (
    c.org_id = 'acme' AND NOT c.contact_id IS NULL
  )
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
