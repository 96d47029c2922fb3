-- Open jobs still within their target with at most sla_about_to_breach_days_left working days
-- left (target minus working days so far, counted up to and including the run date).
select
    job_id,
    centre_id || ' · ' || coalesce(centre_name, '') as centre,
    coalesce(centre_country, 'unknown') as country,
    product_sku,
    member_id,
    coalesce(level, 'No level') as level,
    fast_track,
    received_date,
    target_days,
    working_days_elapsed,
    (target_days - working_days_elapsed)::integer as working_days_left,
    loan_eligible as loan_if_late
from {{ ref('fct_service_jobs') }}
where status = 'open'
    and target_days - working_days_elapsed <= {{ policy_integer('sla_about_to_breach_days_left') }}
