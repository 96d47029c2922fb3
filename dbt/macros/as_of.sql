{#
  The run date D as a DATE expression. The nightly run writes D into the one-row table
  raw.run_context before dbt starts, and every model reads it from there when it is built (see
  run_context_value): the date never reaches dbt's parser, so dbt keeps its parsed project from one
  night to the next (a date passed with --vars would make dbt parse the whole project again every
  night).
  The as_of_date var, when given (unit tests pin it with `overrides: vars:`; by hand with
  `dbt build --vars '{as_of_date: 2026-11-23}'`), takes precedence.
#}
{% macro as_of_date() -%}
    {%- set d = var('as_of_date', none) -%}
    {%- if d is none or d == '' -%}
        {{ run_context_value('as_of_date') }}
    {%- else -%}
        date '{{ d }}'
    {%- endif -%}
{%- endmacro %}

{#
  A column of raw.run_context (as_of_date, current_night, incremental_since, files_after) as a SQL
  literal, read when the node is built; at parse time (no database yet) the subquery that reads it.
  As literals the values reach DuckDB's optimizer: a filter on a date is pushed into the scan, and
  `incremental_since is null or key in (...)` folds into a semi join. Left as a subquery, DuckDB
  guessed no row would pass and built its hash table on the 8.6 M raw registrations instead of the
  keys (int_registration_status's incremental read at 1,000,000 members: 1.3 s -> 0.9 s).
#}
{% macro run_context_value(column) -%}
    {%- if not execute -%}
        {{- return('(select ' ~ column ~ ' from raw.run_context)') -}}
    {%- endif -%}
    {%- set value = run_context()[column] -%}
    {%- set sql_type = 'bigint' if column == 'files_after' else 'date' -%}
    {%- if value is none -%}
        {{- return('cast(null as ' ~ sql_type ~ ')') -}}
    {%- elif sql_type == 'date' -%}
        {{- return("date '" ~ value ~ "'") -}}
    {%- else -%}
        {{- return('cast(' ~ (value | int) ~ ' as bigint)') -}}
    {%- endif -%}
{%- endmacro %}

{#
  The row of raw.run_context as a dict, read once per dbt invocation: kept in the invocation's graph
  under its invocation id. A published view thus keeps the date of the night it was built for,
  whatever a later run writes into raw.run_context. Only when nodes are built (execute). Read as one
  JSON object (dates as 'YYYY-MM-DD'), so that a table written before the policy columns existed
  (dbt run by hand on an older warehouse) reads as a run without overrides.
#}
{% macro run_context() -%}
    {%- set key = 'cps_run_context_' ~ invocation_id -%}
    {%- if key not in graph -%}
        {%- set row = fromjson(run_query('select cast(to_json(r) as varchar) from raw.run_context as r').rows[0][0]) -%}
        {%- do graph.update({key: {
            'as_of_date': row.as_of_date,
            'current_night': row.current_night,
            'incremental_since': row.incremental_since,
            'files_after': row.files_after,
            'policy_overrides': fromjson(row.get('policy_overrides') or '{}'),
            'policy_shipped': fromjson(row.get('policy_shipped') or '{}'),
        }}) -%}
    {%- endif -%}
    {{- return(graph[key]) -}}
{%- endmacro %}

{#
  A policy value as this run uses it: the project var (dbt_project.yml), or the run's override of it
  (`cps simulate --set`, a night's policy overrides), which the run writes into raw.run_context like
  the dates. Not a --vars value: other vars are another project to dbt, parsed again in full (~5 s);
  the policy never changes what the project's graph is, only the SQL built from it.
  A var given to dbt itself (`--vars` by hand, a unit test's `overrides: vars:`) differs from the
  shipped value the row records, and wins over the row.
#}
{% macro policy_value(name) -%}
    {%- set value = var(name) -%}
    {%- if execute -%}
        {%- set context = run_context() -%}
        {%- if name in context.policy_overrides
            and tojson(value) == tojson(context.policy_shipped.get(name)) -%}
            {%- set value = context.policy_overrides[name] -%}
        {%- endif -%}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}

{# Records stamped at or after this instant are after the end of day D and are ignored. #}
{% macro end_of_as_of_day() -%}
    cast({{ as_of_date() }} + interval 1 day as timestamp)
{%- endmacro %}
