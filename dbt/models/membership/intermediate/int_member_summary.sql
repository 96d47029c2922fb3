-- depends_on: {{ ref('int_forecast_changes') }}
-- depends_on: {{ source('raw', 'members') }}
-- Every member with points, level, tiers and what the next level needs: dim_members without the
-- night's date.
-- Incremental (doc incremental_nights): an incremental night computes the members whose inputs may
-- differ tonight (a member record taking effect since C, a recomputed registration or forecast:
-- int_forecast_changes), those whose next forecast change is dated D or earlier (it is no longer
-- ahead), and members without a stored row; of these, the rows that differ from the stored ones
-- replace them (the 'changed_keys' strategy).
{%- set recomputed = "member_id in (select member_id from {{ ref('int_forecast_changes') }})"
    ~ " or {{ is_recorded_since('member_id', source('raw', 'members'), 'member_id', 'cast(updated_at as date)') }}"
    ~ " or next_change_on <= {{ as_of_date() }}" %}
{{ config(
    materialized='incremental',
    incremental_strategy='changed_keys',
    unique_key='member_id',
    recomputed_where=recomputed
) }}
with members as (
    select
        m.*,
        coalesce(p.validated_points, 0)::bigint as validated_points,
        coalesce(p.pending_points, 0)::bigint as pending_points,
        coalesce(p.counted_products, 0)::integer as counted_products,
        coalesce(p.action_required_count, 0)::integer as action_required_count
    from {{ ref('stg_members') }} as m
    left join {{ ref('int_member_points') }} as p on m.member_id = p.member_id
    {%- if is_incremental() %}
    -- the stored rows kept as they are (a null condition keeps its row, as a delete's would)
    anti join (
        select member_id from {{ this }} where not coalesce({{ render(recomputed) }}, false)
    ) as kept on m.member_id = kept.member_id
    {%- endif %}
),

ladder as (
    select level, min_points, next_level, next_level_points, tiers_reached from {{ ref('int_level_ladder') }}
),

-- the first change of the points forecast within the horizon, if any
next_changes as (
    select member_id, change_on as next_change_on, validated_points as points_after_next_change
    from {{ ref('int_points_forecast') }}
    {%- if is_incremental() %}
    semi join members using (member_id)
    {%- endif %}
    qualify row_number() over (partition by member_id order by change_on) = 1
)

-- the member's level is the highest rung of the ladder its validated points reach
select
    m.member_id,
    m.email,
    m.country,
    m.language,
    m.marketing_opt_in,
    m.joined_at,
    m.legacy_cps_number,
    l.level,
    m.validated_points,
    m.pending_points,
    m.counted_products,
    m.action_required_count,
    validated_points >= {{ policy_integer('invitation_points') }} as invitation_eligible,
    validated_points > {{ policy_integer('corporate_points') }} as corporate_eligible,
    -- Paid tiers reached, in ladder order, then Corporate; '' when none.
    concat_ws(
        ',',
        nullif(l.tiers_reached, ''),
        case when validated_points > {{ policy_integer('corporate_points') }} then 'Corporate' end
    ) as eligible_tiers,
    l.next_level,
    (l.next_level_points - validated_points)::bigint as points_to_next_level,
    n.next_change_on,
    n.points_after_next_change::bigint as points_after_next_change
from members as m
asof inner join ladder as l on m.validated_points >= l.min_points
left join next_changes as n on m.member_id = n.member_id
