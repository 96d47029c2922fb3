{# The run date D as a DATE literal: the as_of_date var, or today in UTC when it is not given. #}
{% macro as_of_date() -%}
    {%- set d = var('as_of_date', none) -%}
    {%- if d is none or d == '' -%}
        cast(current_timestamp at time zone 'UTC' as date)
    {%- else -%}
        date '{{ d }}'
    {%- endif -%}
{%- endmacro %}

{# Records stamped at or after this instant are after the end of day D and are ignored. #}
{% macro end_of_as_of_day() -%}
    cast({{ as_of_date() }} + interval 1 day as timestamp)
{%- endmacro %}
