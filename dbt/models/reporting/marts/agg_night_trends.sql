-- Figures over the latest recorded nights up to D (trend_nights), read from the ledgers: members by
-- level (fct_member_levels), invitations (rpt_invitations) and the night metrics ledger. Long form:
-- one row per night, chart and series.
with nights as (
    select as_of_date
    from (select distinct as_of_date from {{ ref('fct_member_levels') }} where as_of_date <= {{ as_of_date() }})
    order by as_of_date desc
    limit {{ policy_integer('trend_nights') }}
),

levels as (
    select l.as_of_date, 'members_by_level' as chart, l.level as series, count(*)::double as value
    from {{ ref('fct_member_levels') }} as l
    inner join nights as n on l.as_of_date = n.as_of_date
    group by all
),

invitations as (
    select n.as_of_date, 'invitations' as chart, 'invitations' as series, count(i.member_id)::double as value
    from nights as n
    left join {{ ref('rpt_invitations') }} as i on i.as_of_date = n.as_of_date
    group by all
),

metrics as (
    select
        m.as_of_date,
        case
            when m.metric in ('validated_points', 'points_lost_to_decay') then 'points'
            else 'sla_met_rate'
        end as chart,
        case m.metric
            when 'validated_points' then 'validated points'
            when 'points_lost_to_decay' then 'lost to decay'
            when 'fast_track_met_rate' then 'Fast Track'
            when 'standard_met_rate' then 'Standard'
        end as series,
        m.value
    from {{ ref('fct_night_metrics') }} as m
    inner join nights as n on m.as_of_date = n.as_of_date
    where m.metric in ('validated_points', 'points_lost_to_decay', 'fast_track_met_rate', 'standard_met_rate')
),

points_gained as (
    -- net change of validated points since the previous recorded night
    select
        as_of_date,
        'points' as chart,
        'gained since previous night' as series,
        value - lag(value) over (order by as_of_date) as value
    from metrics
    where series = 'validated points'
)

select
    as_of_date,
    chart,
    series,
    -- the ladder's order for levels, else the order the series are listed here
    coalesce({{ level_rank('series') }}, case series
        when 'validated points' then 0 when 'gained since previous night' then 1 when 'lost to decay' then 2
        when 'Fast Track' then 0 when 'Standard' then 1 else 0 end)::integer as series_order,
    case when chart = 'sla_met_rate' then round(value, 4) else round(value, 0) end::double as value
from (
    select * from levels
    union all select * from invitations
    union all select * from metrics
    union all select * from points_gained
)
