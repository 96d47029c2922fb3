{#
  Policy numbers come from the project vars (dbt_project.yml) or the run's overrides of them
  (policy_value), never from literals in model SQL.
  Shares and rates are cast from their text form to DECIMAL so that arithmetic on them is exact
  (0.15 stays 0.15, not the nearest binary double).
#}
{% macro policy_decimal(name) -%}
    cast('{{ policy_value(name) }}' as decimal(18, 6))
{%- endmacro %}

{% macro policy_integer(name) -%}
    cast({{ policy_value(name) | int }} as integer)
{%- endmacro %}
