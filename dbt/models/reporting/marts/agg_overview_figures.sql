-- The membership overview's headline figures tonight (one row).
with members as (
    select
        count(*)::bigint as members,
        count(*) filter (where {{ is_paid_tier('level') }})::bigint as members_silver_or_above,
        coalesce(sum(validated_points), 0)::bigint as validated_points,
        coalesce(sum(pending_points), 0)::bigint as pending_points
    from {{ ref('dim_members') }}
),

changes as (
    select
        count(*) filter (where direction = 'up')::bigint as level_ups,
        count(*) filter (where direction = 'down')::bigint as level_downs
    from {{ ref('fct_level_changes') }}
    where as_of_date = {{ as_of_date() }}
),

welcome as (
    select count(*)::bigint as welcome_packs_due
    from {{ ref('rpt_welcome_packs') }}
    where due_on = {{ as_of_date() }}
),

registrations as (
    select
        coalesce(sum(registrations) filter (where status <> 'removed'), 0)::bigint as registrations_in_kitbags,
        coalesce(sum(registrations) filter (where needs_action), 0)::bigint as registrations_needing_action
    from {{ ref('agg_registrations_by_status') }}
),

losses as (
    select
        coalesce(sum(base_points), 0)::bigint as base_points,
        coalesce(sum(points_lost), 0)::bigint as points_lost
    from {{ ref('agg_points_lost') }}
)

select
    members.*,
    changes.*,
    level_ups + level_downs as level_changes,
    welcome.*,
    registrations.*,
    round(registrations_needing_action / nullif(registrations_in_kitbags, 0), 4)::double as needing_action_share,
    losses.*,
    round(points_lost / nullif(base_points, 0), 4)::double as points_lost_share,
    {{ as_of_date() }} as as_of_date
from members, changes, welcome, registrations, losses
