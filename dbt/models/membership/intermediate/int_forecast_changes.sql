-- depends_on: {{ ref('int_registration_changes') }}
-- The members whose points forecast an incremental night recomputes (doc incremental_nights); every
-- other member keeps its stored forecast rows after D. A member's forecast over (D, D + horizon]
-- is its forecast over (C, C + horizon] from D on, unless tonight's inputs differ for it or a
-- candidate date enters the horizon: so the members of a recomputed registration
-- (int_registration_changes), and the members of registrations with a candidate date in
-- (C + horizon, D + horizon] (their product's anniversary, supersession or end of service; their
-- own purchase or removal date, or that of another registration of the same product and serial).
-- Empty on a full rebuild.
{{ config(materialized='table') }}
{#- the horizon's new part (C + horizon, D + horizon], as SQL literals on a night -#}
{%- set window_start %}({{ incremental_since() }} + {{ policy_integer('forecast_horizon_days') }}){% endset %}
{%- set window_end %}({{ as_of_date() }} + {{ policy_integer('forecast_horizon_days') }}){% endset %}
with context as (
    select
        {{ window_start }} as window_start,
        {{ window_end }} as window_end
),

-- not materialized: each reader scans only the columns it needs (kept aside, the millions of rows
-- cost 0.65-0.8 s against 0.5 s read by each part at a million members)
registrations as not materialized (
    select r.registration_id, r.member_id, r.product_sku, {{ stored_serial_key('r') }} as serial_key
    from {{ ref('int_registration_status') }} as r
    semi join context as c on c.window_start is not null
),

-- products with a candidate date newly inside the horizon
products_with_new_dates as (
    select distinct p.product_sku
    from {{ ref('stg_products') }} as p
    cross join context as c
    cross join lateral (
        select {{ anniversary_in_year('p.launch_date', 'y.year') }} as eval_date
        from range(year(c.window_start), year(c.window_end) + 1) as y(year)
        union all select p.superseded_on
        union all select p.service_end_date
    ) as d
    where c.window_start is not null and d.eval_date > c.window_start and d.eval_date <= c.window_end
),

-- registrations whose own purchase or removal date newly enters the horizon: two scans, each with a
-- range on one column that DuckDB applies inside the scan, so that only the few matching rows'
-- serials are read (an `or` of the two ranges, read from the context's row, read every row's:
-- 0.86 -> 0.61 CPU-s at a million members). Removed on a date in the window: removed_at from the
-- start of the day after window_start to the start of the day after window_end.
dated as (
    select r.registration_id, r.member_id, r.product_sku, {{ stored_serial_key('r') }} as serial_key
    from {{ ref('int_registration_status') }} as r
    where r.purchase_date > {{ window_start }} and r.purchase_date <= {{ window_end }}
    union
    select r.registration_id, r.member_id, r.product_sku, {{ stored_serial_key('r') }} as serial_key
    from {{ ref('int_registration_status') }} as r
    where r.removed_at >= cast({{ window_start }} + 1 as timestamp)
        and r.removed_at < cast({{ window_end }} + 1 as timestamp)
),

-- the other registrations of the same product and serial take those dates too (a blank serial is
-- incomplete on every date: its points never depend on another registration's dates)
dated_groups as (
    select r.member_id
    from {{ ref('int_registration_status') }} as r
    {{ semi_join_serial_groups('r', "select product_sku, serial_key from dated where serial_key <> ''") }}
)

select member_id from {{ ref('int_registration_changes') }}
union
select r.member_id from registrations as r semi join products_with_new_dates as p on r.product_sku = p.product_sku
union
select member_id from dated
union
select member_id from dated_groups
