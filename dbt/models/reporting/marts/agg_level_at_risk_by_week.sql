-- Tonight's at-risk members per week of the first drop (Monday of the week) and level tonight, with how
-- many of them are on the exported list (marketing consent).
with at_risk as (
    select
        date_trunc('week', r.drop_on)::date as drop_week,
        r.level,
        r.points_to_keep_level,
        e.member_id is not null as exported
    from {{ ref('rpt_level_at_risk') }} as r
    left join {{ ref('exp_level_at_risk') }} as e on r.member_id = e.member_id
)

select
    drop_week,
    strftime(drop_week, '%d %b %Y') as week_label,  -- the chart's category (text, not a timestamp axis)
    count(*)::bigint as members,
    count(*) filter (where exported)::bigint as exported,
    count(*) filter (where level = 'Silver')::bigint as silver,
    count(*) filter (where level = 'Gold')::bigint as gold,
    count(*) filter (where level = 'Platinum')::bigint as platinum,
    coalesce(sum(points_to_keep_level), 0)::bigint as points_to_keep_level,
    row_number() over (order by drop_week)::integer as sort_order
from at_risk
group by drop_week, week_label
