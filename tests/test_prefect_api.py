"""Whether a night reports to Prefect: a configured server, a temporary one asked for, or none.

Without a server a night runs its steps directly (tests/test_nightly.py runs most nights that way and
compares their tables with a night run as a Prefect flow run with dbt's nodes as tasks).
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import psutil
import pytest

from pipelines.core.settings import Settings
from pipelines.flows.prefect_api import (
    prefect_api_configured,
    reports_to_prefect,
    start_temporary_api,
    temporary_api_in_use,
)
from tests.nightly_helpers import night_paths, run_cli

NIGHT = date(2026, 11, 20)


def test_a_temporary_server_asked_for_records_the_night_as_a_flow_run_and_stops(
    tiny_inbox: Path, tmp_path: Path
) -> None:
    paths = night_paths(tmp_path, tiny_inbox)
    result = run_cli(
        paths.cli_args(NIGHT.isoformat()), paths.prefect_home, extra_env={"CPS_PREFECT_TEMPORARY_SERVER": "true"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Night {NIGHT} published" in result.stdout
    assert "starting Prefect" in result.stderr
    # The flow run and its steps' task runs are in the temporary server's database, in PREFECT_HOME.
    database = sqlite3.connect(paths.prefect_home / "prefect.db")
    try:
        flow_runs = database.execute(
            "select flow.name, flow_run.state_type from flow_run join flow on flow.id = flow_run.flow_id"
        ).fetchall()
        task_runs = {row[0] for row in database.execute("select name from task_run").fetchall()}
    finally:
        database.close()
    assert ("cps-nightly", "COMPLETED") in flow_runs
    assert ("ingest-all", "COMPLETED") in flow_runs
    assert any(name.startswith("quality gate") for name in task_runs)
    assert any(name.startswith("load members/") for name in task_runs)
    # Nobody watches a temporary server's UI: dbt ran as one step, not a task per node.
    assert not any(name.startswith("dbt ") for name in task_runs)
    # The server (a child of `cps`) is gone once `cps` has ended.
    assert servers_using(paths.prefect_home) == []


def servers_using(prefect_home: Path) -> list[int]:
    """Running (not zombie) Prefect server processes whose PREFECT_HOME is this one."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        try:
            if "create_app" not in " ".join(process.info["cmdline"] or []):
                continue
            if process.info["status"] != psutil.STATUS_ZOMBIE and process.environ().get("PREFECT_HOME") == str(
                prefect_home
            ):
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def test_dbt_nodes_as_tasks_without_any_server_is_wrong_usage(tiny_inbox: Path, tmp_path: Path) -> None:
    paths = night_paths(tmp_path, tiny_inbox)
    result = run_cli(paths.cli_args(NIGHT.isoformat()), paths.prefect_home, dbt_node_tasks=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("cps: CPS_DBT_NODE_TASKS=true") and "PREFECT_API_URL" in line
    assert not paths.warehouse.exists()


def test_a_configured_api_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert prefect_api_configured() and reports_to_prefect(temporary_server=False)
    assert start_temporary_api() is None
    assert not temporary_api_in_use()
    from pipelines.flows.nightly import dbt_node_tasks

    # Outside a flow run there is no run for dbt's nodes to be tasks of (the night itself is the flow
    # run when a server is configured; tests/conftest.py's tiny_night runs one with node tasks).
    assert dbt_node_tasks(Settings(dbt_node_tasks=True)) is False


def test_without_a_server_a_night_reports_to_prefect_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert not prefect_api_configured()
        assert not reports_to_prefect(temporary_server=False)
        assert reports_to_prefect(temporary_server=True)
