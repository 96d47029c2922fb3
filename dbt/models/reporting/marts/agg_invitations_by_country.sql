-- Tonight's exported invitations per country and level.
select
    country,
    count(*)::bigint as invitations,
    count(*) filter (where level = 'Silver')::bigint as silver,
    count(*) filter (where level = 'Gold')::bigint as gold,
    count(*) filter (where level = 'Platinum')::bigint as platinum,
    row_number() over (order by count(*) desc, country)::integer as sort_order
from {{ ref('exp_invitations') }}
group by country
