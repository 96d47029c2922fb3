-- Members as of D: the latest version of each member among those stamped by the end of day D.
-- Incremental (doc incremental_nights): an incremental night recomputes only the members with a
-- record that takes effect in (C, D] or arrived after C; the pre-hook removed their rows.
{%- set recorded = "is_recorded_since('member_id', source('raw', 'members'), 'member_id', 'cast(updated_at as date)')" %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ " ~ recorded ~ " }}{% endif %}"
) }}
with latest as (
    {{ latest_version(
        source('raw', 'members'), 'member_id', ['updated_at'],
        key_filter=(is_recorded_since('member_id', source('raw', 'members'), 'member_id', 'cast(updated_at as date)')
            if is_incremental() else none)
    ) }}
)

select
    member_id,
    email,
    country,
    language,
    marketing_opt_in,
    joined_at,
    legacy_cps_number,
    updated_at
from latest
