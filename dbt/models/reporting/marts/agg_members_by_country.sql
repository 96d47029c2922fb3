-- Members per country of residence and level: the largest countries one by one, the rest summed
-- as one "Other (N countries)" row (report_top_countries).
with countries as (
    select
        country,
        count(*)::bigint as members,
        count(*) filter (where level = 'Red')::bigint as red,
        count(*) filter (where level = 'Silver')::bigint as silver,
        count(*) filter (where level = 'Gold')::bigint as gold,
        count(*) filter (where level = 'Platinum')::bigint as platinum,
        sum(validated_points)::bigint as validated_points
    from {{ ref('dim_members') }}
    group by country
),

ranked as (
    select *, row_number() over (order by members desc, country) as country_rank
    from countries
),

grouped as (
    select
        case
            -- one country beyond the top is shown as itself, not as "Other (1 countries)"
            when country_rank <= {{ policy_integer('report_top_countries') }}
                or count(*) over () = {{ policy_integer('report_top_countries') }} + 1 then country
            else 'Other (' || count(*) over (partition by country_rank > {{ policy_integer('report_top_countries') }})
                || ' countries)'
        end as country,
        case
            when count(*) over () = {{ policy_integer('report_top_countries') }} + 1 then country_rank
            else least(country_rank, {{ policy_integer('report_top_countries') }} + 1)
        end as sort_order,
        members, red, silver, gold, platinum, validated_points
    from ranked
)

select
    country,
    sort_order::integer as sort_order,
    sum(members)::bigint as members,
    sum(red)::bigint as red,
    sum(silver)::bigint as silver,
    sum(gold)::bigint as gold,
    sum(platinum)::bigint as platinum,
    sum(validated_points)::bigint as validated_points
from grouped
group by country, sort_order
