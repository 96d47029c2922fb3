-- Each registration's status as of D (rules 1 to 6), its reasons, and the points it adds or would add.
-- Rule 5: among the registrations that pass rules 1-4, the earliest registered (tie: smaller
-- registration_id) holds a product's serial (trimmed, any case); any other one is a duplicate.
with checked as (
    select * from {{ ref('int_registration_checks') }}
),

ranked as (
    select
        *,
        case
            when checks_status is null
                then row_number() over (
                    partition by checks_status is null, product_sku, serial_key
                    order by registered_at, registration_id
                )
        end as serial_holder_rank
    from checked
),

decided as (
    select
        *,
        case
            when checks_status is not null then checks_status
            when serial_holder_rank > 1 then 'duplicate_serial'
            else 'counted'
        end as status
    from ranked
)

select
    d.registration_id,
    d.member_id,
    d.product_sku,
    d.serial_number,
    d.serial_key,
    d.purchase_date,
    d.purchase_country,
    d.retailer,
    d.second_hand,
    d.registered_at,
    d.removed_at,
    d.status,
    d.checks_reasons as reasons,
    case when d.status = 'counted' then p.effective_points else 0 end::integer as effective_points,
    case when d.status in ('incomplete', 'invalid') then p.effective_points else 0 end::integer as pending_points,
    d.status in ('incomplete', 'invalid', 'duplicate_serial') as needs_action
from decided as d
left join {{ ref('int_product_points') }} as p on d.product_sku = p.product_sku
