-- The repair SLA of tonight's service jobs per category of one dimension: service (Fast Track or
-- standard), member level, country of the service centre, service centre and month received.
-- small_sample marks categories with too few jobs to read a rate from (sla_small_sample_jobs).
{% set dimensions = {
    'service': "case when fast_track then 'Fast Track' else 'Standard' end",
    'level': "coalesce(level, 'No level')",
    'country': "coalesce(centre_country, 'unknown')",
    'centre': "centre_id || ' · ' || coalesce(centre_name, '')",
    'received_month': "strftime(received_date, '%Y-%m')",
} %}
with grouped as (
{%- for dimension, expression in dimensions.items() %}
    select
        '{{ dimension }}' as dimension,
        {{ expression }} as category,
        {{ sla_summary() }}
    from {{ ref('fct_service_jobs') }}
    group by all
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
)

select
    dimension,
    category,
    row_number() over (
        partition by dimension
        order by
            case when dimension in ('country', 'centre') then -jobs else 0 end,
            case when dimension = 'level' then coalesce({{ level_rank('category') }}, 4) else 0 end,
            category
    )::integer as sort_order,
    jobs,
    fast_track_jobs,
    met,
    breached,
    open_breached,
    open,
    decided,
    met_rate,
    median_turnaround,
    average_target,
    loans_owed,
    jobs < {{ policy_integer('sla_small_sample_jobs') }} as small_sample
from grouped
