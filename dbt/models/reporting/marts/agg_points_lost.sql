-- Per product category, the base points of counted registrations and what they lost tonight: to
-- decay (age alone), and on top of that to a successor or to the end of service.
with counted as (
    select
        p.category,
        p.base_points,
        p.effective_points,
        p.age_only_points,
        p.is_superseded,
        p.is_service_ended
    from {{ ref('fct_registrations') }} as r
    inner join {{ ref('int_product_points') }} as p on r.product_sku = p.product_sku
    where r.status = 'counted'
)

select
    category,
    count(*)::bigint as counted_registrations,
    sum(base_points)::bigint as base_points,
    sum(effective_points)::bigint as effective_points,
    sum(base_points - effective_points)::bigint as points_lost,
    sum(base_points - age_only_points)::bigint as lost_to_decay,
    sum(case when is_superseded and not is_service_ended then age_only_points - effective_points else 0 end)::bigint
        as lost_to_supersession,
    sum(case when is_service_ended then age_only_points - effective_points else 0 end)::bigint
        as lost_to_service_end,
    row_number() over (order by sum(base_points - effective_points) desc, category)::integer as sort_order
from counted
group by category
