-- The change rows from night D on (the ones a run for D writes) are exactly the member-nights whose
-- level differs from the member's previous recorded night in the level history; earlier change rows
-- are not touched by a run. Previous nights are found by aggregation, not by a window over all history.
with history as (
    select member_id, as_of_date, level from {{ ref('fct_member_levels') }}
),

last_before_d as (
    select member_id, max(as_of_date) as as_of_date, arg_max(level, as_of_date) as level
    from history
    where as_of_date < {{ as_of_date() }}
    group by member_id
),

compared as (
    select
        member_id,
        as_of_date,
        lag(level) over (partition by member_id order by as_of_date) as previous_level,
        level
    from (
        select * from history where as_of_date >= {{ as_of_date() }}
        union all
        select * from last_before_d
    )
),

expected as (
    select member_id, as_of_date, previous_level, level
    from compared
    where as_of_date >= {{ as_of_date() }} and previous_level <> level
),

recorded as (
    select member_id, as_of_date, previous_level, level
    from {{ ref('fct_level_changes') }}
    where as_of_date >= {{ as_of_date() }}
)

(select 'missing change' as problem, * from (select * from expected except select * from recorded))
union all
(select 'unexpected change' as problem, * from (select * from recorded except select * from expected))
