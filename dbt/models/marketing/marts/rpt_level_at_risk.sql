-- Members whose level as of A = D + at_risk_days (policy) is lower than tonight's, from the
-- points forecast: a drop that recovers by A is not listed. E-mail only with marketing consent.
with tonight as (
    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_date() }} + {{ policy_integer('at_risk_days') }} as at_risk_on
),

members as (
    select member_id, email, marketing_opt_in, level, validated_points, pending_points
    from {{ ref('dim_members') }}
),

changes as (
    select f.member_id, f.change_on, f.validated_points, f.level
    from {{ ref('fct_points_forecast') }} as f
    cross join tonight as t
    where f.change_on <= t.at_risk_on
),

first_drops as (
    select c.member_id, min(c.change_on) as drop_on
    from changes as c
    inner join members as m on c.member_id = m.member_id
    where {{ level_rank('c.level') }} < {{ level_rank('m.level') }}
    group by c.member_id
),

-- the member's points and level as of A: its last change on or before A (only for the members
-- with a drop: ranking every member's changes cost ~0.15 CPU-s more at a million members)
as_of_a as (
    select c.member_id, c.validated_points as points_after, c.level as level_after
    from changes as c
    semi join first_drops as d on c.member_id = d.member_id
    qualify row_number() over (partition by c.member_id order by c.change_on desc) = 1
)

select
    m.member_id,
    case when m.marketing_opt_in then m.email end as email,
    m.level,
    a.level_after,
    d.drop_on,
    m.validated_points,
    a.points_after::bigint as points_after,
    ({{ level_threshold('m.level') }} - a.points_after)::bigint as points_to_keep_level,
    m.pending_points,
    t.as_of_date
from members as m
inner join as_of_a as a on m.member_id = a.member_id
inner join first_drops as d on m.member_id = d.member_id
cross join tonight as t
where {{ level_rank('a.level_after') }} < {{ level_rank('m.level') }}
