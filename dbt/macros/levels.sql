{#
  Member levels from validated points, with the thresholds of the project vars.
  Levels in order: Red (below Silver), Silver, Gold, Platinum.
#}
{% macro level_from_points(points) -%}
    case
        when {{ points }} >= {{ policy_integer('level_platinum_points') }} then 'Platinum'
        when {{ points }} >= {{ policy_integer('level_gold_points') }} then 'Gold'
        when {{ points }} >= {{ policy_integer('level_silver_points') }} then 'Silver'
        else 'Red'
    end
{%- endmacro %}

{# Position of a level in the ladder (Red 0 .. Platinum 3), to tell an upgrade from a downgrade. #}
{% macro level_rank(level) -%}
    case {{ level }} when 'Red' then 0 when 'Silver' then 1 when 'Gold' then 2 when 'Platinum' then 3 end
{%- endmacro %}

{# The level above the one these points give; null at the top (Platinum). #}
{% macro next_level_from_points(points) -%}
    case
        when {{ points }} >= {{ policy_integer('level_platinum_points') }} then null
        when {{ points }} >= {{ policy_integer('level_gold_points') }} then 'Platinum'
        when {{ points }} >= {{ policy_integer('level_silver_points') }} then 'Gold'
        else 'Silver'
    end
{%- endmacro %}

{# Points still missing to reach the next level; null at the top (Platinum). #}
{% macro points_to_next_level(points) -%}
    case
        when {{ points }} >= {{ policy_integer('level_platinum_points') }} then null
        when {{ points }} >= {{ policy_integer('level_gold_points') }}
            then {{ policy_integer('level_platinum_points') }} - {{ points }}
        when {{ points }} >= {{ policy_integer('level_silver_points') }}
            then {{ policy_integer('level_gold_points') }} - {{ points }}
        else {{ policy_integer('level_silver_points') }} - {{ points }}
    end
{%- endmacro %}

{# Validated points a level needs (its threshold); 0 for Red. #}
{% macro level_threshold(level) -%}
    case {{ level }}
        when 'Platinum' then {{ policy_integer('level_platinum_points') }}
        when 'Gold' then {{ policy_integer('level_gold_points') }}
        when 'Silver' then {{ policy_integer('level_silver_points') }}
        else 0
    end
{%- endmacro %}
