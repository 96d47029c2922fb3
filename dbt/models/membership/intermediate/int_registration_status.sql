{{ recomputed_keys_config('registration_id', 'registration_id') }}
{{ joins_as_written() }}
-- depends_on: {{ ref('int_registration_changes') }}, {{ source('raw', 'registrations') }}, {{ ref('iso_3166_1_alpha_2') }}
-- Each registration's status as of D (doc registration_status), its reasons, the points it adds
-- or would add, and whether its member is known. The serial holder and the points live in the
-- registration_status_at macro, shared with the points forecast: among the registrations that pass
-- the checks of int_registration_checks, the earliest registered (tie: smaller
-- registration_id) holds a product's serial (trimmed, any case); any other one is a duplicate.
-- Incremental (doc incremental_nights): a full rebuild computes every registration; an incremental
-- night only those of int_registration_changes (whole serial groups, so the holder is decided among
-- the same registrations as in a full rebuild), the others keep their stored rows.
-- materialized: the checks are read twice by the macro and must be computed once
-- (both inputs are as of D: the date column is set here once, so the macro's joins on it hold)
with
{% if is_incremental() %}
registrations as (
    select *, {{ as_of_date() }} as as_of_date
    from ({{ registrations_as_of(is_recomputed('registration_id', 'registration_id')) }}) as staged
),

launch_dates as (
    select product_sku, launch_date from {{ ref('int_product_points') }}
),

checked as materialized (
    {{ registration_checks_at('registrations', 'launch_dates', 'as_of_date') }}
),
{% else %}
checked as materialized (
    select * exclude (as_of_date), {{ as_of_date() }} as as_of_date
    from {{ ref('int_registration_checks') }}
),
{% endif %}

product_points as (
    select product_sku, {{ as_of_date() }} as as_of_date, effective_points
    from {{ ref('int_product_points') }}
),

decided as (
    {{ registration_status_at('checked', 'product_points', 'as_of_date') }}
)

select
    d.registration_id,
    d.member_id,
    m.member_id is not null as member_known,
    d.product_sku,
    d.serial_number,
    -- stored only where it differs from serial_number (read it with stored_serial_key)
    nullif(d.serial_key, d.serial_number) as serial_key_if_different,
    -- the other registrations of a product and serial are found by this one integer
    -- (macro semi_join_serial_groups)
    {{ serial_group_hash('d.product_sku', 'coalesce(nullif(d.serial_key, d.serial_number), d.serial_number)') }}
        as serial_group_hash,
    d.purchase_date,
    d.purchase_country,
    d.retailer,
    d.second_hand,
    d.registered_at,
    d.removed_at,
    d.status,
    d.checks_reasons as reasons,
    d.effective_points,
    d.pending_points,
    d.needs_action
from decided as d
left join {{ ref('stg_members') }} as m on d.member_id = m.member_id
