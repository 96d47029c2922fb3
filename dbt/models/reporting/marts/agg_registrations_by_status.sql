-- Registrations per status tonight, with their share and whether the member must act.
with statuses as (
    select status, sort_order::integer as sort_order
    from unnest(['counted', 'incomplete', 'invalid', 'duplicate_serial', 'unknown_product', 'removed'])
        with ordinality as t(status, sort_order)
),

counts as (
    select status, bool_or(needs_action) as needs_action, count(*)::bigint as registrations
    from {{ ref('int_registration_status') }}
    group by status
)

select
    c.status,
    {{ status_label('c.status') }} as status_label,
    coalesce(s.sort_order, 99)::integer as sort_order,
    c.registrations,
    round(c.registrations / sum(c.registrations) over (), 4)::double as share,
    c.needs_action
from counts as c
left join statuses as s on c.status = s.status
