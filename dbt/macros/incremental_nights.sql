{#
  Incremental nights. The nightly run decides (pipelines/core/build_plan.py) whether tonight builds
  on the rows stored at the current night C or rebuilds in full, and writes its decision into
  raw.run_context: incremental_since (C, or null for a full rebuild) and files_after (the highest
  raw file id C was built with: rows of later files arrived after C, whatever their stamps).
  The vars of the same names, when given (unit tests pin them with `overrides: vars:`), take
  precedence; a date pinned with the as_of_date var and no incremental_since var is a full rebuild.
#}
{% macro incremental_since() -%}
    {%- set c = var('incremental_since', none) -%}
    {%- if c is not none and c != '' -%}
        date '{{ c }}'
    {%- elif var('as_of_date', none) is not none and var('as_of_date', none) != '' -%}
        cast(null as date)
    {%- else -%}
        (select incremental_since from raw.run_context)
    {%- endif -%}
{%- endmacro %}

{% macro files_after() -%}
    {%- set f = var('files_after', none) -%}
    {%- if f is not none and f != '' -%}
        cast({{ f | int }} as bigint)
    {%- elif var('as_of_date', none) is not none and var('as_of_date', none) != '' -%}
        cast(null as bigint)
    {%- else -%}
        (select files_after from raw.run_context)
    {%- endif -%}
{%- endmacro %}

{#
  A boolean SQL condition: is `column` among the keys tonight recomputes? Always true on a full
  rebuild (incremental_since null), so that an incremental model run without a plan (dbt by hand)
  deletes and recomputes every row rather than keeping stale ones.
  changes_column: the column of int_registration_changes holding the keys.
#}
{% macro is_recomputed(column, changes_column) -%}
    ({{ incremental_since() }} is null
        or {{ column }} in (select {{ changes_column }} from {{ ref('int_registration_changes') }}))
{%- endmacro %}

{#
  Configuration of a model that keeps its rows from night to night and recomputes only the keys of
  int_registration_changes: before the model's rows are inserted, the pre-hook deletes the stored
  rows of those keys (also a key that has no row tonight, e.g. a member who no longer holds any
  registration). On a full rebuild (dbt --full-refresh) the table is built anew.
#}
{% macro recomputed_keys_config(key, changes_column) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where "
            ~ "{{ is_recomputed('" ~ key ~ "', '" ~ changes_column ~ "') }}{% endif %}"
    ) }}
{%- endmacro %}
