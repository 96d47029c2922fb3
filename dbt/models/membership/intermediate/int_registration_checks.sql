-- The checks of the registration status before the serial holder (doc registration_status), each as its own flag, and the status they decide
-- (null when none applies: the registration may hold its serial, see int_registration_status).
-- A view: its only reader is int_registration_status, so millions of rows are not written twice.
{{ config(materialized='view') }}
{#- a serial is letters (A-Z, any case) or digits, of a length allowed by the policy -#}
{%- set serial_pattern = '[A-Za-z0-9]{' ~ (var('serial_min_length') | int) ~ ',' ~ (var('serial_max_length') | int) ~ '}' %}

with registrations as (
    select * from {{ ref('stg_registrations') }}
),

products as (
    select product_sku, launch_date from {{ ref('int_product_points') }}
),

countries as (
    select country_code from {{ ref('iso_3166_1_alpha_2') }}
),

flagged as (
    select
        r.*,
        upper({{ trim_spaces('r.serial_number') }}) as serial_key,
        coalesce(r.removed_at < {{ end_of_as_of_day() }}, false) as is_removed,
        p.product_sku is null as is_unknown_product,
        {{ is_blank('r.serial_number') }} as is_missing_serial_number,
        r.purchase_date is null as is_missing_purchase_date,
        {{ is_blank('r.purchase_country') }} as is_missing_purchase_country,
        {{ is_blank('r.retailer') }} as is_missing_retailer,
        coalesce(r.purchase_date > {{ as_of_date() }}, false) as is_purchase_in_future,
        coalesce(
            r.purchase_date < p.launch_date - {{ policy_integer('purchase_before_launch_days') }},
            false
        ) as is_purchase_before_launch,
        c.country_code is null as is_bad_country,
        not coalesce(
            regexp_full_match(
                {{ trim_spaces('r.serial_number') }},
                '{{ serial_pattern }}'
            ),
            false
        ) as is_bad_serial
    from registrations as r
    left join products as p on r.product_sku = p.product_sku
    left join countries as c on upper({{ trim_spaces('r.purchase_country') }}) = c.country_code
),

decided as (
    select
        *,
        is_missing_serial_number or is_missing_purchase_date
        or is_missing_purchase_country or is_missing_retailer as is_incomplete,
        is_purchase_in_future or is_purchase_before_launch or is_bad_country or is_bad_serial as is_invalid
    from flagged
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
    case
        when is_removed then 'removed'
        when is_unknown_product then 'unknown_product'
        when is_incomplete then 'incomplete'
        when is_invalid then 'invalid'
    end as checks_status,
    -- Reasons of the deciding rule only, comma-separated; '' when that rule has none.
    -- Each list is written in alphabetical order, so it comes out sorted (concat_ws skips nulls).
    case
        when is_removed or is_unknown_product then ''
        when is_incomplete then concat_ws(
            ',',
            case when is_missing_purchase_country then 'missing_purchase_country' end,
            case when is_missing_purchase_date then 'missing_purchase_date' end,
            case when is_missing_retailer then 'missing_retailer' end,
            case when is_missing_serial_number then 'missing_serial_number' end
        )
        when is_invalid then concat_ws(
            ',',
            case when is_bad_country then 'bad_country' end,
            case when is_bad_serial then 'bad_serial' end,
            case when is_purchase_before_launch then 'purchase_before_launch' end,
            case when is_purchase_in_future then 'purchase_in_future' end
        )
        else ''
    end as checks_reasons
from decided
