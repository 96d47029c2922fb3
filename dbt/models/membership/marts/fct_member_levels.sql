{{ ledger_config() }}
-- The level history, a ledger: one row per member for night D; earlier and later nights are kept.
-- A backfill adds only the members that have no row for D yet (a published row is never recomputed).
select
    m.member_id,
    m.as_of_date,
    m.level,
    m.validated_points,
    m.pending_points
from {{ ref('dim_members') }} as m
{% if is_incremental() and is_backfill() %}
where not exists (
    select 1 from {{ this }} as h where h.member_id = m.member_id and h.as_of_date = {{ as_of_date() }}
)
{% endif %}
