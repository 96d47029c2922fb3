-- The marketing page's headline figures tonight (one row): list sizes, and rows of the published
-- lists left out of the exports for want of consent (should be 0).
select
    (select count(*) from {{ ref('exp_invitations') }})::bigint as invitations,
    (select count(*) from {{ ref('exp_completion_campaign') }})::bigint as completion_campaign,
    (select count(*) from {{ ref('rpt_invitations') }} where as_of_date = {{ as_of_date() }})::bigint
        - (select count(*) from {{ ref('exp_invitations') }})::bigint as invitations_without_consent,
    (select count(*) from {{ ref('rpt_completion_campaign') }} where as_of_date = {{ as_of_date() }})::bigint
        - (select count(*) from {{ ref('exp_completion_campaign') }})::bigint as completion_without_consent,
    {{ policy_integer('invitation_points') }} as invitation_points,
    {{ as_of_date() }} as as_of_date
