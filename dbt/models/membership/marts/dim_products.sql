-- The catalogue with each product's points as of D.
select
    product_sku,
    product_name,
    category,
    is_video,
    fast_track,
    launch_date,
    base_points,
    superseded_by,
    superseded_on,
    service_end_date,
    age_years,
    is_superseded,
    is_service_ended,
    points_factor,
    effective_points,
    as_of_date
from {{ ref('int_product_points') }}
