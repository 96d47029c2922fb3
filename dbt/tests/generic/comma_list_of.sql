{#
  The column is a comma-separated list ('' when empty, never null) whose items are among `values`,
  each at most once, in the order `values` gives them.
#}
{% test comma_list_of(model, column_name, values) %}
with lists as (
    select {{ column_name }} as listed from {{ model }}
),

expected as (
    select
        listed,
        array_to_string(
            list_filter(
                [{% for value in values %}'{{ value }}'{% if not loop.last %}, {% endif %}{% endfor %}],
                lambda item: list_contains(string_split(listed, ','), item)
            ),
            ','
        ) as canonical
    from lists
    where listed is not null
)

select listed from lists where listed is null
union all
select listed from expected where listed <> canonical
{% endtest %}
