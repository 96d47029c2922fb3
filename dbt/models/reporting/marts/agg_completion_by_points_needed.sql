-- Tonight's exported completion campaign per band of points still needed to reach the invitation
-- threshold (bands: report_points_needed_bands, the last one ending at the threshold).
{% set ends = policy_value('report_points_needed_bands') | list + [policy_value('invitation_points') | int] %}
with bands as (
    select * from (values
    {%- for band_end in ends %}
        {%- set band_start = 1 if loop.first else ends[loop.index0 - 1] + 1 %}
        ({{ loop.index }}, {{ band_start }}, {{ band_end }}){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as t(sort_order, points_from, points_to)
)

select
    b.points_from || '–' || b.points_to as points_needed_band,
    b.sort_order::integer as sort_order,
    b.points_from::integer as points_from,
    b.points_to::integer as points_to,
    count(c.member_id)::bigint as members,
    coalesce(sum(c.pending_points), 0)::bigint as pending_points
from bands as b
left join {{ ref('exp_completion_campaign') }} as c
    on c.points_needed between b.points_from and b.points_to
group by all
