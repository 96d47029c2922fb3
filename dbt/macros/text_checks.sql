{# Spaces removed from both ends (only the space character, as the rules say "trimmed"). #}
{% macro trim_spaces(expression) -%}
    trim({{ expression }}, ' ')
{%- endmacro %}

{# A serial number's key, by which serials are compared: trimmed of spaces and upper-cased. #}
{% macro serial_key(expression) -%}
    upper({{ trim_spaces(expression) }})
{%- endmacro %}

{# A text value is blank when it is missing, empty, or only spaces. #}
{% macro is_blank(expression) -%}
    (nullif({{ trim_spaces(expression) }}, '') is null)
{%- endmacro %}
