"""The project's own table, view and incremental materializations (dbt/macros/materializations.sql),
run by real dbt on a real DuckDB file: a toy project in a temporary folder that uses the project's
macro file, with models rewritten between builds."""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

from pipelines.core.settings import DBT_PROJECT_DIR
from pipelines.transformation.dbt_runner import release_dbt_database

PROJECT_YML = """\
name: toy
version: "1.0"
profile: toy
config-version: 2
models:
  toy:
    +materialized: table
"""

PROFILES_YML = """\
toy:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{path}"
      threads: 1
"""


class ToyProject:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.database = root / "toy.duckdb"
        (root / "models").mkdir(parents=True)
        (root / "macros").mkdir()
        (root / "dbt_project.yml").write_text(PROJECT_YML)
        (root / "profiles.yml").write_text(PROFILES_YML.format(path=self.database))
        materializations = DBT_PROJECT_DIR / "macros" / "materializations.sql"
        (root / "macros" / "materializations.sql").write_text(materializations.read_text())

    def model(self, name: str, sql: str, yml: str | None = None) -> None:
        (self.root / "models" / f"{name}.sql").write_text(textwrap.dedent(sql))
        if yml is not None:
            (self.root / "models" / f"{name}.yml").write_text(textwrap.dedent(yml))

    def build(self, *arguments: str) -> dbtRunnerResult:
        try:
            return dbtRunner().invoke(
                ["build", "--project-dir", str(self.root), "--profiles-dir", str(self.root),
                 "--target-path", str(self.root / "target"), "--log-path", str(self.root / "logs"),
                 "--log-level", "none", *arguments]
            )  # fmt: skip
        finally:
            release_dbt_database()

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        connection = duckdb.connect(str(self.database), read_only=True)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def relation_type(self, name: str) -> str:
        return str(self.rows(f"select table_type from information_schema.tables where table_name = '{name}'")[0][0])


@pytest.fixture
def toy(tmp_path: Path) -> ToyProject:
    return ToyProject(tmp_path / "toy")  # dbt's telemetry is off for the whole session (conftest)


def failure_text(result: dbtRunnerResult) -> str:
    messages = [str(result.exception or "")]
    for node in getattr(result.result, "results", None) or []:
        messages.append(str(getattr(node, "message", "") or ""))
    return " | ".join(messages)


def test_a_table_is_replaced_in_place_and_can_become_a_view_and_back(toy: ToyProject) -> None:
    toy.model("numbers", "select range as n from range(3)")
    assert toy.build().success
    toy.model("numbers", "select range * 10 as n from range(2)")
    assert toy.build().success
    assert toy.rows("select n from numbers order by n") == [(0,), (10,)]
    assert toy.relation_type("numbers") == "BASE TABLE"
    # no leftover relation under another name (the dbt-duckdb way builds aside and renames)
    assert toy.rows("select count(*) from information_schema.tables") == [(1,)]

    toy.model("numbers", "{{ config(materialized='view') }}\nselect 7 as n")
    assert toy.build().success
    assert toy.relation_type("numbers") == "VIEW" and toy.rows("select n from numbers") == [(7,)]
    toy.model("numbers", "select 8 as n")
    assert toy.build().success
    assert toy.relation_type("numbers") == "BASE TABLE" and toy.rows("select n from numbers") == [(8,)]


CONTRACT_YML = """\
models:
  - name: contracted
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: not_null}]
      - name: label
        data_type: varchar
"""


def test_an_enforced_contract_checks_the_columns_and_creates_the_declared_constraints(toy: ToyProject) -> None:
    toy.model("contracted", "select 1::integer as id, 'a' as label", CONTRACT_YML)
    assert toy.build().success
    assert toy.rows("select is_nullable from information_schema.columns where column_name = 'id'") == [("NO",)]

    toy.model("contracted", "select 2::integer as id, 'b' as label")
    assert toy.build().success  # replaced again, constraint kept
    assert toy.rows("select id, label from contracted") == [(2, "b")]

    toy.model("contracted", "select 'x' as id, 'b' as label")  # the wrong type for id
    result = toy.build()
    assert not result.success and "contract" in failure_text(result).lower()
    assert toy.rows("select id, label from contracted") == [(2, "b")], "a failed build left the table as it was"

    toy.model("contracted", "select null::integer as id, 'c' as label")  # breaks the not_null constraint
    result = toy.build()
    assert not result.success and "not null" in failure_text(result).lower()
    assert toy.rows("select id, label from contracted") == [(2, "b")]


def test_an_enforced_contract_is_checked_on_incremental_runs_too(toy: ToyProject) -> None:
    sql = "{{ config(materialized='incremental', on_schema_change='fail') }}\nselect %s as id, 'a' as label"
    toy.model("contracted", sql.replace("%s", "1::integer"), CONTRACT_YML)
    assert toy.build().success
    toy.model("contracted", sql.replace("%s", "2::integer"))
    assert toy.build().success
    toy.model("contracted", sql.replace("%s", "'3'"))  # the wrong type, on an incremental run
    result = toy.build()
    assert not result.success and "contract" in failure_text(result).lower()
    assert toy.rows("select id from contracted order by id") == [(1,), (2,)]


LEDGER = """\
{{{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false,
    on_schema_change='{on_schema_change}',
    pre_hook="{{% if is_incremental() %}}delete from {{{{ this }}}} where night = {night}{{% endif %}}") }}}}
select {night} as night, {value} as value{extra}
"""


def ledger(night: int, value: int, on_schema_change: str = "append_new_columns", extra: str = "") -> str:
    return LEDGER.format(night=night, value=value, on_schema_change=on_schema_change, extra=extra)


def test_an_incremental_model_appends_after_its_pre_hook_and_keeps_its_rows_under_full_refresh(
    toy: ToyProject,
) -> None:
    toy.model("ledger", ledger(1, 10))
    assert toy.build().success
    toy.model("ledger", ledger(2, 20))
    assert toy.build().success
    toy.model("ledger", ledger(2, 21))  # a re-run of night 2: the pre-hook removes its row first
    assert toy.build().success
    assert toy.rows("select night, value from ledger order by night") == [(1, 10), (2, 21)]

    toy.model("ledger", ledger(3, 30))
    assert toy.build("--full-refresh").success  # full_refresh=false: still incremental
    assert toy.rows("select night, value from ledger order by night") == [(1, 10), (2, 21), (3, 30)]
    # nothing left aside: the rows went straight into the target
    assert toy.rows("select count(*) from information_schema.tables") == [(1,)]


def test_an_incremental_model_without_full_refresh_false_is_rebuilt_by_full_refresh(toy: ToyProject) -> None:
    def sql(n: int) -> str:
        return "{{ config(materialized='incremental') }}\nselect " + str(n) + " as n"

    toy.model("recomputed", sql(1))
    assert toy.build().success
    toy.model("recomputed", sql(2))
    assert toy.build().success
    assert toy.rows("select n from recomputed order by n") == [(1,), (2,)]
    toy.model("recomputed", sql(3))
    assert toy.build("--full-refresh").success
    assert toy.rows("select n from recomputed") == [(3,)]


def test_schema_changes_append_new_columns_ignore_or_fail_as_configured(toy: ToyProject) -> None:
    toy.model("ledger", ledger(1, 10))
    assert toy.build().success
    toy.model("ledger", ledger(2, 20, extra=", 'x' as note"))
    assert toy.build().success
    assert toy.rows("select night, value, note from ledger order by night") == [(1, 10, None), (2, 20, "x")]

    toy.model("ignored", ledger(1, 10, on_schema_change="ignore"))
    assert toy.build("--select", "ignored").success
    toy.model("ignored", ledger(2, 20, on_schema_change="ignore", extra=", 'x' as note"))
    assert toy.build("--select", "ignored").success
    assert toy.rows("select * from ignored order by night") == [(1, 10), (2, 20)]

    toy.model("strict", ledger(1, 10, on_schema_change="fail"))
    assert toy.build("--select", "strict").success
    toy.model("strict", ledger(2, 20, on_schema_change="fail", extra=", 'x' as note"))
    result = toy.build("--select", "strict")
    assert not result.success and "note" in failure_text(result)
    assert toy.rows("select * from strict") == [(1, 10)]


def test_delete_insert_replaces_the_rows_of_the_keys_the_model_returns(toy: ToyProject) -> None:
    config = "{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='night') }}"
    toy.model("slices", config + "\nselect * from (values (1, 'a'), (1, 'b'), (2, 'c')) as t(night, value)")
    assert toy.build().success
    toy.model("slices", config + "\nselect * from (values (2, 'd'), (3, 'e')) as t(night, value)")
    assert toy.build().success
    assert toy.rows("select night, value from slices order by night, value") == [
        (1, "a"), (1, "b"), (2, "d"), (3, "e"),
    ]  # fmt: skip


CHANGED_KEYS = """\
{{{{ config(materialized='incremental', incremental_strategy='changed_keys', unique_key='k',
    recomputed_where="k in ({recomputed}) or until < 2") }}}}
select * from (values {rows}) as t(k, until, value)
"""


def changed_keys_model(recomputed: str, rows: str) -> str:
    return CHANGED_KEYS.format(recomputed=recomputed, rows=rows)


def test_changed_keys_rewrites_only_the_keys_whose_rows_differ(toy: ToyProject) -> None:
    toy.model("kept", changed_keys_model(
        "0", "(1, 5, 'a'), (1, 6, 'b'), (2, 5, null), (3, 5, 'c'), (4, 5, 'd'), (5, 1, 'e'), (6, 5, 'f')"
    ))  # fmt: skip
    assert toy.build().success

    # recomputed tonight: 1 (same rows, other order), 2 (same, a null), 3 (changed), 4 (gone), 7 (new);
    # 5 is recomputed_where by its date only (its row goes, the model has none), 6 is not recomputed
    toy.model("kept", changed_keys_model(
        "1, 2, 3, 4, 7", "(1, 6, 'b'), (1, 5, 'a'), (2, 5, null), (3, 5, 'C'), (7, 5, 'g')"
    ))  # fmt: skip
    assert toy.build().success
    # in the table's order: the unchanged keys' rows were left where they were (not deleted and
    # inserted again, which would put them after key 6), the changed and new ones come last
    assert toy.rows("select k || ':' || coalesce(value, '-') from kept order by rowid") == [
        ("1:a",), ("1:b",), ("2:-",), ("6:f",), ("3:C",), ("7:g",),
    ]  # fmt: skip
    assert toy.rows("select count(*) from information_schema.tables") == [(1,)], "nothing left aside"

    toy.model("kept", changed_keys_model("1", "(1, 5, 'a'), (1, 5, 'a')"))  # a row twice: counted as such
    assert toy.build().success
    assert toy.rows("select k, value from kept where k = 1") == [(1, "a"), (1, "a")]


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ("materialized='table', grants={'select': ['analyst']}", "grants"),
        ("materialized='incremental', incremental_strategy='merge', unique_key='n'", "merge"),
        ("materialized='incremental', on_schema_change='sync_all_columns'", "sync_all_columns"),
        ("materialized='incremental', incremental_strategy='changed_keys', unique_key='n'", "recomputed_where"),
    ],
)
def test_an_option_the_materializations_do_not_support_stops_the_build_and_is_named(
    toy: ToyProject, config: str, named: str
) -> None:
    toy.model("numbers", "{{ config(" + config + ") }}\nselect 1 as n")
    result = toy.build()
    assert not result.success and named in failure_text(result)
    assert toy.rows("select count(*) from information_schema.tables") == [(0,)]
