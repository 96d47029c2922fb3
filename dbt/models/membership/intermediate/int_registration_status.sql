-- Each registration's status as of D (doc registration_status), its reasons, and the points it adds
-- or would add. The serial holder and the points live in the registration_status_at macro, shared
-- with the points forecast: among the registrations that pass the checks of
-- int_registration_checks, the earliest registered (tie: smaller
-- registration_id) holds a product's serial (trimmed, any case); any other one is a duplicate.
-- materialized: the checks (a view) are read twice by the macro and must be computed once
-- (both inputs are as of D: the date column is set here once, so the macro's joins on it hold)
with checked as materialized (
    select * exclude (as_of_date), {{ as_of_date() }} as as_of_date
    from {{ ref('int_registration_checks') }}
),

product_points as (
    select product_sku, {{ as_of_date() }} as as_of_date, effective_points
    from {{ ref('int_product_points') }}
),

decided as (
    {{ registration_status_at('checked', 'product_points', 'as_of_date') }}
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
    status,
    checks_reasons as reasons,
    effective_points,
    pending_points,
    needs_action
from decided
