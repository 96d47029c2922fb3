-- Tonight's come-back list as exported to marketing: old CPS accounts nobody has claimed yet whose owner
-- agreed to marketing in tonight's old-account data; only what the campaign needs. Empty when no old
-- accounts were loaded.
select
    c.email,
    c.old_level,
    c.member_since,
    c.as_of_date,
    row_number() over (order by c.email, c.legacy_cps_number)::integer as sort_order
from {{ ref('rpt_come_back') }} as c
inner join {{ ref('stg_legacy_accounts') }} as a on c.legacy_cps_number = a.legacy_cps_number
where a.marketing_opt_in
