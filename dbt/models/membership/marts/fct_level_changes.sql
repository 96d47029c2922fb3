{#
  Changes are recomputed from night D on: a run for D (a new night, a re-run, or a backfill of
  a past night) can only change the change rows of D and of later nights, never earlier ones.
  The pre-hook removes those rows, the model inserts them again from the level history.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where as_of_date >= {{ as_of_date() }}{% endif %}"
    )
}}

with history as (
    select member_id, as_of_date, level from {{ ref('fct_member_levels') }}
),

{% if is_incremental() %}
nights as (
    select * from history where as_of_date >= {{ as_of_date() }}
    union all
    -- each member's last night before D: the previous night of its first night from D on
    select member_id, max(as_of_date) as as_of_date, arg_max(level, as_of_date) as level
    from history
    where as_of_date < {{ as_of_date() }}
    group by member_id
),
{% else %}
nights as (
    select * from history
),
{% endif %}

compared as (
    select
        member_id,
        as_of_date,
        lag(level) over (partition by member_id order by as_of_date) as previous_level,
        level
    from nights
)

select
    member_id,
    as_of_date,
    previous_level,
    level,
    case when {{ level_rank('level') }} > {{ level_rank('previous_level') }} then 'up' else 'down' end as direction
from compared
where previous_level is not null
    and previous_level <> level
{% if is_incremental() %}
    and as_of_date >= {{ as_of_date() }}
{% endif %}
