{{ config(materialized='view') }}
-- Every member as of D with points, level, tiers and what the next level needs: a view over the
-- stored int_member_summary (recomputed only for the members whose inputs changed, doc
-- incremental_nights) that adds the night's date, written into the view when the night is built.
select
    member_id,
    email,
    country,
    language,
    marketing_opt_in,
    joined_at,
    legacy_cps_number,
    level,
    validated_points,
    pending_points,
    counted_products,
    action_required_count,
    invitation_eligible,
    corporate_eligible,
    eligible_tiers,
    next_level,
    points_to_next_level,
    next_change_on,
    points_after_next_change,
    {{ as_of_date_constant() }} as as_of_date
from {{ ref('int_member_summary') }}
