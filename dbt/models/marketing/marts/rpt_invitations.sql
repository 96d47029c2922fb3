{{ ledger_config() }}
-- Night D's invitation list (a ledger, doc invitation_rule): members who reach the invitation threshold, have given
-- marketing consent, and are on no other night's list. Every night's list is kept (member x night),
-- so "never invited twice" holds across nights; a re-run of the current night replaces its list
-- (the pre-hook removed it), a backfill leaves out every member on any list, earlier or later.
select
    member_id,
    email,
    country,
    language,
    level,
    validated_points,
    eligible_tiers,
    as_of_date
from {{ ref('dim_members') }}
where invitation_eligible
    and marketing_opt_in
{% if is_incremental() %}
    and member_id not in (
        select member_id from {{ this }}
        where {{ is_backfill() }} or as_of_date <> {{ as_of_date() }}
    )
{% endif %}
