{#
  Weekdays (Monday to Friday) after start_date up to and including end_date, by arithmetic:
  weekdays_through(d) counts the weekdays from a fixed Monday (0001-01-01, so that the day
  difference is never negative: DuckDB's // truncates towards zero) up to d, and the answer is the
  difference. 0 when end_date is on or before start_date.
#}
{% macro weekdays_through(day) -%}
    (
        ((({{ day }})::date - date '0001-01-01') // 7) * 5
        + least(((({{ day }})::date - date '0001-01-01') % 7) + 1, 5)
    )
{%- endmacro %}

{% macro working_days_between(start_date, end_date) -%}
    greatest(0, {{ weekdays_through(end_date) }} - {{ weekdays_through(start_date) }})
{%- endmacro %}
