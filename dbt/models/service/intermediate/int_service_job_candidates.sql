-- Each service job as of D with the member's level L at the job (doc repair_sla) and whether the job
-- meets every Fast Track condition except the limit on open Fast Track jobs (that is decided in
-- int_service_fast_track_queue, because it depends on the order of the member's jobs).
with jobs as (
    select
        *,
        cast(received_at as date) as received_date,
        cast(completed_at as date) as completed_date,
        {{ serial_key('serial_number') }} as serial_key
    from {{ ref('stg_service_jobs') }}
),

-- the night's members (dim_members has exactly these; staging keeps the data walking forward)
known_members as (
    select member_id from {{ ref('stg_members') }}
),

-- The level history of the members with jobs only: the ledger gains a row per member every night,
-- and reading all of it would make this model slower with every night recorded.
history as (
    select h.member_id, h.as_of_date, h.level
    from {{ ref('int_member_level_ledger') }} as h
    semi join jobs as j on h.member_id = j.member_id
),

earliest_night as (
    select member_id, arg_min(level, as_of_date) as level
    from history
    group by member_id
),

-- L: the level on the latest recorded night on or before the received date, else the earliest one.
with_level as (
    select
        j.*,
        k.member_id is not null as member_known,
        case when k.member_id is not null then coalesce(h.level, e.level) end as level
    from jobs as j
    left join known_members as k on j.member_id = k.member_id
    asof left join history as h on j.member_id = h.member_id and j.received_date >= h.as_of_date
    left join earliest_night as e on j.member_id = e.member_id
),

-- The serial decides only the jobs on Fast Track products (a few percent of the catalogue).
fast_track_products as (
    select product_sku from {{ ref('stg_products') }} where fast_track
),

-- The counted registrations of the products and serials that came in for service on a Fast Track
-- product, found by the stored serial_group_hash (one integer read and probed instead of three
-- strings of millions of registrations); the join below matches member, product and serial exactly.
fast_track_jobs as (
    select product_sku, serial_key
    from jobs
    where product_sku in (select product_sku from fast_track_products)
),

counted_serials as (
    select distinct r.member_id, r.product_sku, {{ stored_serial_key('r') }} as serial_key
    from {{ ref('int_registration_status') }} as r
    {{ semi_join_serial_groups('r', 'select product_sku, serial_key from fast_track_jobs') }}
    where r.status = 'counted'
)

select
    j.job_id,
    j.member_id,
    j.member_known,
    j.product_sku,
    j.centre_id,
    c.name as centre_name,
    upper({{ trim_spaces('c.country') }}) as centre_country,
    c.centre_type,
    j.service_type,
    j.serial_number,
    coalesce(p.is_video, false) as is_video,
    coalesce(p.fast_track, false) as product_fast_track,
    j.received_at,
    j.received_date,
    j.completed_at,
    j.completed_date,
    j.level,
    coalesce(p.fast_track, false)
        and s.serial_key is not null
        and coalesce(l.is_paid_tier, false)
        and (j.service_type = 'repair' or c.centre_type = 'canon_service_centre')
        as is_fast_track_candidate
from with_level as j
left join {{ ref('stg_products') }} as p on j.product_sku = p.product_sku
left join {{ ref('stg_service_centres') }} as c on j.centre_id = c.centre_id
left join {{ ref('int_level_ladder') }} as l on j.level = l.level
left join counted_serials as s
    on j.member_id = s.member_id
    and j.product_sku = s.product_sku
    and j.serial_key = s.serial_key
