{#
  Hash joins as written, for a model whose large input comes after a latest-version selection:
  DuckDB underestimates the rows left after it, and its build/probe swap then builds a left join's
  hash table on the millions of registrations instead of the lookup table. Measured on
  int_registration_status at 1,000,000 members: when the window sorted whole rows,
  the full build took 52 s with the swap, 19 s without; since latest_version picks rows by their
  place, 12-14 s either way, and an incremental night 1.5 s with the swap, 1.1-1.2 s without.
  Not for every model: the points forecast's full build was slower without the swap (28 s -> 39 s).
  The setting is DuckDB's (global to the database): the post-hook restores it.
#}
{% macro joins_as_written() -%}
    {{ config(
        pre_hook="set disabled_optimizers = 'build_side_probe_side'",
        post_hook="set disabled_optimizers = ''"
    ) }}
{%- endmacro %}
