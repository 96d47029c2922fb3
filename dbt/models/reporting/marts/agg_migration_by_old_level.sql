-- Old CPS accounts per old status: how many were claimed, and how the claiming member's level tonight
-- compares (higher, same, lower; video: the old video status has no rung on the new ladder).
select
    old_level,
    count(*)::bigint as accounts,
    count(member_id)::bigint as migrated,
    count(*) filter (where comparison = 'higher')::bigint as higher,
    count(*) filter (where comparison = 'same')::bigint as same,
    count(*) filter (where comparison = 'lower')::bigint as lower,
    count(*) filter (where comparison = 'video')::bigint as video,
    coalesce(sum(points_to_old_level) filter (where comparison = 'lower'), 0)::bigint as points_to_old_level,
    row_number() over (
        order by coalesce({{ level_rank('old_level') }}, 1000), old_level
    )::integer as sort_order
from {{ ref('rpt_migration') }}
group by old_level
