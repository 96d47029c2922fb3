{{ config(materialized='view') }}
-- The level history as published: a view over the ledger kept in the intermediate layer
-- (int_member_level_ledger), so that the history is stored once and never rewritten.
select
    member_id,
    as_of_date,
    level,
    validated_points,
    pending_points
from {{ ref('int_member_level_ledger') }}
