-- Old CPS accounts as of D: the latest version of each account among those stamped by the end of day D.
with latest as (
    {{ latest_version(source('raw', 'legacy_accounts'), 'legacy_cps_number', ['updated_at']) }}
)

select
    legacy_cps_number,
    email,
    old_level,
    member_since,
    marketing_opt_in,
    updated_at
from latest
