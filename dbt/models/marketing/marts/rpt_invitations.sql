{{ nightly_history_config() }}
-- Tonight's invitation list (doc invitation_rule): members who reach the invitation threshold, have given
-- marketing consent, and were on no earlier night's list. Every night's list is kept (member x
-- night), so "never invited twice" holds across nights; re-running a night replaces its list.
-- full_refresh=false: a full refresh must not forget who was already invited.
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
        select member_id from {{ this }} where as_of_date < {{ as_of_date() }}
    )
{% endif %}
