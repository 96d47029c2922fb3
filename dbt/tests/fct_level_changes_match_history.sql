-- Night D's change rows are exactly the members whose level on D differs from their previous
-- recorded night in the level history. Not checked on a backfill: there the rows of D that were
-- published before stay as they were (a ledger), whatever nights were slotted in since.
with history as (
    select member_id, as_of_date, level from {{ ref('fct_member_levels') }}
),

previous as (
    select member_id, arg_max(level, as_of_date) as previous_level
    from history
    where as_of_date < {{ as_of_date() }}
    group by member_id
),

expected as (
    select h.member_id, h.as_of_date, p.previous_level, h.level
    from history as h
    inner join previous as p on h.member_id = p.member_id
    where h.as_of_date = {{ as_of_date() }} and p.previous_level <> h.level
),

recorded as (
    select member_id, as_of_date, previous_level, level
    from {{ ref('fct_level_changes') }}
    where as_of_date = {{ as_of_date() }}
)

select * from (
    (select 'missing change' as problem, * from (select * from expected except select * from recorded))
    union all
    (select 'unexpected change' as problem, * from (select * from recorded except select * from expected))
)
where not {{ is_backfill() }}
