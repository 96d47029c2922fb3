{#
  The points rules, evaluated at a date held in a column rather than at the run date alone, so
  that tonight's models (every row at D) and the points forecast (each product or registration at
  the few later dates that matter to it) share one implementation. Each macro is a SELECT over a
  relation or CTE that carries the inputs and a DATE column named by `eval_date`.
#}

{#- Whole years from launch_date to the date: one more year once the date reaches the launch
    month and day (a 29 February launch ages on 1 March in a common year); 0 before launch. -#}
{% macro age_years_at(launch_date, eval_date) -%}
    greatest(
        0,
        year({{ eval_date }}) - year({{ launch_date }})
        - case
            when month({{ eval_date }}) < month({{ launch_date }})
                or (month({{ eval_date }}) = month({{ launch_date }}) and day({{ eval_date }}) < day({{ launch_date }}))
                then 1
            else 0
        end
    )::integer
{%- endmacro %}

{#- The first day of `year` on which a product launched on launch_date is one year older:
    its launch month and day, or 1 March for a 29 February launch in a common year
    (the 1st of the launch month plus day - 1 days rolls over exactly like age_years_at). -#}
{% macro anniversary_in_year(launch_date, year) -%}
    (make_date({{ year }}, month({{ launch_date }}), 1) + cast(day({{ launch_date }}) - 1 as integer))
{%- endmacro %}

{#- Product points (point decay): `products` has the catalogue columns and the date column. -#}
{% macro product_points_at(products, eval_date) -%}
select
    *,
    {{ points_from_factor('base_points', 'points_factor') }} as effective_points,
    -- decay alone (as if neither superseded nor out of service): splits a product's loss into what
    -- age takes and what a successor or the end of service takes on top
    {{ points_from_factor('base_points', 'greatest(1 - decay_share, ' ~ policy_decimal('floor_share') ~ ')') }}
        as age_only_points
from (
    select
        *,
        greatest(
            case
                when is_service_ended then {{ policy_decimal('floor_share') }}
                when is_superseded
                    then least(1 - decay_share, {{ policy_decimal('superseded_factor_cap') }})
                else 1 - decay_share
            end,
            {{ policy_decimal('floor_share') }}
        )::decimal(18, 6) as points_factor
    from (
        select
            *,
            {{ policy_decimal('decay_per_year') }}
                * greatest(0, age_years - {{ policy_integer('grace_years') }} + 1) as decay_share
        from (
            select
                *,
                {{ age_years_at('launch_date', eval_date) }} as age_years,
                coalesce(superseded_on <= {{ eval_date }}, false) as is_superseded,
                coalesce(service_end_date <= {{ eval_date }}, false) as is_service_ended
            from {{ products }}
        ) as aged
    ) as decayed
) as factored
{%- endmacro %}

{#- The registration checks (removed, unknown product, incomplete, invalid), each as its own flag, and the status they decide (null when none
    applies). `registrations` has the staged registration columns and the date column;
    `products` has product_sku and launch_date. -#}
{% macro registration_checks_at(registrations, products, eval_date) -%}
{#- a serial is letters (A-Z, any case) or digits, of a length allowed by the policy -#}
{%- set serial_pattern = '[A-Za-z0-9]{' ~ (policy_value('serial_min_length') | int) ~ ',' ~ (policy_value('serial_max_length') | int) ~ '}' -%}
select
    *,
    case
        when is_removed then 'removed'
        when is_unknown_product then 'unknown_product'
        when is_incomplete then 'incomplete'
        when is_invalid then 'invalid'
    end as checks_status,
    -- Reasons of the deciding rule only, comma-separated; '' when that rule has none.
    -- Each list is written in alphabetical order, so it comes out sorted (concat_ws skips nulls).
    case
        when is_removed or is_unknown_product then ''
        when is_incomplete then concat_ws(
            ',',
            case when is_missing_purchase_country then 'missing_purchase_country' end,
            case when is_missing_purchase_date then 'missing_purchase_date' end,
            case when is_missing_retailer then 'missing_retailer' end,
            case when is_missing_serial_number then 'missing_serial_number' end
        )
        when is_invalid then concat_ws(
            ',',
            case when is_bad_country then 'bad_country' end,
            case when is_bad_serial then 'bad_serial' end,
            case when is_purchase_before_launch then 'purchase_before_launch' end,
            case when is_purchase_in_future then 'purchase_in_future' end
        )
        else ''
    end as checks_reasons
from (
    select
        *,
        is_missing_serial_number or is_missing_purchase_date
        or is_missing_purchase_country or is_missing_retailer as is_incomplete,
        is_purchase_in_future or is_purchase_before_launch or is_bad_country or is_bad_serial as is_invalid
    from (
        select
            r.*,
            {{ serial_key('r.serial_number') }} as serial_key,
            -- removed from the end of its removal day on: removed_at before the end of the date
            coalesce(r.removed_at < cast(r.{{ eval_date }} + interval 1 day as timestamp), false) as is_removed,
            p.product_sku is null as is_unknown_product,
            {{ is_blank('r.serial_number') }} as is_missing_serial_number,
            r.purchase_date is null as is_missing_purchase_date,
            {{ is_blank('r.purchase_country') }} as is_missing_purchase_country,
            {{ is_blank('r.retailer') }} as is_missing_retailer,
            coalesce(r.purchase_date > r.{{ eval_date }}, false) as is_purchase_in_future,
            coalesce(
                r.purchase_date < p.launch_date - {{ policy_integer('purchase_before_launch_days') }},
                false
            ) as is_purchase_before_launch,
            c.country_code is null as is_bad_country,
            not coalesce(
                regexp_full_match({{ trim_spaces('r.serial_number') }}, '{{ serial_pattern }}'),
                false
            ) as is_bad_serial
        from {{ registrations }} as r
        left join {{ products }} as p on r.product_sku = p.product_sku
        left join {{ ref('iso_3166_1_alpha_2') }} as c
            on upper({{ trim_spaces('r.purchase_country') }}) = c.country_code
    ) as flagged
) as decided
{%- endmacro %}

{#- A registration's serial key (macro serial_key) as int_registration_status stores it: in
    serial_key_if_different where it differs from the serial number as entered, else the serial
    number itself. -#}
{% macro stored_serial_key(alias) -%}
    coalesce({{ alias }}.serial_key_if_different, {{ alias }}.serial_number)
{%- endmacro %}

{#- One integer for a product and serial key (int_registration_status stores it as serial_group_hash),
    null when either is null, as an equality on the two would never match then. 32 bits: hashes do not
    compress, and 8 bytes a registration made the warehouse file 7% larger (a night copies it whole);
    the ~150 registrations of other serials a lookup of 80,000 then matches by chance cost nothing. -#}
{% macro serial_group_hash(product, key) -%}
    case when {{ product }} is not null and {{ key }} is not null then (hash({{ product }}, {{ key }}) >> 32)::uinteger end
{%- endmacro %}

{#- A semi join keeping the registrations of `alias` (int_registration_status) that share a product
    and serial key with a row of `groups` (a query with product_sku and serial_key). By the stored
    serial_group_hash: one integer column read and hashed instead of the product and two serial
    columns of every registration (~0.5-0.9 CPU-s per lookup at a million members). Two groups
    whose hashes collide only add registrations of another serial: each reader recomputes a superset
    anyway (see incremental_nights). by_hash=false joins on the serial itself: a unit test's rows carry
    no hash (the default there), nor does a table stored before the column existed. -#}
{% macro semi_join_serial_groups(alias, groups, by_hash=none) -%}
{%- set by_hash = (this is not none) if by_hash is none else by_hash %}
{%- if not by_hash %}
    semi join (select distinct product_sku, serial_key from ({{ groups }}) as groups) as g
        on {{ alias }}.product_sku = g.product_sku and {{ stored_serial_key(alias) }} = g.serial_key
{%- else %}
    semi join (
        select distinct {{ serial_group_hash('product_sku', 'serial_key') }} as group_hash
        from ({{ groups }}) as groups
    ) as g
        on {{ alias }}.serial_group_hash = g.group_hash
{%- endif %}
{%- endmacro %}

{#- The serial holder (duplicate_serial or counted) and the points: `checked` is the output of registration_checks_at,
    `product_points` the output of product_points_at (joined on product and date). Among the
    registrations that pass the checks on a date, the earliest registered (tie: smaller
    registration_id) holds a product's serial (trimmed, any case); any other is a duplicate. -#}
{% macro registration_status_at(checked, product_points, eval_date) -%}
select
    d.*,
    case when d.status = 'counted' then p.effective_points else 0 end::integer as effective_points,
    case when d.status in ('incomplete', 'invalid') then p.effective_points else 0 end::integer as pending_points,
    d.status in ('incomplete', 'invalid', 'duplicate_serial') as needs_action
from (
    select
        c.*,
        case
            when c.checks_status is not null then c.checks_status
            when r.serial_holder_rank > 1 then 'duplicate_serial'
            else 'counted'
        end as status
    from {{ checked }} as c
    left join (
        -- Most serials are registered once: rank only the serials that more than one passing
        -- registration shares on the same date (a window over all rows would sort them all).
        -- The shared serials are found by a hash of the group's key: grouping millions of rows by
        -- one integer is ~1.5 s faster than by two strings, and a hash that two groups happen to
        -- share only ranks a serial registered once, which the window still ranks first.
        select
            p.registration_id,
            p.{{ eval_date }},
            row_number() over (
                partition by p.product_sku, p.serial_key, p.{{ eval_date }}
                order by p.registered_at, p.registration_id
            ) as serial_holder_rank
        from {{ checked }} as p
        semi join (
            select hash(product_sku, serial_key, {{ eval_date }}) as serial_group_hash
            from {{ checked }}
            where checks_status is null
            group by serial_group_hash
            having count(*) > 1
        ) as s
            on hash(p.product_sku, p.serial_key, p.{{ eval_date }}) = s.serial_group_hash
        where p.checks_status is null
    ) as r
        on c.registration_id = r.registration_id and c.{{ eval_date }} = r.{{ eval_date }}
) as d
left join {{ product_points }} as p
    on d.product_sku = p.product_sku and d.{{ eval_date }} = p.{{ eval_date }}
{%- endmacro %}
