{#
  Configuration of a table that keeps one slice per night (member x night): incremental, and a
  run for night D deletes and re-inserts only the rows of D, so re-running a night replaces it and
  earlier nights stay. full_refresh=false: `dbt build --full-refresh` must not wipe the history.
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
