{#
  The run date D as a DATE expression. The nightly run writes D into the one-row table
  raw.run_context before dbt starts, and every model reads it from there: the date never reaches
  dbt's parser, so dbt keeps its parsed project from one night to the next (a date passed with
  --vars would make dbt parse the whole project again every night).
  The as_of_date var, when given (unit tests pin it with `overrides: vars:`; by hand with
  `dbt build --vars '{as_of_date: 2026-11-23}'`), takes precedence.
#}
{% macro as_of_date() -%}
    {%- set d = var('as_of_date', none) -%}
    {%- if d is none or d == '' -%}
        (select as_of_date from raw.run_context)
    {%- else -%}
        date '{{ d }}'
    {%- endif -%}
{%- endmacro %}

{# Records stamped at or after this instant are after the end of day D and are ignored. #}
{% macro end_of_as_of_day() -%}
    cast({{ as_of_date() }} + interval 1 day as timestamp)
{%- endmacro %}

{#
  D as a date literal, read from raw.run_context when the model is built: for published views, so
  that a view keeps the date of the night it was built for (a later run rewrites raw.run_context).
  At parse time (no database yet) a placeholder; the var, when given, as in as_of_date().
#}
{% macro as_of_date_constant() -%}
    {%- set d = var('as_of_date', none) -%}
    {%- if d is not none and d != '' -%}
        date '{{ d }}'
    {%- elif execute -%}
        {%- set result = run_query('select cast(as_of_date as varchar) from raw.run_context') -%}
        date '{{ result.columns[0].values()[0] }}'
    {%- else -%}
        cast(null as date)
    {%- endif -%}
{%- endmacro %}
