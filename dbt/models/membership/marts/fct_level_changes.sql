{{ ledger_config() }}
-- Level changes, a ledger: night D's rows compare each member's level on D with its previous
-- recorded night before D (a member's first recorded night gives no row). Rows of other nights are
-- never recomputed, also when a backfill slots a night in between. The first build (no table yet)
-- takes every night of the level history up to D; a later night reads only D's rows and those of the
-- latest night before D (a backfill: each member's latest night before D).
with history as (
    select member_id, as_of_date, level
    from {{ ref('fct_member_levels') }}
    where as_of_date <= {{ as_of_date() }}
),

{% if is_incremental() %}
{#- a backfill or not, known before the SQL is written: the two need different reads of the history -#}
{%- set backfill = run_is_backfill() %}
tonight as (
    select member_id, level from history where as_of_date = {{ as_of_date() }}
),

{%- if backfill %}

-- a backfill: each member's last night before D, among all nights
before as (
    select member_id, arg_max(level, as_of_date) as level
    from history
    where as_of_date < {{ as_of_date() }}
    group by member_id
),
{%- else %}

-- a new night (or a re-run): the rows of the latest recorded night before D; every member known
-- then has one there (a member, once known, stays known, and a night records every member), so
-- only members missing from it (new tonight, as a rule) look further back
latest_night_before as (
    select max(as_of_date) as night from history where as_of_date < {{ as_of_date() }}
),

on_latest_night_before as (
    select h.member_id, h.level
    from history as h, latest_night_before as n
    where h.as_of_date = n.night
),

before as (
    select member_id, level from on_latest_night_before
    union all
    select h.member_id, arg_max(h.level, h.as_of_date) as level
    from history as h
    semi join (
        select member_id from tonight anti join on_latest_night_before using (member_id)
    ) as missing on h.member_id = missing.member_id
    where h.as_of_date < {{ as_of_date() }}
    group by h.member_id
),
{%- endif %}

-- tonight against the night before, joined by member (no window over two nights of every member);
-- a member's first recorded night has no night before and gives no row
compared as (
    select t.member_id, {{ as_of_date() }} as as_of_date, b.level as previous_level, t.level
    from tonight as t
    join before as b on t.member_id = b.member_id
)
{% else %}
compared as (
    select
        member_id,
        as_of_date,
        lag(level) over (partition by member_id order by as_of_date) as previous_level,
        level
    from history
)
{% endif %}

select
    c.member_id,
    c.as_of_date,
    c.previous_level,
    c.level,
    case when {{ level_rank('c.level') }} > {{ level_rank('c.previous_level') }} then 'up' else 'down' end as direction
from compared as c
where c.previous_level is not null
    and c.previous_level <> c.level
{% if is_incremental() and run_is_backfill() %}
    and not exists (
        select 1 from {{ this }} as t where t.member_id = c.member_id and t.as_of_date = c.as_of_date
    )
{% endif %}
