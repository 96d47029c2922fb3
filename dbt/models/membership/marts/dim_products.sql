-- The catalogue with each product's points as of D: int_product_points as published (its columns are
-- the contract in dim_products.yml).
select *
from {{ ref('int_product_points') }}
