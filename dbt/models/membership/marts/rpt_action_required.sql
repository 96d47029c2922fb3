-- The "blue dot": every registration of a known member that needs the member's action as of D,
-- with what to do in plain words.
with needing_action as (
    select r.*, string_split(r.reasons, ',') as reason_list, p.product_name
    from {{ ref('int_registration_status') }} as r
    inner join {{ ref('dim_members') }} as m on r.member_id = m.member_id
    left join {{ ref('dim_products') }} as p on r.product_sku = p.product_sku
    where r.needs_action
),

explained as (
    select
        *,
        case
            when status = 'duplicate_serial'
                then [{{ sql_text(registration_reasons()['duplicate_serial'].step) }}]
            else {{ reason_steps('reason_list') }}
        end as steps
    from needing_action
)

select
    registration_id,
    member_id,
    product_sku,
    coalesce(product_name, product_sku) as product_name,
    status,
    reasons,
    array_to_string(steps, '; ') as explanation,
    pending_points,
    {{ as_of_date() }} as as_of_date
from explained
