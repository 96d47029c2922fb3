"""Ingestion flows: the inbox and the catalogue into the warehouse's raw tables.

One flow per source, and `ingest_all` that runs them in order. Each file is its own Prefect task
(progress is visible file by file). Files are read, never moved, changed or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from pipelines.errors import CpsError
from pipelines.ingest_files import (
    SUPPORTED_SUFFIXES,
    FileResult,
    create_raw_tables,
    ingest_file,
    reconciliation_gaps,
)
from pipelines.sources import ALL_SOURCES, INBOX_SOURCES, REFERENCE_SOURCES, SOURCES_BY_NAME
from pipelines.warehouse import connect


@dataclass
class IngestSummary:
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
    def rows_read(self) -> int:
        return sum(result.rows_read for result in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(result.rows_loaded for result in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(result.rows_quarantined for result in self.files)

    def render(self) -> str:
        lines = []
        for source in ALL_SOURCES:
            results = [result for result in self.files if result.source == source.name]
            if not results:
                continue
            part = IngestSummary(results)
            lines.append(
                f"{source.name}: {part.files_loaded} files loaded, {part.files_skipped} already loaded, "
                f"{part.files_rejected} rejected; rows {part.rows_read:,} read, {part.rows_loaded:,} loaded, "
                f"{part.rows_quarantined:,} quarantined"
            )
        lines.extend(f"rejected {r.source}/{r.file_name}: {r.error}" for r in self.files if r.status == "rejected")
        return "\n".join(lines) or "no files"


def source_files(folder: Path) -> list[Path]:
    """The source's files in arrival order (file-name order)."""
    if not folder.is_dir():
        return []
    return sorted(
        (path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES),
        key=lambda path: path.name,
    )


@task(name="load file", task_run_name="load {source_name}/{path.name}", cache_policy=NO_CACHE)
def load_file_task(source_name: str, path: Path, database: Path) -> FileResult:
    connection = connect(database)
    try:
        result = ingest_file(connection, SOURCES_BY_NAME[source_name], path)
    finally:
        connection.close()
    if result.status == "rejected":
        get_run_logger().warning("set aside %s/%s: %s", source_name, path.name, result.error)
    return result


@flow(name="ingest-source", flow_run_name="ingest {source_name}")
def ingest_source(source_name: str, files: list[Path], database: Path) -> list[FileResult]:
    """Load one source's files, in order, into raw.<source_name>."""
    return [load_file_task(source_name, path, database) for path in files]


def prepare_raw(database: Path) -> None:
    connection = connect(database)
    try:
        create_raw_tables(connection, ALL_SOURCES)
    finally:
        connection.close()


def reconcile(database: Path) -> None:
    """Prove that every file's rows are loaded or quarantined; raise if any are unaccounted for."""
    connection = connect(database, read_only=False)
    try:
        gaps = reconciliation_gaps(connection, ALL_SOURCES)
    finally:
        connection.close()
    if gaps:
        raise CpsError(f"ingestion does not reconcile: {'; '.join(gaps[:3])}")


@flow(name="ingest-all")
def ingest_all(inbox: Path, catalog: Path, database: Path) -> IngestSummary:
    """The catalogue first (products, service centres), then members, registrations, service jobs."""
    if not inbox.is_dir():
        raise CpsError(f"inbox folder not found: {inbox}")
    prepare_raw(database)
    summary = IngestSummary()
    for source in REFERENCE_SOURCES:
        path = catalog / f"{source.name}.csv"
        if not path.is_file():
            raise CpsError(f"catalogue file not found: {path}")
        summary.files.extend(ingest_source(source.name, [path], database))
    for source in INBOX_SOURCES:
        summary.files.extend(ingest_source(source.name, source_files(inbox / source.name), database))
    reconcile(database)
    get_run_logger().info(summary.render())
    return summary
