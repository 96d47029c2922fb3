-- One row per member who has ever been on a paid tier (Silver or above, int_level_ladder): the pack
-- is due on the first such night.
select
    h.member_id,
    min(h.as_of_date) as due_on,
    arg_min(h.level, h.as_of_date) as level
from {{ ref('fct_member_levels') }} as h
inner join {{ ref('int_level_ladder') }} as l on h.level = l.level
where l.is_paid_tier
group by h.member_id
