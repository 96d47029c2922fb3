-- The registrations an incremental night recomputes (doc incremental_nights), with every member id
-- they name in any version: what can have changed between the current night C (incremental_since)
-- and D. Read from the raw records and the catalogue, and for serial groups from the registrations
-- stored at C; every part is a superset of what changed (any version of a record counts), and
-- recomputing a registration that did not change gives its stored row again. Empty on a full rebuild.
{#- The registrations stored at C (source stored): absent only before a warehouse's first night, a full
    rebuild. A unit test (no `this`) gives them as an input. -#}
{%- set stored_status = source('stored', 'int_registration_status') %}
{%- set stored_exists = this is none or not execute or load_relation(stored_status) is not none %}
with context as (
    select
        {{ as_of_date() }} as night,
        {{ incremental_since() }} as since_night,
        {{ files_after() }} as files_after
),

raw_registrations as (
    select
        r.registration_id,
        r.member_id,
        r.product_sku,
        {{ serial_key('r.serial_number') }} as serial_key,
        -- the first night a run sees this record: both stamps before the end of that day
        greatest(cast(r.updated_at as date), cast(r.registered_at as date)) as seen_from,
        r.purchase_date,
        cast(r.removed_at as date) as removed_on,
        r._file_id
    from {{ source('raw', 'registrations') }} as r
    semi join context as c on c.since_night is not null
),

-- records that take effect in (C, D], and records of files loaded after C was built (a late file
-- may carry records stamped on or before C)
recorded as (
    {{ keys_recorded_since('raw_registrations', 'registration_id', 'seen_from') }}
),

-- purchase date reached (purchase_in_future ends) or removal date reached, in (C, D]
dated as (
    select r.registration_id
    from raw_registrations as r, context as c
    where (r.purchase_date > c.since_night and r.purchase_date <= c.night)
        or (r.removed_on > c.since_night and r.removed_on <= c.night)
),

-- products whose points on D differ from their points on C (anniversary, supersession, end of
-- service), by the same rules the nightly points use
product_dates as (
    select p.*, d.eval_date
    from {{ ref('stg_products') }} as p
    cross join (
        select since_night as eval_date from context where since_night is not null
        union all
        select night from context where since_night is not null
    ) as d
),

product_points as (
    {{ product_points_at('product_dates', 'eval_date') }}
),

changed_products as (
    select product_sku
    from product_points
    group by product_sku
    having count(distinct effective_points) > 1
),

repointed as (
    select r.registration_id
    from raw_registrations as r
    semi join changed_products as p on r.product_sku = p.product_sku
),

-- members with a record that takes effect in (C, D] or arrived after C: whether a registration's
-- member is known (member_known) can change
changed_members as (
    {{ keys_recorded_since(source('raw', 'members'), 'member_id', 'cast(updated_at as date)') }}
),

of_changed_members as (
    select r.registration_id
    from raw_registrations as r
    semi join changed_members as m on r.member_id = m.member_id
),

seeds as (
    select registration_id from recorded
    union
    select registration_id from dated
    union
    select registration_id from repointed
    union
    select registration_id from of_changed_members
),

-- who holds a serial can change for every registration sharing a product and serial with a
-- recomputed one, under any of the recomputed one's versions' serials (a serial it leaves, one it takes)
touched_serials as (
    select distinct r.product_sku, r.serial_key
    from raw_registrations as r
    semi join seeds as s on r.registration_id = s.registration_id
    where r.serial_key <> ''
),

-- ...the registrations holding such a serial as of D. Any other registration's version as of D is
-- its version as of C, stored in int_registration_status, so its serial is read there: matched by
-- an older version's serial instead, a registration was recomputed without the other holders of
-- its current serial, and ranked alone (counted instead of duplicate_serial).
serial_groups as (
{%- if stored_exists %}
    select s.registration_id
    from {{ stored_status }} as s
    semi join touched_serials as t
        on s.product_sku = t.product_sku and {{ stored_serial_key('s') }} = t.serial_key
{%- else %}
    select registration_id from seeds where false
{%- endif %}
),

recomputed as (
    select registration_id from seeds
    union
    select registration_id from serial_groups
)

-- every member id a recomputed registration names in any version: the members whose sums change
select distinct r.registration_id, r.member_id
from raw_registrations as r
semi join recomputed as k on r.registration_id = k.registration_id
