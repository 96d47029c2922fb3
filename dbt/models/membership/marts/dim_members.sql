{{ config(materialized='view') }}
-- Every member as of D with points, level, tiers and what the next level needs: a view over the
-- stored int_member_summary (recomputed only for the members whose inputs changed, doc
-- incremental_nights) that adds the night's date, written into the view when the night is built.
-- every column of int_member_summary, in its order (the contract holds the names and types)
select
    *,
    {{ as_of_date() }} as as_of_date
from {{ ref('int_member_summary') }}
