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
                then ['This serial number is already registered for this product; check the serial number, '
                    || 'or contact CPS if the product is yours']
            else list_filter([
                case when list_contains(reason_list, 'missing_serial_number') then 'Add the serial number' end,
                case when list_contains(reason_list, 'missing_purchase_date') then 'Add the purchase date' end,
                case when list_contains(reason_list, 'missing_purchase_country')
                    then 'Add the country where you bought it' end,
                case when list_contains(reason_list, 'missing_retailer') then 'Add the retailer you bought it from' end,
                case when list_contains(reason_list, 'purchase_in_future')
                    then 'Correct the purchase date: it is in the future' end,
                case when list_contains(reason_list, 'purchase_before_launch')
                    then 'Correct the purchase date: it is before the product was launched' end,
                case when list_contains(reason_list, 'bad_country')
                    then 'Correct the country of purchase: use its two-letter code, for example GB' end,
                case when list_contains(reason_list, 'bad_serial')
                    then 'Correct the serial number: it should be {{ var("serial_min_length") | int }} to '
                        || '{{ var("serial_max_length") | int }} letters or digits' end
            ], lambda step: step is not null)
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
