-- Each catalogue product's points as of D (point decay, supersession, end of service, floor).
-- All shares are DECIMAL, so base_points * factor is exact and half-way values round up.
with products as (
    select
        *,
        {{ as_of_date() }} as as_of_date
    from {{ ref('stg_products') }}
),

aged as (
    select
        *,
        -- Whole years by anniversary: one more year only once D reaches the launch month/day.
        -- A product launched after D is of age 0.
        greatest(
            0,
            year(as_of_date) - year(launch_date)
            - case
                when month(as_of_date) < month(launch_date)
                    or (month(as_of_date) = month(launch_date) and day(as_of_date) < day(launch_date))
                    then 1
                else 0
            end
        )::integer as age_years,
        coalesce(superseded_on <= as_of_date, false) as is_superseded,
        coalesce(service_end_date <= as_of_date, false) as is_service_ended
    from products
),

decayed as (
    select
        *,
        {{ policy_decimal('decay_per_year') }}
            * greatest(0, age_years - {{ policy_integer('grace_years') }} + 1) as decay_share
    from aged
),

factored as (
    select
        *,
        -- decay alone (as if neither superseded nor out of service): splits a product's loss into
        -- what age takes and what a successor or the end of service takes on top
        greatest(1 - decay_share, {{ policy_decimal('floor_share') }})::decimal(18, 6) as age_only_factor,
        greatest(
            case
                when is_service_ended then {{ policy_decimal('floor_share') }}
                when is_superseded
                    then least(1 - decay_share, {{ policy_decimal('superseded_factor_cap') }})
                else 1 - decay_share
            end,
            {{ policy_decimal('floor_share') }}
        )::decimal(18, 6) as points_factor
    from decayed
)

select
    product_sku,
    product_name,
    category,
    is_video,
    fast_track,
    launch_date,
    base_points,
    superseded_by,
    superseded_on,
    service_end_date,
    age_years,
    is_superseded,
    is_service_ended,
    points_factor,
    {{ points_from_factor('base_points', 'points_factor') }} as effective_points,
    {{ points_from_factor('base_points', 'age_only_factor') }} as age_only_points,
    as_of_date
from factored
