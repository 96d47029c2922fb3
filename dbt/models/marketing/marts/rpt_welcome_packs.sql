{{ ledger_config('due_on') }}
-- Welcome packs, a ledger: one row per member, due the first night the member is Silver or above.
-- A night adds the members Silver or above on D who have no pack yet; a pack once published keeps
-- its date. The first build (no table yet) takes the whole level history up to D.
with history as (
    select member_id, as_of_date, level
    from {{ ref('fct_member_levels') }}
    where {{ is_paid_tier('level') }}
{% if is_incremental() %}
        and as_of_date = {{ as_of_date() }}
        and member_id not in (select member_id from {{ this }})
{% else %}
        and as_of_date <= {{ as_of_date() }}
{% endif %}
)

select
    member_id,
    min(as_of_date) as due_on,
    arg_min(level, as_of_date) as level
from history
group by member_id
