-- The level changes are exactly the member-nights whose level differs from the member's previous
-- recorded night, recomputed here from the whole history (this checks the incremental upkeep).
with history as (
    select
        member_id,
        as_of_date,
        lag(level) over (partition by member_id order by as_of_date) as previous_level,
        level
    from {{ ref('fct_member_levels') }}
),

expected as (
    select member_id, as_of_date, previous_level, level
    from history
    where previous_level <> level
),

recorded as (
    select member_id, as_of_date, previous_level, level from {{ ref('fct_level_changes') }}
)

(select 'missing change' as problem, * from (select * from expected except select * from recorded))
union all
(select 'unexpected change' as problem, * from (select * from recorded except select * from expected))
