-- Every registration known as of D with its status, reasons and points.
select
    r.registration_id,
    r.member_id,
    m.member_id is not null as member_known,
    r.product_sku,
    r.serial_number,
    r.purchase_date,
    r.purchase_country,
    r.retailer,
    r.second_hand,
    r.registered_at,
    r.removed_at,
    r.status,
    r.reasons,
    r.effective_points,
    r.pending_points,
    r.needs_action,
    {{ as_of_date() }} as as_of_date
from {{ ref('int_registration_status') }} as r
left join {{ ref('dim_members') }} as m on r.member_id = m.member_id
