-- Tonight's rows of the level history are exactly the members of dim_members, with the same level
-- and points. On a backfill the rows of D published before are kept as they were (a ledger), so
-- there only a member without a row for D is a problem.
with tonight as (
    select member_id, level, validated_points, pending_points
    from {{ ref('fct_member_levels') }}
    where as_of_date = {{ as_of_date() }}
),

members as (
    select member_id, level, validated_points, pending_points from {{ ref('dim_members') }}
)

select 'missing from history' as problem, m.*
from members as m
where {{ is_backfill() }} and m.member_id not in (select member_id from tonight)
union all
select * from (select 'missing from history' as problem, * from (select * from members except select * from tonight))
where not {{ is_backfill() }}
union all
select * from (select 'not a member tonight' as problem, * from (select * from tonight except select * from members))
where not {{ is_backfill() }}
