-- Each old CPS account against the member who claimed it: the level tonight compared with the old
-- status. A number claimed by two members links to the one who joined first (earliest joined_at,
-- then smaller member_id); the double claim is a warning test on dim_members.
with accounts as (
    select * from {{ ref('stg_legacy_accounts') }}
),

claims as (
    select member_id, legacy_cps_number, level, validated_points, pending_points
    from {{ ref('dim_members') }}
    where legacy_cps_number is not null
    qualify row_number() over (partition by legacy_cps_number order by joined_at, member_id) = 1
),

compared as (
    select
        a.legacy_cps_number,
        c.member_id,
        a.old_level,
        c.level,
        c.validated_points,
        c.pending_points,
        case
            when c.member_id is null then null
            when a.old_level = 'Video' then 'video'
            when {{ level_rank('c.level') }} > {{ level_rank('a.old_level') }} then 'higher'
            when {{ level_rank('c.level') }} = {{ level_rank('a.old_level') }} then 'same'
            else 'lower'
        end as comparison
    from accounts as a
    left join claims as c on a.legacy_cps_number = c.legacy_cps_number
)

select
    legacy_cps_number,
    member_id,
    old_level,
    level,
    comparison,
    case
        when comparison = 'lower' then {{ level_threshold('old_level') }} - validated_points
        when comparison is not null then 0
    end::bigint as points_to_old_level,
    pending_points::bigint as pending_points,
    {{ as_of_date() }} as as_of_date
from compared
