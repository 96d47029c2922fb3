-- Registrations summed per member_id (including member ids not, or not yet, among the members).
select
    member_id,
    sum(effective_points)::bigint as validated_points,
    sum(pending_points)::bigint as pending_points,
    count(*) filter (where status = 'counted')::integer as counted_products,
    count(*) filter (where needs_action)::integer as action_required_count
from {{ ref('int_registration_status') }}
group by member_id
