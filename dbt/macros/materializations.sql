{#
  The project's table, view and incremental materializations for DuckDB, in place of dbt-duckdb's.

  Why: dbt-duckdb's materializations are written for every DuckDB setup (DuckLake, MotherDuck,
  foreign keys, indexes, grants): around each model they ask DuckDB's catalogue for constraints and
  indexes, build under a temporary name and rename it into place, and an incremental model writes
  its rows into a temporary table first and copies them into the target. On a DuckDB file, whose DDL
  is transactional, a model is built in one transaction: `create or replace table` (or view), or an
  insert straight into the target. That is ~5 statements fewer per model (55 models a night: at
  10,000 members the models' time in dbt 6.3 -> 4.0 s), and an incremental model's rows are written
  once instead of twice (the level ledger gains a row per member every night).

  Kept: enforced contracts (column names and types checked, the table created with its declared
  columns and constraints), pre- and post-hooks, full_refresh (and full_refresh=false for the
  ledgers), on_schema_change 'ignore', 'append_new_columns' and 'fail', the 'append' and
  'delete+insert' strategies, and the project's 'changed_keys' (cps_replace_changed_keys). Anything
  else (grants, indexes, partitioning, other strategies, sync_all_columns, Python models) stops the
  build with a compilation error instead of being ignored.
#}

{% macro cps_refuse_unsupported_config(materialization) -%}
    {%- set unsupported = [] -%}
    {%- for option in ['grants', 'indexes', 'partitioned_by', 'sorted_by', 'incremental_predicates', 'predicates', 'sql_header'] -%}
        {%- if config.get(option) -%}{%- do unsupported.append(option) -%}{%- endif -%}
    {%- endfor -%}
    {%- if model['language'] != 'sql' -%}{%- do unsupported.append('language ' ~ model['language']) -%}{%- endif -%}
    {%- if unsupported -%}
        {{ exceptions.raise_compiler_error(
            "the project's " ~ materialization ~ " materialization (macros/materializations.sql) does not support: "
            ~ unsupported | join(', ')) }}
    {%- endif -%}
{%- endmacro %}

{#- The model as a new table or view (the target's type) under the target's name, replacing what is
    there, a relation of the other type too; an enforced contract checked first. -#}
{% macro cps_replace_sql(relation, existing_relation, compiled_code) -%}
    {%- if existing_relation is not none and existing_relation.type != relation.type -%}
        drop {{ existing_relation.type }} if exists {{ existing_relation }};
    {%- endif %}
    {%- set contract_enforced = config.get('contract').enforced -%}
    {%- if contract_enforced %}
        {{ get_assert_columns_equivalent(compiled_code) }}
    {%- endif %}
    {%- if relation.is_view %}
        create or replace view {{ relation }} as (
            {{ compiled_code }}
        );
    {%- elif contract_enforced %}
        create or replace table {{ relation }} {{ get_table_columns_and_constraints() }};
        insert into {{ relation }} {{ get_column_names() }} (
            {{ get_select_subquery(compiled_code) }}
        );
    {%- else %}
        create or replace table {{ relation }} as (
            {{ compiled_code }}
        );
    {%- endif %}
{%- endmacro %}

{#- One statement in one transaction, between the model's hooks; what every materialization here ends with. -#}
{% macro cps_build_in_one_transaction(target_relation, build_sql) -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {% call statement('main') -%}
        {{ build_sql }}
    {%- endcall %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmacro %}

{#- A table or a view: the model replaces what is under its name. -#}
{% macro cps_replace_relation(relation_type) -%}
    {{ cps_refuse_unsupported_config(relation_type) }}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type=relation_type) -%}
    {{ return(cps_build_in_one_transaction(target_relation, cps_replace_sql(target_relation, existing_relation, sql))) }}
{%- endmacro %}

{% materialization table, adapter='duckdb', supported_languages=['sql'] %}
    {{ return(cps_replace_relation('table')) }}
{% endmaterialization %}

{% materialization view, adapter='duckdb', supported_languages=['sql'] %}
    {{ return(cps_replace_relation('view')) }}
{% endmaterialization %}

{#- The columns of the target an incremental run inserts, after the schema change its config asks for
    (new model columns added with 'append_new_columns'; any difference refused with 'fail'). -#}
{% macro cps_incremental_columns(target_relation, compiled_code, on_schema_change) -%}
    {%- set target_columns = adapter.get_columns_in_relation(target_relation) -%}
    {%- if on_schema_change == 'ignore' -%}
        {{ return(target_columns | map(attribute='name') | list) }}
    {%- endif -%}
    {%- set model_columns = get_column_schema_from_query(compiled_code) -%}
    {%- set target_names = target_columns | map(attribute='name') | map('lower') | list -%}
    {%- set model_names = model_columns | map(attribute='name') | map('lower') | list -%}
    {%- set added = [] -%}
    {%- for column in model_columns if column.name | lower not in target_names -%}
        {%- do added.append(column) -%}
    {%- endfor -%}
    {%- set missing = [] -%}
    {%- for name in target_names if name not in model_names -%}{%- do missing.append(name) -%}{%- endfor -%}
    {%- if on_schema_change == 'fail' and (added or missing) -%}
        {{ exceptions.raise_compiler_error(
            "the columns of " ~ target_relation ~ " and of its model differ (on_schema_change='fail'): new "
            ~ (added | map(attribute='name') | join(', ') or 'none') ~ ", missing " ~ (missing | join(', ') or 'none')) }}
    {%- endif -%}
    {%- for column in added -%}
        {% call statement('add_column_' ~ loop.index) -%}
            alter table {{ target_relation }} add column {{ adapter.quote(column.name) }} {{ column.data_type }}
        {%- endcall %}
    {%- endfor -%}
    {{ return(model_columns | map(attribute='name') | list) }}
{%- endmacro %}

{#- The 'changed_keys' strategy: the model computes the rows of the keys it may change (the target's rows
    matching recomputed_where, and keys that have no row yet); only the keys whose rows differ from the
    stored ones (as a multiset of whole rows, nulls equal) are deleted and inserted. Recomputing a key
    mostly gives its stored rows again (at a million members ~80,000 registrations are recomputed on an
    ordinary night, ~8,000 of them change): rows deleted all over a table cost DuckDB's checkpoint
    ~10 us each (0.85 s for those 80,000), and rows left in place cost nothing. -#}
{% macro cps_replace_changed_keys(target_relation, quoted_columns, key, recomputed_where) -%}
    {%- set columns = quoted_columns | join(', ') -%}
    {%- set rows = adapter.quote(target_relation.identifier ~ '__cps_rows') -%}
    {%- set stored = adapter.quote(target_relation.identifier ~ '__cps_stored') -%}
    {%- set changed = adapter.quote(target_relation.identifier ~ '__cps_changed') -%}
    create or replace temporary table {{ rows }} as ({{ sql }});
    -- the stored rows picked by row id from the columns the condition reads, then read whole: a filter
    -- on the scan itself read every column of every row (~1.1 -> ~0.9 CPU-s for int_registration_status)
    create or replace temporary table {{ stored }} as (
        select t.rowid as cps_row_id, {{ columns }}
        from {{ target_relation }} as t
        semi join (select rowid as row_id from {{ target_relation }} where {{ recomputed_where }}) as k
            on t.rowid = k.row_id
    );
    create or replace temporary table {{ changed }} as (
        select {{ key }} from (select {{ columns }} from {{ rows }} except all select {{ columns }} from {{ stored }}) as added
        union
        select {{ key }} from (select {{ columns }} from {{ stored }} except all select {{ columns }} from {{ rows }}) as removed
    );
    delete from {{ target_relation }}
    where rowid in (
        select s.cps_row_id from {{ stored }} as s semi join {{ changed }} as c on s.{{ key }} is not distinct from c.{{ key }}
    );
    insert into {{ target_relation }} ({{ columns }})
    select {{ columns }} from {{ rows }} as r semi join {{ changed }} as c on r.{{ key }} is not distinct from c.{{ key }};
    drop table {{ rows }};
    drop table {{ stored }};
    drop table {{ changed }}
{%- endmacro %}

{% materialization incremental, adapter='duckdb', supported_languages=['sql'] %}
    {{ cps_refuse_unsupported_config('incremental') }}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set strategy = config.get('incremental_strategy') or 'append' -%}
    {%- set unique_key = config.get('unique_key') -%}
    {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
    {%- set keyed = strategy in ['delete+insert', 'changed_keys'] -%}
    {%- if strategy not in ['append', 'delete+insert', 'changed_keys'] or (keyed and unique_key is none)
        or (strategy == 'changed_keys' and not config.get('recomputed_where')) -%}
        {{ exceptions.raise_compiler_error(
            "the project's incremental materialization supports the 'append' strategy, 'delete+insert' with a "
            ~ "unique_key and 'changed_keys' with a unique_key and recomputed_where, not '" ~ strategy ~ "'"
            ~ (" without them" if keyed else "")) }}
    {%- endif -%}
    {%- if on_schema_change == 'sync_all_columns' -%}
        {{ exceptions.raise_compiler_error("the project's incremental materialization does not support sync_all_columns") }}
    {%- endif -%}
    {%- set rebuild = existing_relation is none or existing_relation.is_view or should_full_refresh() -%}

    {%- if rebuild %}
        {%- set build_sql = cps_replace_sql(target_relation, existing_relation, sql) %}
    {%- else %}
        {%- if config.get('contract').enforced -%}{%- do get_assert_columns_equivalent(sql) -%}{%- endif -%}
        {%- set columns = cps_incremental_columns(target_relation, sql, on_schema_change) -%}
        {%- set quoted = [] -%}
        {%- for name in columns -%}{%- do quoted.append(adapter.quote(name)) -%}{%- endfor -%}
        {%- if strategy == 'append' %}
            {%- set build_sql -%}
                insert into {{ target_relation }} ({{ quoted | join(', ') }})
                select {{ quoted | join(', ') }} from ({{ sql }}) as model_rows
            {%- endset %}
        {%- elif strategy == 'changed_keys' %}
            {%- set build_sql = cps_replace_changed_keys(target_relation, quoted, unique_key, render(config.get('recomputed_where'))) %}
        {%- else %}
            {#- the model's rows once, then the target's rows of their keys replaced -#}
            {%- set keys = [unique_key] if unique_key is string else unique_key -%}
            {%- set staged = adapter.quote(target_relation.identifier ~ '__cps_rows') -%}
            {%- set build_sql -%}
                create or replace temporary table {{ staged }} as ({{ sql }});
                delete from {{ target_relation }}
                where ({{ keys | join(', ') }}) in (select {{ keys | join(', ') }} from {{ staged }});
                insert into {{ target_relation }} ({{ quoted | join(', ') }})
                select {{ quoted | join(', ') }} from {{ staged }};
                drop table {{ staged }}
            {%- endset %}
        {%- endif %}
    {%- endif %}
    {{ return(cps_build_in_one_transaction(target_relation, build_sql)) }}
{% endmaterialization %}
