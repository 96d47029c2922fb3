-- Each catalogue product's points as of D (point decay, supersession, end of service, floor).
-- The rules live in the product_points_at macro (shared with the points forecast); all shares
-- are DECIMAL, so base_points * factor is exact and half-way values round up.
with products as (
    select
        *,
        {{ as_of_date() }} as as_of_date
    from {{ ref('stg_products') }}
),

pointed as (
    {{ product_points_at('products', 'as_of_date') }}
)

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
    age_only_points,
    as_of_date
from pointed
