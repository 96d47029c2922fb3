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
        {{ run_context_value('incremental_since') }}
    {%- endif -%}
{%- endmacro %}

{% macro files_after() -%}
    {%- set f = var('files_after', none) -%}
    {%- if f is not none and f != '' -%}
        cast({{ f | int }} as bigint)
    {%- elif var('as_of_date', none) is not none and var('as_of_date', none) != '' -%}
        cast(null as bigint)
    {%- else -%}
        {{ run_context_value('files_after') }}
    {%- endif -%}
{%- endmacro %}

{#
  A boolean SQL condition: is `column` among the keys tonight recomputes? Always true on a full
  rebuild (incremental_since null), so that an incremental model run without a plan (dbt by hand)
  deletes and recomputes every row rather than keeping stale ones.
  changes_column: the column of int_registration_changes holding the keys.
#}
{% macro is_recomputed(column, changes_column, changes_model='int_registration_changes') -%}
    {{ recomputed_in(column, changes_column, ref(changes_model)) }}
{%- endmacro %}

{#
  The same condition with the relation listing the keys given as such: for data tests, which read
  the keys through an argument (row_checks' `recomputed`) or by name (get_where_subquery).
#}
{% macro recomputed_in(column, changes_column, changes_relation) -%}
    ({{ incremental_since() }} is null
        or {{ column }} in (select {{ changes_column }} from {{ changes_relation }}))
{%- endmacro %}

{#
  The keys of a raw source with a record that takes effect in (C, D] (seen_from: the date from which
  a night sees the record) or that arrived in a file loaded after C was built, whatever its stamps.
  Empty on a full rebuild.
#}
{% macro keys_recorded_since(relation, key, seen_from) -%}
    select {{ key }}
    from {{ relation }}
    where {{ recorded_since(seen_from) }}
{%- endmacro %}

{# The condition of keys_recorded_since on a raw source's row. #}
{% macro recorded_since(seen_from) -%}
    ({{ incremental_since() }} is not null
        and (({{ seen_from }} > {{ incremental_since() }} and {{ seen_from }} <= {{ as_of_date() }})
            or _file_id > {{ files_after() }}))
{%- endmacro %}

{# Is `column` a key of keys_recorded_since? Always true on a full rebuild. #}
{% macro is_recorded_since(column, relation, key, seen_from) -%}
    ({{ incremental_since() }} is null
        or {{ column }} in ({{ keys_recorded_since(relation, key, seen_from) }}))
{%- endmacro %}

{#
  Configuration of a model that keeps its rows from night to night and recomputes only the keys of
  int_registration_changes: the model computes those keys' rows, and the stored rows of the keys
  whose rows differ (also a key that has no row tonight, e.g. a member who no longer holds any
  registration) are replaced (the 'changed_keys' strategy, macros/materializations.sql). On a full
  rebuild (dbt --full-refresh) the table is built anew.
  changes_model: the model listing the keys; past_column: a date column whose rows on or before D
  are dropped every night (the forecast's change dates that are no longer ahead).
#}
{% macro recomputed_keys_config(key, changes_column, changes_model='int_registration_changes', past_column=none) -%}
    {%- set past = (" or " ~ past_column ~ " <= {{ as_of_date() }}") if past_column else "" -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='changed_keys',
        unique_key=key,
        recomputed_where="{{ is_recomputed('" ~ key ~ "', '" ~ changes_column ~ "', '" ~ changes_model ~ "') }}" ~ past
    ) }}
{%- endmacro %}
