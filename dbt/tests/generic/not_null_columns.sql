{#
  None of the given columns holds a null. Fails with one row per column that does: the column's name
  and how many rows are null in it.

  One test (one query, one scan) per model instead of one `not_null` test per column: each dbt test
  is a node with its own compile, connection, query and result, and ~250 of them cost a night more
  than the scans themselves.
#}
{% test not_null_columns(model, column_names) %}
with null_counts as (
    select
    {%- for column_name in column_names %}
        count(*) filter (where {{ column_name }} is null) as null_rows_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)

{% for column_name in column_names -%}
select '{{ column_name }}' as column_name, null_rows_{{ loop.index }} as null_rows
from null_counts
where null_rows_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif -%}
{% endfor %}
{% endtest %}
