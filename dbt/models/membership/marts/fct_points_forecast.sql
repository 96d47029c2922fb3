-- The points forecast as published: each date in the horizon on which a member's validated
-- points change (int_points_forecast), with the points and level from that date on.
select
    member_id,
    change_on,
    validated_points,
    {{ level_from_points('validated_points') }} as level,
    {{ as_of_date() }} as as_of_date
from {{ ref('int_points_forecast') }}
