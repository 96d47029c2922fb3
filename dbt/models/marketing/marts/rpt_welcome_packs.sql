-- One row per member who has ever been Silver or above: the pack is due on the first such night.
select
    member_id,
    min(as_of_date) as due_on,
    arg_min(level, as_of_date) as level
from {{ ref('fct_member_levels') }}
where {{ is_paid_tier('level') }}
group by member_id
