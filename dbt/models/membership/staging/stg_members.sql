-- Members as of D: the latest version of each member among those stamped by the end of day D.
with latest as (
    {{ latest_version(source('raw', 'members'), 'member_id', ['updated_at']) }}
)

select
    member_id,
    email,
    country,
    language,
    marketing_opt_in,
    joined_at,
    legacy_cps_number,
    updated_at
from latest
