{#
  Nights. The published warehouse shows one current night C; the nightly flow passes it as the
  var current_night (null before the first night). A run for D is a new night (D after C), a
  re-run of C (D = C) or a backfill of a past night (D before C).
#}
{% macro current_night() -%}
    {{ return(var('current_night', none)) }}
{%- endmacro %}

{% macro is_backfill() -%}
    {%- set current = var('current_night', none) -%}
    {%- set night = var('as_of_date', none) -%}
    {{ return(current is not none and current != '' and night is not none and night != '' and night < current) }}
{%- endmacro %}

{#
  Configuration of a ledger (level history, level changes, welcome packs, invitation lists): a
  night's rows, once published, are never recomputed. Incremental with append; before a new night
  or a re-run of the current night the pre-hook removes the rows of night D (on a new night there
  are none, on a re-run they are replaced). A backfill deletes nothing: the model itself adds only
  the keys that have no row yet. full_refresh=false: `dbt build --full-refresh` must not wipe it.
  night_column: the column that holds the night a row belongs to.
#}
{% macro ledger_config(night_column='as_of_date') -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        full_refresh=false,
        pre_hook="{% if is_incremental() and not is_backfill() %}delete from {{ this }} where "
            ~ night_column ~ " = {{ as_of_date() }}{% endif %}"
    ) }}
{%- endmacro %}

{#
  Configuration of a table that keeps one slice per night (member x night) but is not a ledger:
  a run for night D deletes and re-inserts only the rows of D. full_refresh=false all the same.
#}
{% macro nightly_history_config() -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='append_new_columns',
        full_refresh=false
    ) }}
{%- endmacro %}
