-- Service jobs as of D: the latest version of each job among those stamped (updated_at and
-- received_at) by the end of day D. A completion stamped after D is not known yet: the job is open.
with latest as (
    {{ latest_version(source('raw', 'service_jobs'), 'job_id', ['updated_at', 'received_at']) }}
)

select
    job_id,
    nullif({{ trim_spaces('member_id') }}, '') as member_id,  -- blank: not a member's job
    product_sku,
    centre_id,
    service_type,
    serial_number,
    received_at,
    case when completed_at < {{ end_of_as_of_day() }} then completed_at end as completed_at,
    updated_at
from latest
