-- Registrations needing the member's action, per reason in plain words (a registration may have
-- several reasons, so the counts add up to more than the registrations).
with reasons as (
    select
        status,
        trim(reason) as reason
    from {{ ref('int_registration_status') }},
        unnest(string_split(case when coalesce(reasons, '') = '' then status else reasons end, ',')) as t(reason)
    where needs_action
)

select
    status,
    {{ status_label('status') }} as status_label,
    reason,
    {{ reason_label('reason') }} as reason_label,
    count(*)::bigint as registrations,
    row_number() over (order by count(*) desc, reason)::integer as sort_order
from reasons
group by status, reason
