{{ recomputed_keys_config('registration_id', 'registration_id') }}
-- depends_on: {{ ref('int_registration_changes') }}
-- The "blue dot": every registration of a known member that needs the member's action as of D,
-- with what to do in plain words; rpt_action_required without the night's date.
-- Incremental (doc incremental_nights): an incremental night recomputes the registrations of
-- int_registration_changes (a member who becomes known, or whose record changes, has every
-- registration there); the rows of those that differ from the stored ones replace them ('changed_keys').
with needing_action as (
    select r.*, string_split(r.reasons, ',') as reason_list, p.product_name
    from {{ ref('int_registration_status') }} as r
    left join {{ ref('stg_products') }} as p on r.product_sku = p.product_sku
    where r.needs_action
        and r.member_known  -- among tonight's members (dim_members)
    {%- if is_incremental() %}
        and {{ is_recomputed('r.registration_id', 'registration_id') }}
    {%- endif %}
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
    pending_points
from explained
