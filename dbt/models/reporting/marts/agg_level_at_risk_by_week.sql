-- Tonight's at-risk members per week of the first drop (Monday of the week) and level tonight, with how
-- many of them are on the exported list (marketing consent).
select
    date_trunc('week', r.drop_on)::date as drop_week,
    count(*)::bigint as members,
    count(e.member_id)::bigint as exported,
    count(*) filter (where r.level = 'Silver')::bigint as silver,
    count(*) filter (where r.level = 'Gold')::bigint as gold,
    count(*) filter (where r.level = 'Platinum')::bigint as platinum,
    coalesce(sum(r.points_to_keep_level), 0)::bigint as points_to_keep_level,
    row_number() over (order by date_trunc('week', r.drop_on))::integer as sort_order
from {{ ref('rpt_level_at_risk') }} as r
left join {{ ref('exp_level_at_risk') }} as e on r.member_id = e.member_id
group by 1
