{{ config(materialized='view') }}
-- The "blue dot": every registration of a known member that needs the member's action as of D, with
-- what to do in plain words. A view over the stored int_registrations_needing_action (recomputed
-- only for the registrations that changed, doc incremental_nights) that adds the night's date.
select
    registration_id,
    member_id,
    product_sku,
    product_name,
    status,
    reasons,
    explanation,
    pending_points,
    {{ as_of_date() }} as as_of_date
from {{ ref('int_registrations_needing_action') }}
