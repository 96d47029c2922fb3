"""Helpers for end-to-end tests of the nightly run: a generated inbox, CLI subprocesses, table fingerprints."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.core.warehouse import connect

# Tables whose content legitimately differs between two runs of the same night (run timestamps).
VOLATILE_COLUMNS = {"run_at", "loaded_at", "validated_at", "generated_at"}


@dataclass(frozen=True)
class NightPaths:
    inbox: Path
    warehouse: Path
    reports: Path
    prefect_home: Path

    def cli_args(self, as_of: str) -> list[str]:
        return [
            "nightly",
            "--as-of",
            as_of,
            "--inbox",
            str(self.inbox),
            "--warehouse",
            str(self.warehouse),
            "--reports",
            str(self.reports),
        ]


@dataclass(frozen=True)
class PublishedNight:
    """A night that ran to the end: where it is, the `cps` process's output and its tables' fingerprints."""

    paths: NightPaths
    night: date
    result: subprocess.CompletedProcess[str]
    fingerprints: dict[str, str]


def run_night_in_process(paths: NightPaths, night: date, catalog: Path | None = None, **options: Any) -> Any:
    """The night's steps for `night` in this process, without Prefect (as `cps nightly` runs them when
    no Prefect server is configured); its NightSummary.

    For tests about what nights compute: no `cps` start-up to pay. Errors raise as CpsError subclasses.
    `options` are further Settings fields (e.g. full_refresh, policy_overrides).
    """
    from pipelines.core.settings import Settings
    from pipelines.flows.nightly import run_nightly

    settings = Settings(
        inbox=paths.inbox,
        warehouse=paths.warehouse,
        reports=paths.reports,
        as_of=night,
        dbt_node_tasks=False,
        **({"catalog": catalog} if catalog is not None else {}),
        **options,
    )
    return run_nightly(settings, prefect=False)


def night_paths(root: Path, inbox: Path) -> NightPaths:
    return NightPaths(
        inbox=inbox,
        warehouse=root / "warehouse" / "cps.duckdb",
        reports=root / "reports",
        prefect_home=root / "prefect",
    )


def cli_environment(
    prefect_home: Path,
    dbt_node_tasks: bool = False,
    api_url: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """A clean environment for a `cps` subprocess with its own Prefect home (and server, if given: else
    the night runs without Prefect). `extra`: further variables (CPS_* settings).

    dbt nodes as Prefect tasks cost time on a server; only the serve test and the session's first
    night ask for them (they need a server). Progress lines are printed although the output is captured
    (CPS_PROGRESS=always): tests follow a night by them; `extra` can set it back to auto.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CPS_", "PREFECT_API"))}
    env["PREFECT_HOME"] = str(prefect_home)
    env["CPS_PROGRESS"] = "always"
    env["CPS_LOGS"] = str(prefect_home.parent / "logs")  # run logs beside the test's other files
    if dbt_node_tasks:
        env["CPS_DBT_NODE_TASKS"] = "true"
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return {**env, **(extra or {})}


def start_cli(args: list[str], prefect_home: Path, api_url: str | None = None) -> subprocess.Popen[str]:
    """`cps ...` in its own process group, so a kill takes its helpers (e.g. Prefect's server) too."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args],
        env=cli_environment(prefect_home, api_url=api_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def run_cli(
    args: list[str],
    prefect_home: Path,
    timeout: float = 600,
    dbt_node_tasks: bool = False,
    api_url: str | None = None,
    cwd: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=cwd,
        env=cli_environment(prefect_home, dbt_node_tasks, api_url, extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def kill_when(process: subprocess.Popen[str], marker: str, delay: float, timeout: float = 600) -> str:
    """Read the process's output until `marker` appears, wait `delay`, then SIGKILL its whole group."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            time.sleep(delay)
            break
        if time.monotonic() > deadline:
            break
    else:
        raise AssertionError(f"the run ended before {marker!r}:\n{''.join(seen)}")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    return "".join(seen)


def table_fingerprints(warehouse: Path, schema: str = "marts") -> dict[str, str]:
    """A checksum of every table's sorted content (volatile timestamp columns left out)."""
    connection = connect(warehouse, read_only=True)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
            ).fetchall()
        ]
        fingerprints = {}
        for table in tables:
            columns = [
                row[0]
                for row in connection.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if row[0] not in VOLATILE_COLUMNS
            ]
            column_list = ", ".join(f'"{column}"' for column in columns)
            rows = connection.execute(f'select {column_list} from {schema}."{table}" order by all').fetchall()
            fingerprints[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return fingerprints
    finally:
        connection.close()


def check_night_artifacts(api: str, data: Path) -> None:
    """The current night's summary is on its Prefect flow run: figures as published, a link to the reports."""
    connection = connect(data / "warehouse" / "cps.duckdb", read_only=True)
    try:
        night = str(connection.execute("select max(as_of_date) from marts.dim_members").fetchone()[0])
        published = dict(connection.execute("select level, count(*) from marts.dim_members group by 1").fetchall())
    finally:
        connection.close()
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pipelines.flows.artifacts import FIGURES_KEY, SUMMARY_KEY

    index = (data / "reports" / night / "index.html").resolve().as_uri()
    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        summaries = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[SUMMARY_KEY])))
        ours = sorted((a for a in summaries if index in str(a.data)), key=lambda artifact: artifact.created)
        assert ours, [str(artifact.data)[:200] for artifact in summaries]
        summary = ours[-1]  # the night's last run (the README re-runs tonight)
        assert summary.type == "markdown" and f"# CPS night {night}: published" in str(summary.data)
        flow_run = client.read_flow_run(summary.flow_run_id)
        assert client.read_flow(flow_run.flow_id).name == "cps-nightly"
        tables = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[FIGURES_KEY])), limit=200
        )
        table = next(artifact for artifact in tables if artifact.flow_run_id == summary.flow_run_id)
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    figures = {row["figure"]: row["value"] for row in rows}
    assert published and all(figures[f"members {level}"] == f"{count:,}" for level, count in published.items())
    assert figures["night"] == night
