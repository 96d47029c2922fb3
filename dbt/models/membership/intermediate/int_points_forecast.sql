{{ recomputed_keys_config('member_id', 'member_id', 'int_forecast_changes', 'change_on') }}
-- depends_on: {{ ref('int_forecast_changes') }}
-- Points forecast (member x change date): every date F in (D, D + horizon] on which the rules,
-- over the inputs as of D, give a member other validated points than on the day before.
--
-- Not day by day: a registration's points can only change on a few dates, its candidates:
--   * its product's change dates: anniversaries, supersession and end of service, kept only
--     where the product's points (product_points_at) differ from the previous candidate;
--   * its own dates: purchase date reached (purchase_in_future ends), removal date;
--   * the own dates of every registration sharing its product and serial (who holds a serial
--     can change when another registration starts or stops passing the checks).
-- Each registration with own or serial-group dates is evaluated with the nightly rules
-- (registration_checks_at, registration_status_at) at each of its candidates; between two
-- candidates nothing it depends on changes, so its change at F is its points at F minus its
-- points at the previous candidate (tonight's for the first). Any other registration keeps its
-- status through the horizon: counted, it changes with its product's points and by as much;
-- otherwise it has no points to change. A member's changes are the dates where the sum of its
-- registrations' changes is not 0.
-- Incremental (doc incremental_nights): an incremental night computes only the members of
-- int_forecast_changes (with the other registrations of their products and serials, whose dates
-- they take); their rows that differ from the stored ones replace them, and every row dated D or
-- earlier goes ('changed_keys').
with tonight as (
    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_date() }} + {{ policy_integer('forecast_horizon_days') }} as horizon_end
),

products as (
    select * from {{ ref('stg_products') }}
),

-- ---------------------------------------------------------------- registrations' own dates
{%- if is_incremental() %}
-- the registrations of the recomputed members (row ids and groups: narrow columns only)...
recomputed_rows as (
    select g.rowid as row_id, g.product_sku, {{ stored_serial_key('g') }} as serial_key
    from {{ ref('int_registration_status') }} as g
    where {{ is_recomputed('g.member_id', 'member_id', 'int_forecast_changes') }}
),

-- ...and every other registration of their products and serials: they give them dates
group_rows as (
    select r.rowid as row_id
    from {{ ref('int_registration_status') }} as r
    {{ semi_join_serial_groups('r', 'select product_sku, serial_key from recomputed_rows') }}
),
{%- endif %}

-- tonight's registrations (as of D) with their source columns: int_registration_status holds them
-- all, so the latest-version window over the raw registrations is not computed a second time.
-- A full build reads the table where each part needs it: materialised, all of its millions of rows
-- and columns were written aside under the memory limit and read back six times (30 s -> 12 s at a
-- million members); an incremental night's few rows are kept, their wide columns read by row id
-- once picked (3.0 s -> 2.4 s at a million members).
registrations as {{ "materialized" if is_incremental() else "not materialized" }} (
    select
        r.* exclude (serial_key_if_different, serial_group_hash, reasons, pending_points, needs_action),
        {{ stored_serial_key('r') }} as candidate_serial_key
    from {{ ref('int_registration_status') }} as r
{%- if is_incremental() %}
    semi join (select row_id from recomputed_rows union select row_id from group_rows) as k
        on r.rowid = k.row_id
{%- endif %}
),

-- (two filtered scans, not a lateral join: DuckDB runs that as a delim join over every registration)
own_dates as (
    select r.registration_id, r.product_sku, r.candidate_serial_key, r.purchase_date as eval_date
    from registrations as r
    cross join tonight as t
    where r.purchase_date > t.as_of_date and r.purchase_date <= t.horizon_end
    union all
    select r.registration_id, r.product_sku, r.candidate_serial_key, cast(r.removed_at as date) as eval_date
    from registrations as r
    cross join tonight as t
    where cast(r.removed_at as date) > t.as_of_date and cast(r.removed_at as date) <= t.horizon_end
),

-- registrations sharing a product and serial with one that has its own dates take those dates too
serial_group_dates as (
    select distinct r.registration_id, r.product_sku, o.eval_date
    from own_dates as o
    inner join registrations as r
        on o.product_sku = r.product_sku and o.candidate_serial_key = r.candidate_serial_key
    where o.candidate_serial_key is not null
),

-- ---------------------------------------------------------------- product points on the dates that matter
product_candidates as (
    select p.product_sku, c.eval_date
    from products as p
    cross join tonight as t
    cross join lateral (
        select {{ anniversary_in_year('p.launch_date', 'y.year') }} as eval_date
        from range(year(t.as_of_date), year(t.horizon_end) + 1) as y(year)
        union all select p.superseded_on
        union all select p.service_end_date
        union all select t.as_of_date  -- tonight: the baseline each change is measured against
    ) as c
    where c.eval_date between t.as_of_date and t.horizon_end
),

product_eval_dates as (
    select product_sku, eval_date from product_candidates
    union  -- distinct: a registration's own dates need its product's points on those dates too
    select product_sku, eval_date from own_dates
    union
    select product_sku, eval_date from serial_group_dates
),

product_candidate_rows as (
    select p.*, c.eval_date
    from product_eval_dates as c
    inner join products as p on c.product_sku = p.product_sku
),

product_points as materialized (
    {{ product_points_at('product_candidate_rows', 'eval_date') }}
),

-- the dates on which a product's points differ from its previous candidate's (tonight's for the first)
product_change_dates as (
    select product_sku, eval_date, points_change
    from (
        select
            product_sku,
            eval_date,
            effective_points - lag(effective_points) over (partition by product_sku order by eval_date) as points_change
        from product_points
    )
    where points_change <> 0
),

-- the registrations whose status can change within the horizon: only on their own dates or those of
-- their serial group (every check and who holds a serial depend on nothing else that moves)
status_may_change as (
    select registration_id from own_dates
    union
    select registration_id from serial_group_dates
),

-- the few registrations whose status may change, picked first: joined to the candidates directly,
-- DuckDB (estimating millions of candidates) hashed every registration's row
changing_registrations as materialized (
    select r.* exclude (candidate_serial_key)
    from registrations as r
    semi join status_may_change as m on r.registration_id = m.registration_id
),

-- those are evaluated with the nightly rules at each of their candidates, their product's changes too
registration_candidates as (
    select distinct registration_id, eval_date
    from (
        select registration_id, eval_date from own_dates
        union all
        select registration_id, eval_date from serial_group_dates
        union all
        select r.registration_id, c.eval_date
        from changing_registrations as r
        inner join product_change_dates as c on r.product_sku = c.product_sku
    )
),

candidate_registrations as (
    select r.* exclude (status, effective_points), c.eval_date
    from registration_candidates as c
    inner join changing_registrations as r on c.registration_id = r.registration_id
),

launch_dates as (
    select product_sku, launch_date from products
),

checked as materialized (
    {{ registration_checks_at('candidate_registrations', 'launch_dates', 'eval_date') }}
),

candidate_points as (
    {{ registration_status_at('checked', 'product_points', 'eval_date') }}
),

-- ---------------------------------------------------------------- changes per registration, then member
registration_changes as (
    select
        c.member_id,
        c.eval_date as change_on,
        c.effective_points - coalesce(
            lag(c.effective_points) over (partition by c.registration_id order by c.eval_date),
            s.effective_points
        ) as points_change
    from candidate_points as c
    inner join changing_registrations as s on c.registration_id = s.registration_id
),

-- Every other registration counted tonight stays counted through the horizon and has its product's
-- points: it changes exactly when its product's points do, by as much. Taken as every counted
-- registration's product changes minus those of the counted ones whose status may change (evaluated
-- above): no anti join of millions of registrations, and no registration evaluated date by date.
steady_changes as (
    select r.member_id, c.eval_date as change_on, c.points_change
    from registrations as r
    inner join product_change_dates as c on r.product_sku = c.product_sku
    where r.status = 'counted'
    union all
    select r.member_id, c.eval_date as change_on, -c.points_change as points_change
    from changing_registrations as r
    inner join product_change_dates as c on r.product_sku = c.product_sku
    where r.status = 'counted'
),

member_changes as (
    select member_id, change_on, sum(points_change) as points_change
    from (
        select member_id, change_on, points_change from registration_changes
        union all
        select member_id, change_on, points_change from steady_changes
    )
    group by member_id, change_on
    having sum(points_change) <> 0
),

members as (
    select m.member_id, coalesce(p.validated_points, 0) as validated_points
    from {{ ref('stg_members') }} as m
    left join {{ ref('int_member_points') }} as p on m.member_id = p.member_id
)

select
    c.member_id,
    c.change_on,
    (
        m.validated_points
        + sum(c.points_change) over (partition by c.member_id order by c.change_on)
    )::bigint as validated_points
from member_changes as c
inner join members as m on c.member_id = m.member_id
{%- if is_incremental() %}
where {{ is_recomputed('c.member_id', 'member_id', 'int_forecast_changes') }}
{%- endif %}
