-- The marketing page's headline figures tonight (one row): list sizes, and rows of the published
-- lists left out of the exports for want of consent (should be 0), the at-risk members (all, and those
-- with consent on the list) and the old CPS accounts.
select
    (select count(*) from {{ ref('exp_invitations') }})::bigint as invitations,
    (select count(*) from {{ ref('exp_completion_campaign') }})::bigint as completion_campaign,
    (select count(*) from {{ ref('rpt_invitations') }} where as_of_date = {{ as_of_date() }})::bigint
        - (select count(*) from {{ ref('exp_invitations') }})::bigint as invitations_without_consent,
    (select count(*) from {{ ref('rpt_completion_campaign') }} where as_of_date = {{ as_of_date() }})::bigint
        - (select count(*) from {{ ref('exp_completion_campaign') }})::bigint as completion_without_consent,
    (select count(*) from {{ ref('rpt_level_at_risk') }})::bigint as level_at_risk,
    (select count(*) from {{ ref('exp_level_at_risk') }})::bigint as level_at_risk_exported,
    (select count(*) from {{ ref('exp_come_back') }})::bigint as come_back,
    (select count(*) from {{ ref('rpt_migration') }})::bigint as legacy_accounts,
    {{ policy_integer('invitation_points') }} as invitation_points,
    {{ policy_integer('at_risk_days') }} as at_risk_days,
    {{ as_of_date() }} as as_of_date
