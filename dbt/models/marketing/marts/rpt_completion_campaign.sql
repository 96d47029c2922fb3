{{ nightly_history_config() }}
-- Tonight's completion campaign (doc completion_campaign_rule): consenting members below the invitation threshold
-- whose pending points (incomplete or invalid registrations) would take them to it.
-- One list per night is kept, like the invitations; re-running a night replaces its list.
select
    member_id,
    email,
    language,
    validated_points,
    pending_points,
    {{ policy_integer('invitation_points') }} - validated_points as points_needed,
    action_required_count,
    as_of_date
from {{ ref('dim_members') }}
where marketing_opt_in
    and validated_points < {{ policy_integer('invitation_points') }}
    and validated_points + pending_points >= {{ policy_integer('invitation_points') }}
