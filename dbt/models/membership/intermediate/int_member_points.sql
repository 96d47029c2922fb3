{{ recomputed_keys_config('member_id', 'member_id') }}
-- depends_on: {{ ref('int_registration_changes') }}
-- Registrations summed per member_id (including member ids not, or not yet, among the members).
-- Incremental (doc incremental_nights): an incremental night sums again only the members named by
-- a recomputed registration, as stored at C or in a record since (a registration may have moved to
-- another member); the rows that differ from the stored ones replace them ('changed_keys').
select
    member_id,
    sum(effective_points)::bigint as validated_points,
    sum(pending_points)::bigint as pending_points,
    count(*) filter (where status = 'counted')::integer as counted_products,
    count(*) filter (where needs_action)::integer as action_required_count
from {{ ref('int_registration_status') }}
{% if is_incremental() %}
where {{ is_recomputed('member_id', 'member_id') }}
{% endif %}
group by member_id
