{#
  dbt's `where` config of a data test, with placeholders:
  - __night__ becomes the night D (as_of_date(): a date literal when the test is built). The ledgers
    keep a row per member per night and a night only ever writes rows dated D, so their tests check
    tonight's rows (`where: "as_of_date = __night__"`): a test over every night would grow with the
    number of nights. A literal, not a subquery, lets DuckDB skip the stored row groups of other nights.
  - __recomputed_registrations__ and __recomputed_forecast_members__: on an incremental night, the
    rows of the registrations (int_registration_changes) or the forecast members
    (int_forecast_changes) the night recomputed; on a full rebuild, every row (see row_checks'
    `recomputed` for why the other rows need no check). For relationships tests of the stored
    tables: a member whose record changed has its registrations, and so its forecast, recomputed.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__night__' in where -%}
            {%- set where = where | replace('__night__', as_of_date()) -%}
        {%- endif -%}
        {%- set recomputed = {
            '__recomputed_registrations__': ('registration_id', 'int_registration_changes'),
            '__recomputed_forecast_members__': ('member_id', 'int_forecast_changes'),
        } -%}
        {%- set replaced = namespace(where=where) -%}  {#- a loop's own `set` would not outlive it -#}
        {%- for placeholder, keys in recomputed.items() if placeholder in where -%}
            {#- named by schema and table: a test's ref() must be known when dbt parses it -#}
            {%- set condition = recomputed_in(keys[0], keys[0], 'intermediate.' ~ keys[1]) -%}
            {%- set replaced.where = replaced.where | replace(placeholder, condition | trim) -%}
        {%- endfor -%}
        {%- set where = replaced.where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
