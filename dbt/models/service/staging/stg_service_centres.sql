-- Service centres: the rows of the newest load of the service centre list (a full snapshot).
with latest as (
    {{ latest_snapshot(source('raw', 'service_centres')) }}
)

select
    centre_id,
    name,
    country,
    centre_type
from latest
