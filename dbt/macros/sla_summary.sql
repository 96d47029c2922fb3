{#
  The repair-SLA summary of a group of service jobs (columns of fct_service_jobs): counts per status,
  the met rate over jobs whose outcome is known (met, breached, or open and already late), the median
  turnaround of completed jobs, the average target and the loans owed. Used in a select list with
  group by; prefix names one kind of job (e.g. 'fast_track_').
#}
{% macro sla_summary(filter='true', prefix='') -%}
    count(*) filter (where {{ filter }})::bigint as {{ prefix }}jobs,
    count(*) filter (where {{ filter }} and fast_track)::bigint as {{ prefix }}fast_track_jobs,
    count(*) filter (where {{ filter }} and status = 'met')::bigint as {{ prefix }}met,
    count(*) filter (where {{ filter }} and status = 'breached')::bigint as {{ prefix }}breached,
    count(*) filter (where {{ filter }} and status = 'open_breached')::bigint as {{ prefix }}open_breached,
    count(*) filter (where {{ filter }} and status = 'open')::bigint as {{ prefix }}open,
    count(*) filter (where {{ filter }} and status <> 'open')::bigint as {{ prefix }}decided,
    round(
        count(*) filter (where {{ filter }} and status = 'met')
        / nullif(count(*) filter (where {{ filter }} and status <> 'open'), 0), 4
    )::double as {{ prefix }}met_rate,
    round(median(turnaround_days) filter (where {{ filter }} and status in ('met', 'breached')), 1)::double
        as {{ prefix }}median_turnaround,
    round(avg(target_days) filter (where {{ filter }}), 1)::double as {{ prefix }}average_target,
    count(*) filter (where {{ filter }} and loan_owed)::bigint as {{ prefix }}loans_owed
{%- endmacro %}
