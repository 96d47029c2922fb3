-- Each registration's status as of D (doc registration_status), its reasons, and the points it adds or would add.
-- Duplicate serials: among the registrations that pass the checks of int_registration_checks, the earliest registered (tie: smaller
-- registration_id) holds a product's serial (trimmed, any case); any other one is a duplicate.
-- materialized: the checks (a view) are read twice below and must be computed once
with checked as materialized (
    select * from {{ ref('int_registration_checks') }}
),

passing as (
    select registration_id, product_sku, serial_key, registered_at
    from checked
    where checks_status is null
),

-- Most serials are registered once: rank only the serials that more than one passing registration
-- shares (a window over all registrations would sort millions of rows for nothing).
shared_serials as (
    select product_sku, serial_key
    from passing
    group by product_sku, serial_key
    having count(*) > 1
),

ranked as (
    select
        p.registration_id,
        row_number() over (
            partition by p.product_sku, p.serial_key
            order by p.registered_at, p.registration_id
        ) as serial_holder_rank
    from passing as p
    semi join shared_serials as s on p.product_sku = s.product_sku and p.serial_key = s.serial_key
),

decided as (
    select
        c.*,
        case
            when c.checks_status is not null then c.checks_status
            when r.serial_holder_rank > 1 then 'duplicate_serial'
            else 'counted'
        end as status
    from checked as c
    left join ranked as r on c.registration_id = r.registration_id
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
