{{ ledger_config() }}
-- The level history, a ledger: one row per member per recorded night. Kept in the intermediate
-- layer so that any domain can read members' past levels (the Fast Track level at a job's received
-- date) without reading a mart; marts.fct_member_levels publishes it. A new night appends its rows,
-- a re-run of the current night replaces them, a backfill adds only members with no row for D.
with members as (
    select
        m.member_id,
        coalesce(p.validated_points, 0)::bigint as validated_points,
        coalesce(p.pending_points, 0)::bigint as pending_points
    from {{ ref('stg_members') }} as m
    left join {{ ref('int_member_points') }} as p on m.member_id = p.member_id
),

-- the member's level is the highest rung of the ladder its validated points reach
tonight as (
    select
        m.member_id,
        {{ as_of_date() }} as as_of_date,
        {{ level_for_points('m.validated_points') }} as level,
        m.validated_points,
        m.pending_points
    from members as m
)

{#- Once, when a warehouse whose history was published as a table gets this ledger: take it over. -#}
{%- set published = none -%}
{%- if execute and not is_incremental() -%}
    {%- set published = adapter.get_relation(database=this.database, schema='marts', identifier='fct_member_levels') -%}
{%- endif %}

select * from tonight
{#- only a backfill reads the stored history: a new night's or a re-run's cost does not grow with the nights #}
{% if is_incremental() and run_is_backfill() %}
where not exists (
    select 1 from {{ this }} as h where h.member_id = tonight.member_id and h.as_of_date = tonight.as_of_date
)
{% endif %}
{% if published is not none and published.type == 'table' %}
union all
select member_id, as_of_date, level, validated_points, pending_points
from {{ published }}
where as_of_date <> {{ as_of_date() }}
{% endif %}
