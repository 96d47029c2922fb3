{{ nightly_history_config() }}
-- Ledger of night figures the other ledgers do not hold: one row per night and metric. A run for
-- night D replaces only D's rows; earlier nights are never recomputed (full_refresh=false).
with members as (
    select coalesce(sum(validated_points), 0)::double as validated_points
    from {{ ref('dim_members') }}
),

losses as (
    select coalesce(sum(lost_to_decay), 0)::double as points_lost_to_decay
    from {{ ref('agg_points_lost') }}
),

sla as (
    select fast_track_met_rate, standard_met_rate, fast_track_decided::double as fast_track_decided,
        standard_decided::double as standard_decided
    from {{ ref('agg_sla_figures') }}
)

select {{ as_of_date() }} as as_of_date, metric, value
from (
    select * from members, losses, sla
) unpivot include nulls (value for metric in (
    validated_points, points_lost_to_decay, fast_track_met_rate, standard_met_rate, fast_track_decided,
    standard_decided
))
