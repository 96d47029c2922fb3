{#
  Questions about a level, answered by the level ladder (int_level_ladder, built from the policy vars),
  for models that hold a level name rather than points. The ladder is the only list of levels.
#}

{# Position of a level on the ladder (0 at the bottom), to tell an upgrade from a downgrade. #}
{% macro level_rank(level) -%}
    (select rung.level_rank from {{ ref('int_level_ladder') }} as rung where rung.level = {{ level }})
{%- endmacro %}

{# True for a paid tier (Silver and above): Fast Track, a welcome pack, a place in eligible_tiers. #}
{% macro is_paid_tier(level) -%}
    coalesce((select rung.is_paid_tier from {{ ref('int_level_ladder') }} as rung where rung.level = {{ level }}), false)
{%- endmacro %}
