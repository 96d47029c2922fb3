-- Registrations as of D: the latest version of each registration among those stamped
-- (updated_at and registered_at) by the end of day D.
-- A view: its one reader, int_registration_checks, feeds int_registration_status, the table that
-- holds every registration with its source columns (and is what the quality gate validates).
-- As a table it would write ~8 million rows once more a night (~20 s at a million members).
{{ config(materialized='view') }}
with latest as (
    {{ latest_version(source('raw', 'registrations'), 'registration_id', ['updated_at', 'registered_at']) }}
)

select
    registration_id,
    member_id,
    product_sku,
    serial_number,
    purchase_date,
    purchase_country,
    retailer,
    coalesce(second_hand, false) as second_hand,
    registered_at,
    removed_at,
    updated_at
from latest
