{#
  Hash joins as written, for a model whose large input comes after a latest-version window: DuckDB
  estimates ~0 rows after `qualify row_number() ... = 1`, and its build/probe swap then builds each
  left join's hash table on the millions of registrations instead of the lookup table
  (int_registration_status, full build at 1,000,000 members: 52 s with the swap, 19 s without).
  Not for every model: the points forecast's full build is slower without the swap (28 s -> 39 s).
  The setting is DuckDB's (global to the database): the post-hook restores it.
#}
{% macro joins_as_written() -%}
    {{ config(
        pre_hook="set disabled_optimizers = 'build_side_probe_side'",
        post_hook="set disabled_optimizers = ''"
    ) }}
{%- endmacro %}
