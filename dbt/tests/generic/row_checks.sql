{#
  Every check of a model's rows that reads the model alone, in one test: one query, one scan.
  Fails with one row per check that does not hold: the check (e.g. "null in country") and how many
  rows break it.

  Each dbt test is a node with its own compile, connection, query and result: at 10,000 members a
  node's Python costs more than its query, and ~140 tests cost a night ~4 s. A check that reads
  another model (relationships) and a warning (severity warn) stay tests of their own.

    not_null:            columns that must have a value
    unique:              columns whose non-null values occur once ("duplicate x": the rows beyond
                         the first of each value)
    unique_combinations: lists of columns whose combination occurs once (nulls compare equal)
    accepted_values:     {column: [values]}: each non-null value is one of them
    expressions:         SQL conditions true on every row (false or null fails)
    on_level_ladder:     columns whose non-null values are levels of int_level_ladder
    on_paid_tier:        the same, a paid tier (Silver or above)
    comma_lists:         {column: [items]}: a comma-separated list ('' when empty, never null) of
                         those items, each at most once, in the given order
    recomputed:          {key: column, keys_from: ref(model)}: on an incremental night, check only
                         the rows whose key the night recomputed (listed in keys_from); on a full
                         rebuild, every row. For a table that keeps its other rows from night to
                         night: they are the rows an earlier night checked, unchanged, and a key
                         the night did not recompute cannot become a duplicate (its rows are not
                         written). A change of these checks changes the dbt project, and with it
                         the night is a full rebuild.
#}
{% test row_checks(model, not_null=[], unique=[], unique_combinations=[], accepted_values={},
                   expressions=[], on_level_ladder=[], on_paid_tier=[], comma_lists={}, recomputed=none) %}
{%- set checks = [] -%}
{%- for column in not_null -%}
    {%- do checks.append(("null in " ~ column, "count(*) filter (where " ~ column ~ " is null)")) -%}
{%- endfor -%}
{%- for column in unique -%}
    {%- do checks.append(("duplicate " ~ column, "count(" ~ column ~ ") - count(distinct " ~ column ~ ")")) -%}
{%- endfor -%}
{%- for columns in unique_combinations -%}
    {%- set listed = columns | join(", ") -%}
    {%- do checks.append(("duplicate (" ~ listed ~ ")", "count(*) - count(distinct (" ~ listed ~ "))")) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set quoted = [] -%}
    {%- for value in values %}{% do quoted.append("'" ~ value ~ "'") %}{% endfor -%}
    {%- do checks.append((column ~ " not in (" ~ values | join(", ") ~ ")",
        "count(*) filter (where " ~ column ~ " not in (" ~ quoted | join(", ") ~ "))")) -%}
{%- endfor -%}
{%- for expression in expressions -%}
    {%- do checks.append(("not true: " ~ expression, "count(*) filter (where not coalesce((" ~ expression ~ "), false))")) -%}
{%- endfor -%}
{%- for column in on_level_ladder -%}
    {%- do checks.append((column ~ " not a level",
        "count(*) filter (where " ~ column ~ " is not null and not list_contains(ladder.levels, " ~ column ~ "))")) -%}
{%- endfor -%}
{%- for column in on_paid_tier -%}
    {%- do checks.append((column ~ " not a paid tier",
        "count(*) filter (where " ~ column ~ " is not null and not list_contains(ladder.paid_tiers, " ~ column ~ "))")) -%}
{%- endfor -%}
{%- for column, items in comma_lists.items() -%}
    {%- set quoted = [] -%}
    {%- for item in items %}{% do quoted.append("'" ~ item ~ "'") %}{% endfor -%}
    {%- set canonical = "array_to_string(list_filter([" ~ quoted | join(", ") ~ "], lambda item: list_contains(string_split("
        ~ column ~ ", ','), item)), ',')" -%}
    {#- a case, so that the list is split only where it is not empty (a filter's `or` evaluates both sides) -#}
    {%- do checks.append((column ~ " not a list of (" ~ items | join(", ") ~ ")",
        "count(*) filter (where case when " ~ column ~ " is null then true when " ~ column ~ " = '' then false else "
        ~ column ~ " <> " ~ canonical ~ " end)")) -%}
{%- endfor -%}
{%- set reads_ladder = (on_level_ladder | length + on_paid_tier | length) > 0 %}
with
{%- if reads_ladder %}
ladder as (
    select list(level) as levels, list(level) filter (where is_paid_tier) as paid_tiers
    from {{ ref('int_level_ladder') }}
),
{%- endif %}

failing_counts as materialized (
    select
    {%- for label, expression in checks %}
        {{ expression }} as check_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    -- wrapped: with a `where` config, model is already an aliased subquery
    from (select * from {{ model }}) as checked
    {%- if reads_ladder %}
    cross join ladder
    {%- endif %}
    {%- if recomputed %}
    where {{ recomputed_in('checked.' ~ recomputed['key'], recomputed['key'], recomputed['keys_from']) }}
    {%- endif %}
)

{% for label, expression in checks -%}
select '{{ label | replace("'", "''") }}' as failed_check, check_{{ loop.index }} as failing_rows
from failing_counts
where check_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif -%}
{% endfor %}
{% endtest %}
