-- Tonight's rows of the level history are exactly the members of dim_members, with the same level and points.
with tonight as (
    select member_id, level, validated_points, pending_points
    from {{ ref('fct_member_levels') }}
    where as_of_date = {{ as_of_date() }}
),

members as (
    select member_id, level, validated_points, pending_points from {{ ref('dim_members') }}
)

(select 'missing from history' as problem, * from (select * from members except select * from tonight))
union all
(select 'not a member tonight' as problem, * from (select * from tonight except select * from members))
