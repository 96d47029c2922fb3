-- The SLA page's headline figures tonight (one row): all jobs, Fast Track and standard jobs
-- separately, and the policy's met-rate target the page draws.
with overall as (
    select
        {{ sla_summary() }},
        count(*) filter (where status in ('breached', 'open_breached'))::bigint as breaches
    from {{ ref('fct_service_jobs') }}
),

by_service as (
    select
        max(met_rate) filter (where category = 'Fast Track') as fast_track_met_rate,
        coalesce(max(decided) filter (where category = 'Fast Track'), 0)::bigint as fast_track_decided,
        max(met_rate) filter (where category = 'Standard') as standard_met_rate,
        coalesce(max(decided) filter (where category = 'Standard'), 0)::bigint as standard_decided
    from {{ ref('agg_sla_breakdown') }}
    where dimension = 'service'
)

select
    overall.*,
    by_service.*,
    (select count(*) from {{ ref('agg_sla_about_to_breach') }})::bigint as about_to_breach,
    {{ policy_decimal('sla_met_rate_target') }}::double as met_rate_target,
    {{ as_of_date() }} as as_of_date
from overall, by_service
