-- Rules 1 to 4 of the registration status as of D, each as its own flag, and the status they
-- decide (null when none applies: the registration may hold its serial, see
-- int_registration_status). The rules live in the registration_checks_at macro, shared with the
-- points forecast. A view: its only reader is int_registration_status, so millions of rows are
-- not written twice.
{{ config(materialized='view') }}

with registrations as (
    select
        *,
        {{ as_of_date() }} as as_of_date
    from {{ ref('stg_registrations') }}
),

products as (
    select product_sku, launch_date from {{ ref('int_product_points') }}
),

checked as (
    {{ registration_checks_at('registrations', 'products', 'as_of_date') }}
)

select
    registration_id,
    member_id,
    product_sku,
    serial_number,
    serial_key,
    purchase_date,
    purchase_country,
    retailer,
    second_hand,
    registered_at,
    removed_at,
    is_removed,
    is_unknown_product,
    is_missing_serial_number,
    is_missing_purchase_date,
    is_missing_purchase_country,
    is_missing_retailer,
    is_purchase_in_future,
    is_purchase_before_launch,
    is_bad_country,
    is_bad_serial,
    checks_status,
    checks_reasons,
    as_of_date
from checked
