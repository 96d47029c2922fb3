"""Ingestion flows: the catalogue and the inbox into the warehouse's raw tables.

One flow per source (`ingest_source`) and `ingest_all`, which runs the catalogue (products, service
centres) and then members, registrations and service jobs. Each file is its own Prefect task, so
progress shows file by file. Every step opens its own DuckDB connection and closes it before it
returns (the nightly run renames the database file afterwards).

What happens to a file (decided here, tested in tests/test_ingest.py):
- content (sha256) this source saw before, loaded or rejected: skipped, whatever the file's name;
- a header row and no data rows: a valid file of 0 rows (loaded); blank lines are not rows;
- an empty file (0 bytes), a file that is not UTF-8, not CSV or not Parquet, a line with the wrong number
  of fields, or a header without every required column (names must match exactly): rejected as a whole,
  with the reason in raw.file_ledger.error, and the other files go on. Fixing it means sending a new file;
- columns the source does not know are ignored (they stay in the quarantined record);
- a row that breaks the schema goes to raw.quarantine with its reasons; the rest of the file loads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from pipelines.core.errors import CpsError, InputRejected
from pipelines.core.policy import policy
from pipelines.core.runlog import PROGRESS
from pipelines.core.sources import ALL_SOURCES, INBOX_SOURCES, REFERENCE_SOURCES, SOURCES_BY_NAME
from pipelines.core.warehouse import connect
from pipelines.ingestion.files import ignored_files, source_files
from pipelines.ingestion.load import (
    FileResult,
    create_raw_tables,
    ignore_file,
    ingest_file,
    ingest_reference_file,
    reconciliation_gaps,
    record_catalog_snapshot,
    seen_unchanged,
)

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
    """A connection for ingestion; DuckDB's progress bar would clutter the operator's terminal."""
    connection = connect(database)
    connection.execute("set enable_progress_bar = false")
    return connection


def prepare_raw(database: Path) -> None:
    """Create the raw tables, ledger, quarantine and reconciliation view if they are not there yet."""
    connection = open_warehouse(database)
    try:
        create_raw_tables(connection, ALL_SOURCES)
    finally:
        connection.close()


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


def files_seen_unchanged(source_name: str, files: list[Path], database: Path) -> dict[Path, FileResult]:
    """Inbox files the ledger saw at the same path and size, not modified since: skipped, as ingest_file would."""
    source = SOURCES_BY_NAME[source_name]
    connection = open_warehouse(database)
    try:
        seen = {path: seen_unchanged(connection, source, path) for path in files}
    finally:
        connection.close()
    return {
        path: FileResult(source_name, path.name, "skipped", error=f"already {status} as file {file_id}")
        for path, found in seen.items()
        if found is not None
        for file_id, status in [found]
    }


def max_quarantined_share() -> float:
    return float(policy()["max_quarantined_share"])


@task(name="load-file", task_run_name="load {source_name}/{path.name}", cache_policy=NO_CACHE)
def load_file_task(
    source_name: str, path: Path, database: Path, as_of: date | None = None, max_share: float | None = None
) -> FileResult:
    started = time.perf_counter()
    source = SOURCES_BY_NAME[source_name]
    connection = open_warehouse(database)
    try:
        if source.reference:
            result = ingest_reference_file(connection, source, path, as_of)
        else:
            share = max_quarantined_share() if max_share is None else max_share
            result = ingest_file(connection, source, path, share, as_of)
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
    logger = get_run_logger()
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


def list_ignored(source_name: str, folder: Path, database: Path, as_of: date | None) -> list[FileResult]:
    """Record the files of the source's folder that are not read, and warn about each."""
    source = SOURCES_BY_NAME[source_name]
    paths = ignored_files(source, folder)
    if not paths:
        return []
    connection = open_warehouse(database)
    try:
        results = [ignore_file(connection, source, path, as_of) for path in paths]
    finally:
        connection.close()
    for result in results:
        get_run_logger().warning("ignored %s/%s: %s", source_name, result.file_name, result.error)
    return results


@flow(name="ingest-source", flow_run_name="ingest {source_name}")
def ingest_source(
    source_name: str,
    folder: Path,
    database: Path,
    as_of: date | None = None,
    max_quarantined_share: float | None = None,
) -> list[FileResult]:
    """Load one source's new files, in file-name order, into raw.<source_name>.

    `folder` is the inbox (files in `<inbox>/<source_name>/`) for inbox sources, and the catalogue
    folder (`<catalog>/<source_name>.csv`) for reference sources. A bad catalogue file raises
    InputRejected; a bad inbox file is rejected (in the results) and the others go on.
    `max_quarantined_share` overrides the policy's (tests of single quarantined rows in tiny files).
    """
    if source_name not in SOURCES_BY_NAME:
        raise CpsError(f"unknown source: {source_name}")
    files = source_files(SOURCES_BY_NAME[source_name], folder)
    prepare_raw(database)
    # A task per file to load; inbox files loaded on earlier nights, untouched since, are counted
    # without one (a Prefect task costs API calls, and most of an inbox is old files). Catalogue
    # files always go through their task: each night records which catalogue it used.
    unchanged = {} if SOURCES_BY_NAME[source_name].reference else files_seen_unchanged(source_name, files, database)
    results = [
        unchanged[path]
        if path in unchanged
        else load_file_task(source_name, path, database, as_of, max_quarantined_share)
        for path in files
    ]
    results.extend(list_ignored(source_name, folder, database, as_of))
    part = IngestSummary(results)
    get_run_logger().info(part.render() if results else f"{source_name}: no files")
    return results


@flow(name="ingest-all")
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
    summary = IngestSummary()
    for source in REFERENCE_SOURCES:
        summary.files.extend(ingest_source(source.name, catalog, database, as_of))
    if as_of is not None:
        connection = open_warehouse(database)
        try:
            record_catalog_snapshot(connection, REFERENCE_SOURCES, as_of)
        finally:
            connection.close()
    for source in INBOX_SOURCES:
        summary.files.extend(ingest_source(source.name, inbox, database, as_of, max_quarantined_share))
    files_checked = reconcile(database)
    get_run_logger().info("%s\nreconciled: %s files", summary.render(), files_checked)
    if summary.rejected and not accept_rejected:
        raise InputRejected(rejection_message(summary.rejected))
    return summary
