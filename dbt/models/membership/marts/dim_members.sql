-- Every member as of D with points, level, tiers and what the next level needs.
with members as (
    select
        m.member_id,
        m.email,
        m.country,
        m.language,
        m.marketing_opt_in,
        m.joined_at,
        m.legacy_cps_number,
        coalesce(p.validated_points, 0)::bigint as validated_points,
        coalesce(p.pending_points, 0)::bigint as pending_points,
        coalesce(p.counted_products, 0)::integer as counted_products,
        coalesce(p.action_required_count, 0)::integer as action_required_count
    from {{ ref('stg_members') }} as m
    left join {{ ref('int_member_points') }} as p on m.member_id = p.member_id
),

-- the first change of the points forecast within the horizon, if any
next_changes as (
    select member_id, change_on as next_change_on, validated_points as points_after_next_change
    from {{ ref('int_points_forecast') }}
    qualify row_number() over (partition by member_id order by change_on) = 1
)

select
    member_id,
    email,
    country,
    language,
    marketing_opt_in,
    joined_at,
    legacy_cps_number,
    {{ level_from_points('validated_points') }} as level,
    validated_points,
    pending_points,
    counted_products,
    action_required_count,
    validated_points >= {{ policy_integer('invitation_points') }} as invitation_eligible,
    validated_points > {{ policy_integer('corporate_points') }} as corporate_eligible,
    -- Paid tiers reached, in ladder order, then Corporate; '' when none.
    concat_ws(
        ',',
        case when validated_points >= {{ policy_integer('level_silver_points') }} then 'Silver' end,
        case when validated_points >= {{ policy_integer('level_gold_points') }} then 'Gold' end,
        case when validated_points >= {{ policy_integer('level_platinum_points') }} then 'Platinum' end,
        case when validated_points > {{ policy_integer('corporate_points') }} then 'Corporate' end
    ) as eligible_tiers,
    {{ next_level_from_points('validated_points') }} as next_level,
    ({{ points_to_next_level('validated_points') }})::bigint as points_to_next_level,
    n.next_change_on,
    n.points_after_next_change::bigint as points_after_next_change,
    {{ as_of_date() }} as as_of_date
from members
left join next_changes as n using (member_id)
