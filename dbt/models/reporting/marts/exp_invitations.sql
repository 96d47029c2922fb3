-- Tonight's invitation list as exported to marketing: members on tonight's list who have
-- marketing consent in tonight's data, with only the columns the campaign needs.
select
    i.member_id,
    i.email,
    m.language,
    m.country,
    i.level,
    i.eligible_tiers,
    i.as_of_date
from {{ ref('rpt_invitations') }} as i
inner join {{ ref('dim_members') }} as m on i.member_id = m.member_id
where i.as_of_date = {{ as_of_date() }}
    and m.marketing_opt_in
