"""Running the dbt project against one DuckDB file for one run date."""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.build_plan import project_sha256
from pipelines.core.errors import CpsError, QualityGateFailed
from pipelines.core.files import copy_large_file
from pipelines.core.policy import policy
from pipelines.core.settings import DBT_PROJECT_DIR, dbt_artifacts_dir
from pipelines.core.warehouse import MEMORY_LIMIT_VARIABLE, connect, memory_limit
from pipelines.transformation.dbt_parse_cache import (
    drop_stale_parse,
    keep_in_cache,
    record_project,
    saved_parse,
    start_from,
    start_from_cache,
)
from pipelines.transformation.dbt_schedule import schedule_by_critical_path

READ_ONLY_TARGET = "warehouse_read_only"  # dbt/profiles.yml: the same database, opened read-only


@dataclass(frozen=True)
class DbtInvocation:
    """What dbt needs to know: which file to build, as of which night, where artifacts go.

    current_night: the night the published warehouse shows (None before the first night), so that
    the ledgers tell a backfill from a re-run. policy_overrides: policy values other than the project's
    (`cps simulate --set`, tests); none on an ordinary night. They reach the models through
    raw.run_context, like the dates, so dbt keeps its parse (see record_run_context).
    """

    database: Path
    as_of: date
    artifacts_dir: Path
    policy_overrides: dict[str, Any] = field(default_factory=dict)
    current_night: date | None = None
    full_refresh: bool = False  # incremental models rebuild from all records
    # An incremental night (see pipelines/core/build_plan.py): the night C whose stored rows it builds on,
    # and the highest raw file id C was built with. None: every incremental model recomputes every row.
    incremental_since: date | None = None
    files_after: int | None = None
    read_only: bool = False  # the profile's read-only target: for commands that only read (run_dbt_read_only)
    # A scratch build's dbt starts from the saved parse in these artifacts (the published warehouse's):
    # dbt checks it against the project and parses only what changed (dbt_parse_key.py says why it fits).
    saved_parse_from: Path | None = None

    def cli_args(self, command: Sequence[str]) -> list[str]:
        """Both dates and the policy overrides reach the models through raw.run_context (see
        record_run_context), never as vars: other vars would make dbt parse the whole project again (~6 s)."""
        target = ["--target", READ_ONLY_TARGET] if self.read_only else []
        refresh = ["--full-refresh"] if self.full_refresh and command[:1] and command[0] in ("build", "run") else []
        return [
            *command,
            *refresh,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            # absolute: dbt takes a relative path from its project folder, not from where cps runs
            "--target-path",
            str((self.artifacts_dir / "target").resolve()),
            "--log-path",
            str((self.artifacts_dir / "logs").resolve()),
            # dbt.log at debug level is a line (opened, checked for rotation, flushed) per SQL
            # statement and event: ~10 ms a node, seconds a night. Its info lines reach the run log
            # (DbtProgress); the file keeps warnings and errors.
            "--log-level-file",
            "warn",
            # Nothing of dbt's on the console (not even --quiet's errors and tracebacks, e.g. after
            # Ctrl-C): its messages reach the run log through DbtProgress, and a failure is one line.
            "--log-level",
            "none",
            *target,
        ]


def record_run_context(
    database: Path,
    as_of: date,
    current_night: date | None = None,
    incremental_since: date | None = None,
    files_after: int | None = None,
    policy_overrides: Mapping[str, Any] | None = None,
) -> None:
    """Write D and the current night into raw.run_context, the one-row table the as_of_date() and
    current_night() macros read; with them, what an incremental night builds on (incremental_since()
    and files_after(), null on a full rebuild), and the run's policy overrides with the shipped
    values they replace (the policy_value() macro; JSON objects).

    Passed as vars instead, new dates every night, or a simulated policy, would make dbt parse the
    whole project again (~6 s): dbt keeps its parse only while vars stay the same.
    """
    overrides = dict(policy_overrides or {})
    shipped = {name: value for name, value in policy().items() if name in overrides}
    connection = connect(database)
    try:
        connection.execute("create schema if not exists raw")
        connection.execute(
            "create or replace table raw.run_context (as_of_date date not null, current_night date,"
            " incremental_since date, files_after bigint, policy_overrides varchar not null,"
            " policy_shipped varchar not null)"
        )
        connection.execute(
            "insert into raw.run_context values (?, ?, ?, ?, ?, ?)",
            [as_of, current_night, incremental_since, files_after, json.dumps(overrides), json.dumps(shipped)],
        )
    finally:
        connection.close()


DBT_THREADS_VARIABLE = "CPS_DBT_THREADS"  # read by dbt's profile (dbt/profiles.yml)


def apply_dbt_threads(threads: int) -> None:
    """Make `threads` (Settings.dbt_threads) the number of nodes every later dbt run builds at once."""
    os.environ[DBT_THREADS_VARIABLE] = str(threads)


@contextmanager
def dbt_environment(database: Path) -> Iterator[None]:
    """Point the profile at `database` for the duration of one dbt invocation."""
    from pipelines.transformation.dbt_adjustments import adjust_dbt

    adjust_dbt()
    previous = os.environ.get("CPS_DBT_DATABASE")
    os.environ["CPS_DBT_DATABASE"] = str(database.resolve())
    os.environ.setdefault(MEMORY_LIMIT_VARIABLE, memory_limit())  # the profile's memory_limit
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("CPS_DBT_DATABASE", None)
        else:
            os.environ["CPS_DBT_DATABASE"] = previous


def failed_nodes(result: Any, database: Path | None = None) -> list[str]:
    """Names and messages of the dbt nodes that errored or failed (with `database`, what a failed
    row_checks test found)."""
    failures: list[str] = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result, "status", "")).lower()
        if status in {"error", "fail", "runtimeerror"}:
            # The first line says which node; the second, for database errors, says why.
            lines = [line.strip() for line in (getattr(node_result, "message", "") or "").splitlines() if line.strip()]
            if status == "fail" and database is not None and (found := failed_checks(database, node_result.node)):
                lines = [*lines[:1], found]
            failures.append(f"{node_result.node.name}: {' | '.join(lines[:2]) if lines else status}")
    return failures


def failed_checks(database: Path, node: Any) -> str:
    """What a failed row_checks test found, from its failing rows: "null in email (3 rows), ...".

    dbt's own message only counts failing rows (here: failed checks); one test per model checks
    all its rows, so the checks that failed are named here. Empty for any other test.
    """
    if getattr(getattr(node, "test_metadata", None), "name", None) != "row_checks":
        return ""
    compiled = getattr(node, "compiled_code", None)
    if not compiled:
        return ""
    try:
        connection = connect(database, read_only=True)
        try:
            rows = connection.execute(compiled).fetchall()
        finally:
            connection.close()
    except duckdb.Error:
        return ""  # dbt's own message still names the model's test
    return ", ".join(f"{check} ({count} row{'' if count == 1 else 's'})" for check, count in rows)


def release_dbt_database() -> None:
    """Close the DuckDB file that dbt-duckdb keeps open in-process after a command.

    Without this the file stays locked by this process (other processes cannot open it,
    and it cannot be safely renamed into place by the publishing step).
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if environment is not None:
        environment.close()
    gc.collect()


def failed_tests_only(result: Any) -> bool:
    """True when dbt failed because data tests failed, and no model, seed or snapshot errored."""
    failed = [
        node_result
        for node_result in getattr(result.result, "results", None) or []
        if str(getattr(node_result, "status", "")).lower() in {"error", "fail", "runtimeerror"}
    ]
    return bool(failed) and all(str(getattr(r.node, "resource_type", "")).lower().endswith("test") for r in failed)


def raise_for_failure(result: Any, command: Sequence[str], database: Path | None = None) -> None:
    """A failed data test is a failed check (QualityGateFailed, exit 3); anything else a failed step (exit 1).

    database: the file dbt built (released), to read what a failed row_checks test found."""
    if isinstance(result.exception, KeyboardInterrupt):  # dbt cancelled its queries and handed Ctrl-C back
        raise KeyboardInterrupt
    if not result.success:
        failures = failed_nodes(result, database)
        detail = "; ".join(failures[:3]) if failures else str(result.exception)
        more = f" (+{len(failures) - 3} more)" if len(failures) > 3 else ""
        if failed_tests_only(result):
            raise QualityGateFailed(
                f"dbt check failed: {detail}{more}; nothing was published, the previous night stays"
            )
        raise CpsError(f"dbt {' '.join(command)} failed: {detail}{more}")


_background_parse: threading.Thread | None = None
# The background parse's manifest, with the arguments it was parsed for (manifest_key): the next command
# with the same arguments runs on it instead of loading dbt's saved parse again (~0.4 s at night). Used
# once, as the command compiles into it; the compiled one is then kept for dbt docs (compiled_manifest).
_parsed_manifest: tuple[tuple[str, ...], Any] | None = None
_compiled_manifest: tuple[tuple[str, ...], Any] | None = None


def manifest_key(invocation: DbtInvocation) -> tuple[str, ...]:
    """What dbt's parse of the project depends on: the database the profile points at (dbt hashes the
    profile), the project, the target folder and the vars."""
    read_write = replace(invocation, read_only=False)
    return (str(read_write.database.resolve()), *read_write.cli_args(("parse",)))


def parse_in_background(invocation: DbtInvocation) -> None:
    """dbt's parse of the project for the night's build, in a thread, while the night ingests.

    Without a saved parse (a new warehouse, or the project changed) dbt parses every model, macro
    and test again: ~6 s of Python at the start of the build. The ingestion is DuckDB's work and
    leaves the interpreter mostly idle, so the parse is done then, into the build's own artifacts
    folder with the build's own arguments; the build finds it saved (dbt's partial parsing) and
    only checks it. The next dbt command waits for this one (wait_for_background_parse): dbt keeps
    process-wide state and runs one command at a time. A failed parse is only logged: the build
    parses again and reports what is wrong.
    """
    global _background_parse, _parsed_manifest
    wait_for_background_parse()
    _parsed_manifest = None

    def parse() -> None:
        global _parsed_manifest
        from dbt.cli.main import dbtRunner

        try:
            invocation.artifacts_dir.mkdir(parents=True, exist_ok=True)
            start_from_saved_parses(invocation)
            with dbt_environment(invocation.database):
                # no console output (cli_args): the build says what is wrong, once. No manifest.json
                # (~0.2 s): the build writes it, compiled, when it ends.
                result = dbtRunner().invoke(invocation.cli_args(("parse", "--no-write-json")))
            if result.success:
                _parsed_manifest = (manifest_key(invocation), result.result)
                keep_parse(invocation)
            else:
                logging.getLogger(__name__).info("dbt parse ahead of the build failed: %s", result.exception)
        except Exception:  # noqa: BLE001  (the build parses again and says what is wrong)
            logging.getLogger(__name__).exception("dbt parse ahead of the build failed")

    _background_parse = threading.Thread(target=parse, name="dbt-parse", daemon=True)
    _background_parse.start()


def wait_for_background_parse() -> None:
    global _background_parse
    if _background_parse is not None:
        _background_parse.join()
        _background_parse = None


def take_parsed_manifest(invocation: DbtInvocation) -> Any | None:
    """The background parse's manifest if it was parsed for this invocation's arguments, else None (dbt
    then loads its saved parse itself). Handed out once: the command compiles into it."""
    global _parsed_manifest
    wait_for_background_parse()
    parsed, _parsed_manifest = _parsed_manifest, None
    return parsed[1] if parsed is not None and parsed[0] == manifest_key(invocation) else None


def compiled_manifest(invocation: DbtInvocation) -> Any | None:
    """The manifest the last dbt command of this process compiled (the night's build), if that command
    ran on the background parse's manifest with this invocation's arguments; else None."""
    if _compiled_manifest is not None and _compiled_manifest[0] == manifest_key(invocation):
        return _compiled_manifest[1]
    return None


def prepare_run(invocation: DbtInvocation) -> None:
    """The artifacts folder, the night's run context and dbt's node order, before either way of running dbt."""
    global _compiled_manifest
    wait_for_background_parse()
    _compiled_manifest = None  # a command is about to run: what an earlier one compiled is stale
    invocation.artifacts_dir.mkdir(parents=True, exist_ok=True)
    start_from_saved_parses(invocation)
    schedule_by_critical_path(invocation.artifacts_dir / "target")
    record_run_context(
        invocation.database,
        invocation.as_of,
        invocation.current_night,
        invocation.incremental_since,
        invocation.files_after,
        invocation.policy_overrides,
    )


def scratch_invocation(
    warehouse: Path, scratch_dir: Path, as_of: date, policy_overrides: dict[str, Any] | None = None
) -> DbtInvocation:
    """dbt on a throw-away copy of `warehouse` in scratch_dir (`cps docs`, `simulate`, `forecast --as-of`,
    `explain --as-of`): the published file is only read, and dbt starts from its saved parse."""
    scratch_dir.mkdir(parents=True, exist_ok=True)
    copy = scratch_dir / warehouse.name  # the same name: DuckDB's catalog name, as in the published file
    copy_large_file(warehouse, copy)
    return DbtInvocation(
        database=copy,
        as_of=as_of,
        artifacts_dir=scratch_dir / "dbt",
        policy_overrides=dict(policy_overrides or {}),
        saved_parse_from=dbt_artifacts_dir(warehouse),
    )


def start_from_saved_parse(saved_in: Path, artifacts_dir: Path) -> None:
    """Copy dbt's saved parse from one artifacts folder into another that has none, if it was made from the
    project as it is. A copy taken while a night rewrites it may be torn: dbt then fails to read it, says
    so in its log, and parses anew."""
    start_from(saved_parse(saved_in), artifacts_dir, project_sha256())


def start_from_saved_parses(invocation: DbtInvocation) -> None:
    """A saved parse of another version of the project is dropped (dbt_parse_cache.py); an artifacts folder
    without one starts from the one it is given (a scratch copy's: the published warehouse's), else from
    the project's cached one. Not for other vars: their parse is another project to dbt."""
    project = project_sha256()
    drop_stale_parse(invocation.artifacts_dir, project)
    if invocation.saved_parse_from is not None:
        start_from(saved_parse(invocation.saved_parse_from), invocation.artifacts_dir, project)
    if not invocation.read_only:
        start_from_cache(invocation.database, invocation.artifacts_dir, project)


def keep_parse(invocation: DbtInvocation) -> None:
    """After a dbt command that succeeded: its saved parse is of the project as it is (a stale one was
    dropped before it ran), and with the shipped policy it serves the next new warehouse."""
    project = project_sha256()
    record_project(invocation.artifacts_dir, project)
    if not invocation.read_only:
        keep_in_cache(invocation.database, invocation.artifacts_dir, project)


def _invoke(invocation: DbtInvocation, command: Sequence[str], manifest: Any | None) -> Any:
    """One dbt command in-process on `manifest` (None: dbt loads its parse), the database released after."""
    from dbt.cli.main import dbtRunner

    from pipelines.transformation.dbt_progress import DbtProgress
    from pipelines.transformation.dbt_templates import save_compiled_templates

    try:
        with dbt_environment(invocation.database):
            runner = dbtRunner(manifest=manifest, callbacks=[DbtProgress(f"dbt {command[0]}")])
            return runner.invoke(invocation.cli_args(command))
    finally:
        release_dbt_database()
        save_compiled_templates()  # for the next process (dbt_templates)


def run_dbt(invocation: DbtInvocation, command: Sequence[str] = ("build",)) -> Any:
    """Run one dbt command in-process; raise CpsError with the failing nodes if it fails."""
    global _compiled_manifest
    prepare_run(invocation)
    manifest = take_parsed_manifest(invocation)
    result = _invoke(invocation, command, manifest)
    raise_for_failure(result, command, invocation.database)
    keep_parse(invocation)
    if manifest is not None:
        _compiled_manifest = (manifest_key(invocation), manifest)
    return result


def run_dbt_read_only(invocation: DbtInvocation, command: Sequence[str], manifest: Any) -> Any:
    """A command that only reads the database (dbt docs generate --no-compile), with a manifest dbt
    already has (compiled_manifest): on the profile's read-only target, so that other processes may read
    the file meanwhile (the night's quality gate). No parse (a read-only profile is another profile to
    dbt, which would parse the whole project again), and no run context written."""
    invocation = replace(invocation, read_only=True)
    invocation.artifacts_dir.mkdir(parents=True, exist_ok=True)
    result = _invoke(invocation, command, manifest)
    raise_for_failure(result, command)
    return result
