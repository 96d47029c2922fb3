"""A night parses its dbt project while it ingests; the build then finds the parse saved."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from pipelines.core.build_plan import project_sha256
from pipelines.core.policy import policy
from pipelines.core.settings import DBT_PROJECT_DIR
from pipelines.transformation.dbt_parse_cache import (
    PARSE_CACHE_VARIABLE,
    PARTIAL_PARSE_FILE,
    cached_parse,
    project_of,
    saved_parse,
)
from pipelines.transformation.dbt_runner import (
    DbtInvocation,
    dbt_environment,
    parse_in_background,
    run_dbt,
    start_from_saved_parse,
    start_from_saved_parses,
    wait_for_background_parse,
)


def parse_events(invocation: DbtInvocation) -> list[str]:
    """The names of the events of one small dbt command (`ls`) with this invocation's arguments."""
    events: list[str] = []
    with dbt_environment(invocation.database):
        result = dbtRunner(callbacks=[lambda event: events.append(event.info.name)]).invoke(
            invocation.cli_args(("ls", "--select", "dim_members", "--quiet"))
        )
    assert result.success, result.exception
    return events


def test_the_parse_done_ahead_is_the_one_the_build_reuses(tmp_path: Path) -> None:
    invocation = DbtInvocation(
        database=tmp_path / "build" / "cps.duckdb", as_of=date(2026, 11, 20), artifacts_dir=tmp_path / "dbt"
    )
    parse_in_background(invocation)
    wait_for_background_parse()
    assert (tmp_path / "dbt" / "target" / "partial_parse.msgpack").is_file()

    # Another command with the night's arguments (its own target, logs and vars) finds the parse saved.
    events: list[str] = []
    build = DbtInvocation(database=invocation.database, as_of=invocation.as_of, artifacts_dir=invocation.artifacts_dir)
    with dbt_environment(build.database):
        result = dbtRunner(callbacks=[lambda event: events.append(event.info.name)]).invoke(
            build.cli_args(("ls", "--select", "dim_members", "--quiet"))
        )
    assert result.success, result.exception
    assert "UnableToPartialParse" not in events and "PartialParsingEnabled" in events, sorted(set(events))

    # A policy override is no var to dbt (it reaches the models through raw.run_context): same parse.
    events.clear()
    other = DbtInvocation(
        database=invocation.database, as_of=invocation.as_of, artifacts_dir=invocation.artifacts_dir,
        policy_overrides={"invitation_points": 400},
    )  # fmt: skip
    assert "--vars" not in other.cli_args(("build",))
    with dbt_environment(other.database):
        dbtRunner(callbacks=[lambda event: events.append(event.info.name)]).invoke(
            other.cli_args(("ls", "--select", "dim_members", "--quiet"))
        )
    assert "UnableToPartialParse" not in events and "PartialParsingEnabled" in events, sorted(set(events))


def test_a_copy_of_the_warehouse_elsewhere_starts_from_its_saved_parse(tmp_path: Path) -> None:
    """`cps docs`, `simulate`, `forecast --as-of`, `explain --as-of` and rebuilds work on copies in other
    folders: the parse saved for the warehouse serves them (only the file's path differs), but not a
    file of another name (DuckDB's catalog name, which the compiled SQL uses)."""
    night = date(2026, 11, 20)
    published = DbtInvocation(
        database=tmp_path / "wh" / "cps.duckdb", as_of=night, artifacts_dir=tmp_path / "wh" / ".dbt"
    )
    parse_in_background(published)
    wait_for_background_parse()

    copy = DbtInvocation(
        database=tmp_path / "scratch" / "cps.duckdb", as_of=night, artifacts_dir=tmp_path / "scratch" / "dbt"
    )
    start_from_saved_parse(published.artifacts_dir, copy.artifacts_dir)
    events = parse_events(copy)
    assert "UnableToPartialParse" not in events and "PartialParsingEnabled" in events, sorted(set(events))

    renamed = DbtInvocation(
        database=tmp_path / "renamed" / "other.duckdb", as_of=night, artifacts_dir=tmp_path / "renamed" / "dbt"
    )
    start_from_saved_parse(published.artifacts_dir, renamed.artifacts_dir)
    assert "UnableToPartialParse" in parse_events(renamed)


def test_relative_folders_are_taken_from_where_cps_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default warehouse path is relative (`data/warehouse/cps.duckdb`); dbt would take a relative
    target folder from its own project folder: scratch builds then wrote into the repository's dbt/
    and never found the parse they were started from."""
    monkeypatch.chdir(tmp_path)
    published = DbtInvocation(database=Path("wh/cps.duckdb"), as_of=date(2026, 11, 20), artifacts_dir=Path("wh/.dbt"))
    parse_in_background(published)
    wait_for_background_parse()
    assert (tmp_path / "wh" / ".dbt" / "target" / PARTIAL_PARSE_FILE).is_file()
    scratch = DbtInvocation(
        database=Path("wh/.scratch/cps.duckdb"), as_of=published.as_of, artifacts_dir=Path("wh/.scratch/dbt")
    )
    start_from_saved_parse(published.artifacts_dir, scratch.artifacts_dir)
    events = parse_events(scratch)
    assert "UnableToPartialParse" not in events and "PartialParsingEnabled" in events, sorted(set(events))
    assert not (DBT_PROJECT_DIR / "wh").exists()


def test_the_run_context_reaches_the_sql_as_literals_read_for_each_invocation(tmp_path: Path) -> None:
    """raw.run_context's values are written into the compiled SQL (DuckDB's optimizer sees them, the
    parse stays the same): a full night's nulls and an incremental night's dates, one after the other
    in one process, each compiled with its own."""
    compiled = tmp_path / "dbt" / "target" / "compiled" / "cps" / "models" / "membership" / "intermediate"
    for as_of, since, files_after in ((date(2026, 11, 20), None, None), (date(2026, 11, 21), date(2026, 11, 20), 7)):
        invocation = DbtInvocation(
            database=tmp_path / "build" / "cps.duckdb", as_of=as_of, artifacts_dir=tmp_path / "dbt",
            current_night=since, incremental_since=since, files_after=files_after,
        )  # fmt: skip
        run_dbt(invocation, ("compile", "--select", "int_registration_changes", "--quiet"))
        sql = (compiled / "int_registration_changes.sql").read_text(encoding="utf-8")
        assert "raw.run_context" not in sql
        assert f"date '{as_of.isoformat()}'" in sql
        if since is None:
            assert "cast(null as date) as since_night" in sql and "_file_id > cast(null as bigint)" in sql
        else:
            assert f"date '{since.isoformat()}' as since_night" in sql and "_file_id > cast(7 as bigint)" in sql


def test_policy_overrides_reach_the_sql_through_the_run_context_and_a_var_given_to_dbt_wins(tmp_path: Path) -> None:
    """A run's policy override (`cps simulate --set`) is compiled into the SQL without another parse;
    the shipped value without one; a var given to dbt itself (by hand, or a unit test's pin) over both."""
    compiled = tmp_path / "dbt" / "target" / "compiled" / "cps" / "models" / "reporting" / "marts"
    night = date(2026, 11, 20)

    def invitation_points(invocation: DbtInvocation, *extra: str) -> str:
        run_dbt(invocation, ("compile", "--select", "agg_marketing_figures", "--quiet", *extra))
        sql = (compiled / "agg_marketing_figures.sql").read_text(encoding="utf-8")
        return sql.split(" as invitation_points")[0].rsplit("cast(", 1)[1]

    shipped = DbtInvocation(database=tmp_path / "build" / "cps.duckdb", as_of=night, artifacts_dir=tmp_path / "dbt")
    overridden = replace(shipped, policy_overrides={"invitation_points": 400})
    assert invitation_points(overridden) == "400 as integer)"
    # the next run rewrites the row: an override never outlives its run
    assert invitation_points(shipped) == f"{policy()['invitation_points']} as integer)"
    assert invitation_points(overridden, "--vars", '{"invitation_points": 450}') == "450 as integer)"

    # dbt by hand on a warehouse whose run context predates the policy columns: the shipped values
    connection = duckdb.connect(str(shipped.database))
    connection.execute(
        "create or replace table raw.run_context as select date '2026-11-20' as as_of_date,"
        " null::date as current_night, null::date as incremental_since, null::bigint as files_after"
    )
    connection.close()
    with dbt_environment(shipped.database):
        result = dbtRunner().invoke(shipped.cli_args(("compile", "--select", "agg_marketing_figures", "--quiet")))
    assert result.success, result.exception
    sql = (compiled / "agg_marketing_figures.sql").read_text(encoding="utf-8")
    assert f"cast({policy()['invitation_points']} as integer) as invitation_points" in sql


def test_a_new_warehouse_starts_from_the_projects_cached_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first night of a new warehouse finds the parse an earlier warehouse's night kept (same project,
    same file name); dbt still checks it, and a cache it cannot read only costs a parse."""
    monkeypatch.setenv(PARSE_CACHE_VARIABLE, str(tmp_path / "cache"))
    night = date(2026, 11, 20)

    def invocation(folder: str, **extra: object) -> DbtInvocation:
        return DbtInvocation(
            database=tmp_path / folder / "cps.duckdb", as_of=night, artifacts_dir=tmp_path / folder / ".dbt", **extra
        )

    first = invocation("first")
    parse_in_background(first)
    wait_for_background_parse()
    cached = cached_parse(first.database, project_sha256())
    assert cached.read_bytes() == saved_parse(first.artifacts_dir).read_bytes()

    second = invocation("second")
    start_from_saved_parses(second)
    events = parse_events(second)
    assert "UnableToPartialParse" not in events and "PartialParsingEnabled" in events, sorted(set(events))

    # Policy overrides do not change the parse (raw.run_context carries them): the cache serves them too.
    overridden = invocation("overridden", policy_overrides={"invitation_points": 400})
    start_from_saved_parses(overridden)
    events = parse_events(overridden)
    assert "UnableToPartialParse" not in events and "PartialParsingEnabled" in events, sorted(set(events))

    # A damaged cache: dbt says so in its log and parses the whole project, as without a cache.
    cached.write_bytes(b"not a parse")
    damaged = invocation("damaged")
    start_from_saved_parses(damaged)
    assert saved_parse(damaged.artifacts_dir).read_bytes() == b"not a parse"
    parse_in_background(damaged)
    wait_for_background_parse()
    assert saved_parse(damaged.artifacts_dir).read_bytes() != b"not a parse"
    assert cached.read_bytes() == saved_parse(damaged.artifacts_dir).read_bytes()  # a good parse replaced it


def test_a_parse_saved_for_another_version_of_the_project_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt's own check of a saved parse misses some changes (a macro that models call in config()), so a
    parse serves only the project it was made from: after a deployment the first night parses in full."""
    monkeypatch.setenv(PARSE_CACHE_VARIABLE, str(tmp_path / "cache"))
    night = date(2026, 11, 20)
    published = DbtInvocation(
        database=tmp_path / "wh" / "cps.duckdb", as_of=night, artifacts_dir=tmp_path / "wh" / ".dbt"
    )
    parse_in_background(published)
    wait_for_background_parse()
    saved = saved_parse(published.artifacts_dir)
    assert project_of(saved).read_text(encoding="utf-8") == project_sha256()

    # The same parse as if made from another version of the project: dropped, dbt parses in full.
    project_of(saved).write_text("0" * 64, encoding="utf-8")
    copy = DbtInvocation(
        database=tmp_path / "copy" / "cps.duckdb", as_of=night, artifacts_dir=tmp_path / "copy" / "dbt"
    )
    start_from_saved_parse(published.artifacts_dir, copy.artifacts_dir)
    assert not saved_parse(copy.artifacts_dir).exists()
    start_from_saved_parses(published)  # also the cache's parse is of the project as it is: taken instead
    assert project_of(saved).read_text(encoding="utf-8") == project_sha256()
    project_of(saved).unlink()  # a parse that names no project (saved by an earlier version of cps)
    (tmp_path / "cache").rename(tmp_path / "no cache")
    start_from_saved_parses(published)
    assert not saved.exists()
    events = parse_events(published)
    assert "UnableToPartialParse" in events, sorted(set(events))
