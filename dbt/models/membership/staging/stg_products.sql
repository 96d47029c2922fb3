-- The product catalogue: the rows of the newest catalogue load (the catalogue is a full snapshot).
with latest as (
    {{ latest_snapshot(source('raw', 'products')) }}
)

select
    product_sku,
    product_name,
    category,
    is_video,
    launch_date,
    base_points,
    fast_track,
    superseded_by,
    superseded_on,
    service_end_date
from latest
