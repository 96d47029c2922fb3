-- Tonight's level-at-risk list as exported to marketing: members whose level would drop within the
-- at-risk window and who have marketing consent in tonight's data (the e-mail is only kept for them).
select
    r.member_id,
    r.email,
    m.language,
    r.level,
    r.level_after,
    r.drop_on,
    r.points_to_keep_level,
    r.pending_points,
    r.as_of_date
from {{ ref('rpt_level_at_risk') }} as r
inner join {{ ref('dim_members') }} as m on r.member_id = m.member_id
where m.marketing_opt_in
    and r.email is not null
