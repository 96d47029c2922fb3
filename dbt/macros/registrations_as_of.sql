{#
  Registrations as of D: the latest version of each registration among those stamped (updated_at
  and registered_at) by the end of day D. The body of stg_registrations, and of the incremental
  branch of int_registration_status, which passes key_filter to read only the registrations it
  recomputes (see incremental_nights.sql).
#}
{% macro registrations_as_of(key_filter=none) -%}
with latest as (
    {{ latest_version(source('raw', 'registrations'), 'registration_id', ['updated_at', 'registered_at'], key_filter) }}
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
{%- endmacro %}
