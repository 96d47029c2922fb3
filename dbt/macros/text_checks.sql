{# A text value is blank when it is missing, empty, or only spaces. #}
{% macro is_blank(expression) -%}
    (nullif(trim({{ expression }}), '') is null)
{%- endmacro %}
