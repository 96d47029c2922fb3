{#
  Nights. The published warehouse shows one current night C; the nightly run writes it beside the
  run date D into the one-row table raw.run_context (current_night, null before the first night).
  A run for D is a new night (D after C), a re-run of C (D = C) or a backfill of a past night
  (D before C). Both dates stay out of dbt's vars so that dbt keeps its parsed project from one
  night to the next; the comparison is therefore SQL, not Jinja.
  The current_night var, when given (unit tests pin it with `overrides: vars:`), takes precedence;
  a date pinned with the as_of_date var and no current_night var is not a backfill.
#}
{% macro current_night() -%}
    {%- set c = var('current_night', none) -%}
    {%- if c is not none and c != '' -%}
        date '{{ c }}'
    {%- elif var('as_of_date', none) is not none and var('as_of_date', none) != '' -%}
        cast(null as date)
    {%- else -%}
        {{ run_context_value('current_night') }}
    {%- endif -%}
{%- endmacro %}

{# A boolean SQL expression: is this run a backfill of a night before the current one? #}
{% macro is_backfill() -%}
    coalesce({{ as_of_date() }} < {{ current_night() }}, false)
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
        pre_hook="{% if is_incremental() %}delete from {{ this }} where "
            ~ night_column ~ " = {{ as_of_date() }} and not {{ is_backfill() }}{% endif %}"
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

{#
  is_backfill() answered while the model is compiled (a Jinja boolean, false at parse time): for
  ledgers whose backfill-only clause would otherwise read every night's rows on every night.
#}
{% macro run_is_backfill() -%}
    {%- if execute -%}
        {{- return(run_query('select ' ~ is_backfill()).columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return(false) -}}
{%- endmacro %}
