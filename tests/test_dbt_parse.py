"""A night parses its dbt project while it ingests; the build then finds the parse saved."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dbt.cli.main import dbtRunner

from pipelines.transformation.dbt_runner import (
    DbtInvocation,
    dbt_environment,
    parse_in_background,
    wait_for_background_parse,
)


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

    # Other vars (a policy override) are another project to dbt: parsed again, as it must be.
    events.clear()
    other = DbtInvocation(
        database=invocation.database, as_of=invocation.as_of, artifacts_dir=invocation.artifacts_dir,
        extra_vars={"invitation_points": 400},
    )  # fmt: skip
    with dbt_environment(other.database):
        dbtRunner(callbacks=[lambda event: events.append(event.info.name)]).invoke(
            other.cli_args(("ls", "--select", "dim_members", "--quiet"))
        )
    assert "UnableToPartialParse" in events
