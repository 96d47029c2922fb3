{# Spaces removed from both ends (only the space character, as the rules say "trimmed"). #}
{% macro trim_spaces(expression) -%}
    trim({{ expression }}, ' ')
{%- endmacro %}

{# A text value is blank when it is missing, empty, or only spaces. #}
{% macro is_blank(expression) -%}
    (nullif({{ trim_spaces(expression) }}, '') is null)
{%- endmacro %}
