-- Tonight's completion campaign as exported to marketing: consenting members below the invitation
-- threshold whose pending points would take them over it, and how many points they still need.
select
    c.member_id,
    c.email,
    m.language,
    c.validated_points,
    c.pending_points,
    greatest(0, {{ policy_integer('invitation_points') }} - c.validated_points)::bigint as points_needed,
    c.action_required_count,
    c.as_of_date
from {{ ref('rpt_completion_campaign') }} as c
inner join {{ ref('dim_members') }} as m on c.member_id = m.member_id
where c.as_of_date = {{ as_of_date() }}
    and m.marketing_opt_in
