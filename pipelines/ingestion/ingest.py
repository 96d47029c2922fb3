"""Ingestion flows: the catalogue and the inbox into the warehouse's raw tables.

`ingest_all` loads the catalogue (products, service centres) and then members, registrations and
service jobs; `ingest_source` loads one source. Each file is its own step (a Prefect task inside a
flow run, see pipelines.core.orchestration), so progress shows file by file; inbox files load
LOAD_WORKERS at a time (DuckDB reads one file with both cores, but a Parquet file of one row group or
a commit leaves a core idle). Every step opens its own DuckDB connection and closes it before it
returns (the nightly run renames the database file afterwards).

What happens to a file (decided here, tested in tests/test_ingest.py):
- content (sha256) this source loaded before: skipped, whatever the file's name. Rejected content is
  not "loaded before": a rejected file left in the inbox is read and rejected again on every run, and
  fails each night (unless --accept-rejected) until it is fixed or removed: never skipped in silence;
- a header row and no data rows: a valid file of 0 rows (loaded); blank lines are not rows;
- an empty file (0 bytes), a file that is not UTF-8, not CSV or not Parquet, a line with the wrong number
  of fields, or a header without every required column (names must match exactly): rejected as a whole,
  with the reason in raw.file_ledger.error, and the other files go on;
- columns the source does not know are ignored (they stay in the quarantined record);
- a row that breaks the schema goes to raw.quarantine with its reasons; the rest of the file loads.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.errors import CpsError, InputRejected
from pipelines.core.orchestration import is_future, run_logger, step, subflow, wait_all
from pipelines.core.policy import policy
from pipelines.core.runlog import PROGRESS
from pipelines.core.sources import ALL_SOURCES, INBOX_SOURCES, REFERENCE_SOURCES, SOURCES_BY_NAME, Source
from pipelines.core.warehouse import connect
from pipelines.ingestion.files import file_sha256, ignored_files, inbox_strays, source_files
from pipelines.ingestion.load import (
    FileResult,
    create_raw_tables,
    ignore_file,
    ingest_reference_file,
    next_file_id,
    read_or_reject,
    reconciliation_gaps,
    record_catalog_snapshot,
    seen_contents,
    seen_unchanged_files,
)

# Inbox files loading at once: two, for two cores (more would only hold more files in memory).
LOAD_WORKERS = 2
SOURCE_FOLDERS = ", ".join(f"{source.name}/" for source in INBOX_SOURCES)

__all__ = ["FileResult", "IngestSummary", "ingest_all", "ingest_source", "reconcile", "rejection_message"]


@dataclass
class IngestSummary:
    """Per-file results of an ingestion, and their totals."""

    files: list[FileResult] = field(default_factory=list)

    def _count(self, status: str) -> int:
        return sum(1 for result in self.files if result.status == status)

    @property
    def files_loaded(self) -> int:
        return self._count("loaded")

    @property
    def files_skipped(self) -> int:
        return self._count("skipped")

    @property
    def files_rejected(self) -> int:
        return self._count("rejected")

    @property
    def files_ignored(self) -> int:
        return self._count("ignored")

    @property
    def rejected(self) -> list[FileResult]:
        return [result for result in self.files if result.status == "rejected"]

    @property
    def rows_read(self) -> int:
        return sum(result.rows_read for result in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(result.rows_loaded for result in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(result.rows_quarantined for result in self.files)

    def for_source(self, source_name: str) -> IngestSummary:
        return IngestSummary([result for result in self.files if result.source == source_name])

    def render(self) -> str:
        """A few lines: per source, files loaded/skipped/rejected/ignored and rows read/loaded/quarantined.

        Rows are counted for the files that were read; a rejected file's rows are unknown.
        """
        lines = []
        for source in ALL_SOURCES:
            part = self.for_source(source.name)
            if part.files:
                lines.append(
                    f"{source.name}: files {part.files_loaded} loaded, {part.files_skipped} already loaded, "
                    f"{part.files_rejected} rejected, {part.files_ignored} ignored; rows of the files read: "
                    f"{part.rows_read:,} read, {part.rows_loaded:,} loaded, {part.rows_quarantined:,} quarantined"
                )
        lines.extend(f"REJECTED {r.source}/{r.file_name}: {r.error} (rows unknown)" for r in self.rejected)
        lines.extend(
            f"WARNING ignored {r.source}/{r.file_name}: {r.error}" for r in self.files if r.status == "ignored"
        )
        return "\n".join(lines) or "no files"


def rejection_message(rejected: list[FileResult]) -> str:
    """The one line a night that rejected inbox files fails with: the first file, its reason, what to do."""
    first = rejected[0]
    more = f" (and {len(rejected) - 1} more rejected file(s), listed in the run's log)" if len(rejected) > 1 else ""
    return (
        f"rejected inbox file {first.source}/{first.file_name}: {first.error}{more}; "
        "fix or remove it and run again, or pass --accept-rejected"
    )


def open_warehouse(database: Path) -> duckdb.DuckDBPyConnection:
    """A connection for ingestion; DuckDB's progress bar would clutter the operator's terminal.

    Unordered: loads number their rows themselves (_row_number), so DuckDB need not keep the
    insertion order, which holds rows in memory while two files load at once.
    """
    connection = connect(database, ordered=False)
    connection.execute("set enable_progress_bar = false")
    return connection


def reconcile(database: Path) -> int:
    """Prove that every file's rows are either loaded or quarantined; raise CpsError if not.

    Returns the number of files checked.
    """
    connection = open_warehouse(database)
    try:
        gaps = reconciliation_gaps(connection)
        files = int(connection.execute("select count(*) from raw.reconciliation").fetchone()[0])
    finally:
        connection.close()
    if gaps:
        raise CpsError(f"ingestion does not reconcile for {len(gaps)} file(s): {'; '.join(gaps[:3])}")
    return files


def policy_max_quarantined_share() -> float:
    return float(policy()["max_quarantined_share"])


@contextmanager
def warehouse_held_open(database: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """One connection held open for the whole ingestion, with the raw tables, ledger, quarantine and
    reconciliation view created if they are not there yet, and handed to the caller.

    The file tasks open connections of their own; while this one is open they share its database (opening
    one costs nothing) and closing one does not checkpoint the file: the warehouse is written out once,
    when this connection closes at the end.
    """
    connection = open_warehouse(database)
    try:
        create_raw_tables(connection, ALL_SOURCES)
        yield connection
    finally:
        connection.close()


@step(name="load-file", task_run_name="load {source_name}/{path.name}")
def load_file_task(
    source_name: str,
    path: Path,
    database: Path,
    as_of: date | None = None,
    max_share: float = 0.0,
    sha256: str | None = None,
    file_id: int | None = None,
) -> FileResult:
    """Load (or reject) one file: a catalogue file as tonight's snapshot, an inbox file as planned.

    An inbox file comes with its content hash and the ledger id it gets (plan_source decided that it is new).
    """
    started = time.perf_counter()
    source = SOURCES_BY_NAME[source_name]
    connection = open_warehouse(database)
    try:
        if source.reference:
            result = ingest_reference_file(connection, source, path, as_of)
        else:
            result = read_or_reject(connection, source, path, sha256 or file_sha256(path), max_share, as_of, file_id)
    finally:
        connection.close()
    PROGRESS.info(
        "ingest %s/%s %s: %s rows, %s quarantined %.1f s",
        source_name,
        path.name,
        result.status,
        f"{result.rows_read:,}",
        f"{result.rows_quarantined:,}",
        time.perf_counter() - started,
    )
    logger = run_logger()
    if result.status == "rejected":
        logger.warning("rejected %s/%s: %s", source_name, path.name, result.error)
    elif result.status == "skipped":
        logger.info("skipped %s/%s: %s", source_name, path.name, result.error)
    else:
        logger.info(
            "loaded %s/%s as file %s: %s rows read, %s loaded, %s quarantined",
            source_name,
            path.name,
            result.file_id,
            f"{result.rows_read:,}",
            f"{result.rows_loaded:,}",
            f"{result.rows_quarantined:,}",
        )
    return result


def _unchanged(
    connection: duckdb.DuckDBPyConnection, source: Source, folders: dict[str, list[Path]]
) -> Iterator[tuple[Path, FileResult]]:
    """The source's files the ledger saw at the same path and size, not modified since: skipped unhashed."""
    for path, (file_id, status) in seen_unchanged_files(connection, source, folders[source.name]).items():
        yield path, FileResult(source.name, path.name, "skipped", error=f"already {status} as file {file_id}")


def ingest_inbox_sources(
    sources: tuple[Source, ...],
    inbox: Path,
    connection: duckdb.DuckDBPyConnection,
    database: Path,
    as_of: date | None,
    max_share: float,
) -> list[FileResult]:
    """Load the new files of these inbox sources, up to LOAD_WORKERS at a time; results in source and file order.

    Decided here, before any file loads, from the ledger (through `connection`): a file seen before at the
    same path and size, not modified since, is skipped without hashing; any other file is hashed (in a
    thread, ahead of the loads) and skipped when this source saw its content before, on an earlier night
    or earlier in this list; each remaining file gets the next ledger id, in source and file-name order,
    so that ids keep the files' arrival order whichever load finishes first. Files in a source folder
    that are not read are listed as ignored (with ids after the source's files).
    """
    folders = {source.name: source_files(source, inbox) for source in sources}
    unchanged = {path: result for source in sources for path, result in _unchanged(connection, source, folders)}
    to_hash = [path for source in sources for path in folders[source.name] if path not in unchanged]
    planned: list[Any] = []  # FileResult, a future of one, or (path, source, index of the first)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cps-sha256") as hasher:
        hashes = {path: hasher.submit(file_sha256, path) for path in to_hash}
        file_id = next_file_id(connection)
        for source in sources:
            seen = seen_contents(connection, source)
            tonight: dict[str, int] = {}  # content -> index in `planned` of the file taken tonight
            for path in folders[source.name]:
                if path in unchanged:
                    planned.append(unchanged[path])
                    continue
                sha256 = hashes[path].result()
                if sha256 in seen:
                    first_id, status, first_name = seen[sha256]
                    error = f"same content already {status} as file {first_id}"
                    repeats = first_name if first_name != path.name else None  # not the same file moved
                    planned.append(FileResult(source.name, path.name, "skipped", error=error, repeats=repeats))
                elif sha256 in tonight:
                    planned.append((path, source.name, tonight[sha256]))  # resolved once that file is done
                else:
                    tonight[sha256] = len(planned)
                    planned.append(
                        load_file_task.submit(source.name, path, database, as_of, max_share, sha256, file_id)
                    )
                    file_id += 1
            for path in ignored_files(source, inbox):
                planned.append(ignore_file(connection, source, path, as_of, file_id))
                run_logger().warning("ignored %s/%s: %s", source.name, path.name, planned[-1].error)
                file_id += 1
    wait_all(item for item in planned if is_future(item))
    results: list[FileResult] = []
    for item in planned:
        if is_future(item):
            results.append(item.result())
        elif isinstance(item, tuple):
            path, source_name, first = item
            done = results[first]
            error = f"same content already {done.status} as file {done.file_id}"
            results.append(FileResult(source_name, path.name, "skipped", error=error, repeats=done.file_name))
        else:
            results.append(item)
    return results


def ingest_reference_source(source: Source, catalog: Path, database: Path, as_of: date | None) -> list[FileResult]:
    """Load the catalogue file of a reference source (always through its task: each night records its catalogue)."""
    return [load_file_task(source.name, path, database, as_of) for path in source_files(source, catalog)]


def log_source_summaries(sources: tuple[Source, ...], results: list[FileResult]) -> None:
    summary = IngestSummary(results)
    for source in sources:
        part = summary.for_source(source.name)
        run_logger().info(part.render() if part.files else f"{source.name}: no files")


@subflow(workers=LOAD_WORKERS, name="ingest-source", flow_run_name="ingest {source_name}")
def ingest_source(
    source_name: str,
    folder: Path,
    database: Path,
    as_of: date | None = None,
    max_quarantined_share: float | None = None,
) -> list[FileResult]:
    """Load one source's new files into raw.<source_name> (ingest_all does this for every source at once).

    `folder` is the inbox (files in `<inbox>/<source_name>/`) for inbox sources, and the catalogue
    folder (`<catalog>/<source_name>.csv`) for reference sources. A bad catalogue file raises
    InputRejected; a bad inbox file is rejected (in the results) and the others go on.
    `max_quarantined_share` overrides the policy's (tests of single quarantined rows in tiny files).
    """
    if source_name not in SOURCES_BY_NAME:
        raise CpsError(f"unknown source: {source_name}")
    source = SOURCES_BY_NAME[source_name]
    source_files(source, folder)  # a missing folder is reported before anything is created
    with warehouse_held_open(database) as connection:
        if source.reference:
            results = ingest_reference_source(source, folder, database, as_of)
        else:
            share = policy_max_quarantined_share() if max_quarantined_share is None else max_quarantined_share
            results = ingest_inbox_sources((source,), folder, connection, database, as_of, share)
    log_source_summaries((source,), results)
    return results


@subflow(workers=LOAD_WORKERS, name="ingest-all")
def ingest_all(
    inbox: Path,
    catalog: Path,
    database: Path,
    as_of: date | None = None,
    accept_rejected: bool = False,
    max_quarantined_share: float | None = None,
) -> IngestSummary:
    """The catalogue first (products, service centres), then members, registrations and service jobs.

    Missing folders are reported before anything is loaded. Ends by reconciling every file's rows and,
    for the night `as_of`, recording which catalogue it used. Raises InputRejected for a bad catalogue,
    and for a rejected inbox file unless `accept_rejected` (then the summary lists it).
    """
    for source in REFERENCE_SOURCES:
        source_files(source, catalog)
    for source in INBOX_SOURCES:
        source_files(source, inbox)
    for stray in inbox_strays(inbox, {source.name for source in INBOX_SOURCES}):
        PROGRESS.warning("not read: %s is in the inbox but in no source folder (%s)", stray, SOURCE_FOLDERS)
    share = policy_max_quarantined_share() if max_quarantined_share is None else max_quarantined_share
    summary = IngestSummary()
    with warehouse_held_open(database) as connection:
        for source in REFERENCE_SOURCES:
            summary.files.extend(ingest_reference_source(source, catalog, database, as_of))
        if as_of is not None:
            record_catalog_snapshot(connection, REFERENCE_SOURCES, as_of)
        summary.files.extend(ingest_inbox_sources(INBOX_SOURCES, inbox, connection, database, as_of, share))
        files_checked = reconcile(database)
    log_source_summaries(ALL_SOURCES, summary.files)
    run_logger().info("%s\nreconciled: %s files", summary.render(), files_checked)
    if summary.rejected and not accept_rejected:
        raise InputRejected(rejection_message(summary.rejected))
    return summary
