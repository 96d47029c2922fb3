-- Tonight's level changes, counted per from/to level.
select
    previous_level,
    level,
    direction,
    previous_level || ' → ' || level as change,
    count(*)::bigint as members,
    row_number() over (order by direction desc, count(*) desc, previous_level, level)::integer as sort_order
from {{ ref('fct_level_changes') }}
where as_of_date = {{ as_of_date() }}
group by previous_level, level, direction
