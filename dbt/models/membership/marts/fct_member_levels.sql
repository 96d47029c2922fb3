{{ nightly_history_config() }}
-- One row per member for night D. Earlier nights are kept: the model only replaces night D.
-- full_refresh=false: `dbt build --full-refresh` must not wipe the recorded history.
select
    member_id,
    as_of_date,
    level,
    validated_points,
    pending_points
from {{ ref('dim_members') }}
