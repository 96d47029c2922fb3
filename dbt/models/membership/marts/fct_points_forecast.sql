-- The points forecast as published: each date in the horizon on which a member's validated
-- points change (int_points_forecast), with the points and level from that date on (the highest
-- rung of the level ladder the points reach, as in dim_members).
-- A view: int_points_forecast keeps its rows from night to night (doc incremental_nights); the
-- night's date is written into the view when the night is built.
{{ config(materialized='view') }}
select
    f.member_id,
    f.change_on,
    f.validated_points,
    {{ level_for_points('f.validated_points') }} as level,
    {{ as_of_date() }} as as_of_date
from {{ ref('int_points_forecast') }} as f
