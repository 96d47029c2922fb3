-- Marketing's "come back" list: old CPS accounts nobody has claimed yet whose owner consented.
select
    a.email,
    a.old_level,
    a.member_since,
    a.legacy_cps_number,
    {{ as_of_date() }} as as_of_date
from {{ ref('stg_legacy_accounts') }} as a
inner join {{ ref('rpt_migration') }} as m on a.legacy_cps_number = m.legacy_cps_number
where m.member_id is null
    and a.marketing_opt_in
