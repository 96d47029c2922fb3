{#
  Questions about a level, answered by the level ladder (int_level_ladder, built from the policy vars),
  for models that hold a level name rather than points. The ladder is the only list of levels.
  The ladder is read once into a map (an uncorrelated subquery), then looked up with the caller's
  expression, which stays in the caller's scope (an unqualified `level` is the caller's column).
#}
{% macro ladder_lookup(column, level) -%}
    (select map_from_entries(list((rung.level, rung.{{ column }}))) from {{ ref('int_level_ladder') }} as rung)[{{ level }}]
{%- endmacro %}

{# Position of a level on the ladder (0 at the bottom), to tell an upgrade from a downgrade. #}
{% macro level_rank(level) -%}
    {{ ladder_lookup('level_rank', level) }}
{%- endmacro %}

{# True for a paid tier (Silver and above): Fast Track, a welcome pack, a place in eligible_tiers. #}
{% macro is_paid_tier(level) -%}
    coalesce({{ ladder_lookup('is_paid_tier', level) }}, false)
{%- endmacro %}

{# A product's points: base points times a factor, half-way values rounded up, at least 1 when base > 0. #}
{% macro points_from_factor(base_points, factor) -%}
    case
        when {{ base_points }} > 0
            -- round half up, exactly: floor(x + 0.5) on a DECIMAL
            then greatest(1, floor({{ base_points }}::decimal(18, 0) * {{ factor }} + 0.5))
        else 0
    end::integer
{%- endmacro %}

{# Validated points a level needs (its rung's threshold on the ladder; 0 at the bottom). #}
{% macro level_threshold(level) -%}
    {{ ladder_lookup('min_points', level) }}
{%- endmacro %}

{#
  The level `points` validated points reach: the highest rung of the ladder whose threshold they meet.
  An expression rather than an ASOF join to the ladder: a filter on the caller's rows then reaches the
  rows before their level is computed (through a view joined to the ladder, DuckDB computed the level of
  all 3.8 M forecast rows before a test kept the few hundred thousand an incremental night rewrote).
  The ladder's thresholds rise from 0, so the number of thresholds met is the reached rung's position.
#}
{% macro level_for_points(points) -%}
    (select list(rung.level order by rung.min_points) from {{ ref('int_level_ladder') }} as rung)[
        len(list_filter(
            (select list(rung.min_points order by rung.min_points) from {{ ref('int_level_ladder') }} as rung),
            lambda threshold: threshold <= {{ points }}
        ))
    ]
{%- endmacro %}
