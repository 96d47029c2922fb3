-- The level ladder, the one place that says which levels exist, in which order, from how many
-- validated points, and what each one gives (Fast Track target, backup loan). Every model that
-- needs a level's threshold, rank or benefits joins this model; Python reads it through
-- pipelines/core/policy.py:level_ladder(). The numbers are the policy vars (dbt_project.yml).
{{ config(materialized='table') }}

with levels(level, level_rank, min_points, is_paid_tier, fast_track_target_days, loan_eligible) as (
    values
        ('Red', 0, 0, false, null::integer, false),
        ('Silver', 1, {{ policy_integer('level_silver_points') }}, true, {{ policy_integer('sla_silver_days') }}, false),
        ('Gold', 2, {{ policy_integer('level_gold_points') }}, true, {{ policy_integer('sla_gold_days') }}, true),
        ('Platinum', 3, {{ policy_integer('level_platinum_points') }}, true, {{ policy_integer('sla_platinum_days') }}, true)
)

select
    level::varchar as level,
    level_rank::integer as level_rank,
    min_points::integer as min_points,
    lead(level) over (order by level_rank)::varchar as next_level,
    lead(min_points) over (order by level_rank)::integer as next_level_points,
    -- the paid tiers reached at this level, in ladder order ('' below the first paid tier)
    coalesce(
        string_agg(level, ',') filter (where is_paid_tier) over (
            order by level_rank rows between unbounded preceding and current row
        ),
        ''
    )::varchar as tiers_reached,
    is_paid_tier,
    fast_track_target_days::integer as fast_track_target_days,
    loan_eligible
from levels
