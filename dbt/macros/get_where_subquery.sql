{#
  dbt's `where` config of a data test, with one placeholder: __night__ becomes the night D as a date
  literal (as_of_date_constant). The ledgers keep a row per member per night and a night only ever
  writes rows dated D, so their tests check tonight's rows (`where: "as_of_date = __night__"`):
  a test over every night would grow with the number of nights. A literal, not a subquery, lets
  DuckDB skip the stored row groups of other nights.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__night__' in where -%}
            {%- set where = where | replace('__night__', as_of_date_constant()) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
