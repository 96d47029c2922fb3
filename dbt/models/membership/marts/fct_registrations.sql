{{ config(materialized='view') }}
-- Every registration known as of D with its status, reasons and points: a view over the stored
-- int_registration_status (recomputed only where something changed, doc incremental_nights) that
-- adds the night's date, so that millions of rows are not written again every night. The date is
-- written into the view as a constant when the night is built: the published view keeps showing its
-- night whatever later runs write into raw.run_context.
select
    registration_id,
    member_id,
    member_known,
    product_sku,
    serial_number,
    purchase_date,
    purchase_country,
    retailer,
    second_hand,
    registered_at,
    removed_at,
    status,
    reasons,
    effective_points,
    pending_points,
    needs_action,
    {{ as_of_date() }} as as_of_date
from {{ ref('int_registration_status') }}
