{#
  Every non-null value of the column is a level of int_level_ladder (with paid_tier_only: a paid
  tier, Silver or above). The ladder is the one list of levels; tests do not spell it out again.
#}
{% test level_on_ladder(model, column_name, paid_tier_only=false) %}
select checked.{{ column_name }} as level
-- wrapped: with a `where` config, model is already an aliased subquery
from (select * from {{ model }}) as checked
left join {{ ref('int_level_ladder') }} as ladder on checked.{{ column_name }} = ladder.level
where checked.{{ column_name }} is not null
    and (ladder.level is null{% if paid_tier_only %} or not ladder.is_paid_tier{% endif %})
{% endtest %}
