-- The inbox files tonight did not load: rejected ones (published anyway, with --accept-rejected) and
-- ignored ones, with why. A rejected or ignored file is never read, so its rows are unknown, not 0.
-- distinct: a night run again lists a file still in the inbox again, under the same night.
with not_loaded as (
    select distinct 'rejected' as outcome, source, file_name, error as reason, rows_read
    from {{ source('raw', 'rejected_files') }}
    where as_of_date = {{ as_of_date() }}
    union
    select distinct 'ignored' as outcome, source, file_name, error as reason, null::bigint as rows_read
    from {{ source('raw', 'ignored_files') }}
    where as_of_date = {{ as_of_date() }}
)

select
    outcome,
    source,
    file_name,
    coalesce(reason, '') as reason,
    rows_read,
    coalesce(format('{:,}', rows_read), 'unknown') as rows_read_label,
    row_number() over (
        order by case outcome when 'rejected' then 1 else 2 end, source, file_name
    )::integer as sort_order
from not_loaded
