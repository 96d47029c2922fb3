-- Members and points per level tonight, every level of the ladder present (0 members included).
with ladder as (
    select level, level_rank::integer as sort_order
    from {{ ref('int_level_ladder') }}
),

members as (
    select
        level,
        count(*)::bigint as members,
        sum(validated_points)::bigint as validated_points,
        sum(pending_points)::bigint as pending_points,
        avg(validated_points) as average_points
    from {{ ref('dim_members') }}
    group by level
)

select
    l.level,
    l.sort_order,
    coalesce(m.members, 0)::bigint as members,
    round(coalesce(m.members, 0) / nullif(sum(coalesce(m.members, 0)) over (), 0), 4)::double as share_of_members,
    coalesce(m.validated_points, 0)::bigint as validated_points,
    coalesce(m.pending_points, 0)::bigint as pending_points,
    round(m.average_points, 1)::double as average_points
from ladder as l
left join members as m on l.level = m.level
