"""Publishing nights: the night archive, the two ledgers a backfill adds to, the nights ledger, retention.

A backfill of a past night D is built in its own copy of the warehouse. Its marts go to a read-only
DuckDB file in the night archive (nights/D.duckdb beside the warehouse); of the current warehouse
only the level history and the invitation lists gain D's rows. raw.nights records every published
night: when it ran, which catalogue (sha256 of each file) and which policy (sha256 of the vars) it used.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.core.build_plan import catalogue_hashes, policy_json, project_sha256, registrations_file_watermark
from pipelines.core.nights import NightKind, archive_path, archived_nights, current_night
from pipelines.core.warehouse import connect

# Exported marketing lists (one per night, dated): what retention deletes from old report folders.
EXPORT_PREFIXES = ("invitations_", "completion_campaign_", "level_at_risk_", "come_back_")

NIGHTS_TABLE = """
create table if not exists raw.nights (
    as_of_date date not null,
    kind varchar not null,          -- 'night' (published as the current night) or 'backfill' (archived)
    run_at timestamp not null,
    catalogue_sha256 varchar,       -- products.csv=<sha256>;service_centres.csv=<sha256>
    policy_sha256 varchar,
    policy json
)
"""
# Added with incremental nights: what else built the night's stored rows (see pipelines/core/build_plan.py).
NIGHTS_COLUMNS_ADDED = (
    "alter table raw.nights add column if not exists project_sha256 varchar",  # models, macros, seeds
    "alter table raw.nights add column if not exists file_watermark bigint",  # highest raw file id built on
)


def record_night(
    database: Path,
    night: date,
    kind: NightKind,
    catalog_dir: Path,
    project_digest: str | None = None,
    policy_overrides: Mapping[str, Any] | None = None,
) -> None:
    """One row per published night in raw.nights (a re-run or rebuild replaces the night's row of its kind).

    project_digest: the dbt project the night was built with (taken before its build); now when not given.
    policy_overrides: values set for this night instead of the policy file's (tests); part of the policy hash.
    """
    stored_kind = "backfill" if kind is NightKind.BACKFILL else "night"
    settings = policy_json(policy_overrides)
    connection = connect(database)
    try:
        connection.execute("create schema if not exists raw")
        connection.execute(NIGHTS_TABLE)
        for statement in NIGHTS_COLUMNS_ADDED:
            connection.execute(statement)
        connection.execute("delete from raw.nights where as_of_date = ? and kind = ?", [night, stored_kind])
        connection.execute(
            "insert into raw.nights (as_of_date, kind, run_at, catalogue_sha256, policy_sha256, policy,"
            " project_sha256, file_watermark) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                night,
                stored_kind,
                datetime.now(UTC).replace(tzinfo=None),
                catalogue_hashes(catalog_dir),
                hashlib.sha256(settings.encode()).hexdigest(),
                settings,
                project_digest or project_sha256(),
                registrations_file_watermark(connection),
            ],
        )
    finally:
        connection.close()


def add_backfilled_ledger_rows(current_build: Path, night_build: Path, night: date) -> dict[str, int]:
    """The current warehouse's level history and invitation lists gain the backfilled night's rows.

    Only rows that are missing: a member's level history row for D, and invitations of members on
    no list of any night. A member who already has a row for D keeps that night as it was published,
    its invitation (or none) included: a second backfill of D over records that arrived since adds
    only members new to D, so that D's list never disagrees with D's level history. Returns how many
    rows each ledger gained.
    """
    connection = connect(current_build)
    try:
        connection.execute(f"attach '{night_build}' as night_build (read_only)")
        # marts.fct_member_levels is a view over the ledger intermediate.int_member_level_ledger.
        before = {
            table: connection.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("intermediate.int_member_level_ledger", "marts.rpt_invitations")
        }
        # First the invitations, while the level history still shows which members D had already.
        connection.execute(
            """
            insert into marts.rpt_invitations by name
            select * from night_build.marts.rpt_invitations as b
            where b.as_of_date = ?
                and b.member_id not in (select member_id from marts.rpt_invitations)
                and b.member_id not in (
                    select member_id from intermediate.int_member_level_ledger where as_of_date = ?
                )
            """,
            [night, night],
        )
        connection.execute(
            """
            insert into intermediate.int_member_level_ledger by name
            select * from night_build.intermediate.int_member_level_ledger as b
            where b.as_of_date = ? and not exists (
                select 1 from intermediate.int_member_level_ledger as h
                where h.member_id = b.member_id and h.as_of_date = ?
            )
            """,
            [night, night],
        )
        gained = {
            table: connection.execute(f"select count(*) from {table}").fetchone()[0] - count
            for table, count in before.items()
        }
        connection.execute("detach night_build")
        return gained
    finally:
        connection.close()


def write_archive(night_build: Path, staged_file: Path) -> Path:
    """A fresh DuckDB file with the night's marts as tables (a published view reads other schemas).

    The night's build is the main database of the connection, so that dbt's views, which name their
    database, resolve in it; the archive file is attached beside it.
    """
    staged_file.parent.mkdir(parents=True, exist_ok=True)
    staged_file.unlink(missing_ok=True)
    connection = connect(night_build)  # the run's own copy; read-only would make the attached file read-only too
    try:
        connection.execute(f"attach '{staged_file}' as night_archive")
        tables = [
            row[0]
            for row in connection.execute(
                "select table_name from information_schema.tables"
                " where table_catalog = current_database() and table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        connection.execute("create schema night_archive.marts")
        for table in tables:
            connection.execute(f'create table night_archive.marts."{table}" as select * from marts."{table}"')
        connection.execute("detach night_archive")
    finally:
        connection.close()
    return staged_file


@dataclass(frozen=True)
class Swap:
    """A published path replaced by a staged one, what it replaced kept aside until the night is published:
    undo() puts it back (the night then publishes nothing), finish() drops it."""

    target: Path
    aside: Path | None

    def undo(self) -> None:
        remove_path(self.target)
        if self.aside is not None:
            os.replace(self.aside, self.target)

    def finish(self) -> None:
        if self.aside is not None:
            remove_path(self.aside)


def remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def is_present(path: Path) -> bool:
    """Something is at `path`: a file, a folder, or a link (even a broken one)."""
    return path.exists() or path.is_symlink()


def aside_path(target: Path) -> Path:
    """Where swap_in keeps what `target` was until the night is published."""
    return target.with_name(f".previous-{target.name}")


def swap_in(staged: Path, target: Path) -> Swap:
    """Put `staged` (a file or a folder) in place of `target`, keeping the replaced one aside (see Swap)."""
    aside = aside_path(target)
    if is_present(aside):
        remove_path(aside)  # left by a run that stopped before it finished
    replaced = is_present(target)
    if replaced:
        os.replace(target, aside)
    try:
        os.replace(staged, target)
    except BaseException:
        if replaced:
            os.replace(aside, target)
        raise
    return Swap(target, aside if replaced else None)


@dataclass(frozen=True)
class FilesKept:
    """Small files as they were (None: absent), to be written back if a night fails to publish."""

    contents: dict[Path, bytes | None]

    @classmethod
    def of(cls, *paths: Path) -> FilesKept:
        return cls({path: path.read_bytes() if path.is_file() else None for path in paths})

    def put_back(self) -> None:
        for path, content in self.contents.items():
            if content is None:
                if path.is_file():
                    path.unlink()
                continue
            if path.is_file() and path.read_bytes() == content:
                continue
            temporary = path.with_name(f".previous-{path.name}")
            temporary.write_bytes(content)
            os.replace(temporary, path)


def publish_archive(staged_file: Path, warehouse: Path, night: date) -> Swap:
    """Move the staged archive file into the night archive, read-only for everyone."""
    target = archive_path(warehouse, night)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged_file.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return swap_in(staged_file, target)


def staging_reports_root(reports: Path) -> Path:
    """Reports of a night are rendered here first (same file system, so publishing them is a rename)."""
    return reports / ".staging"


def publish_reports(staged_night_dir: Path, night_dir: Path) -> Swap:
    """Put the staged reports folder in place of the night's (a re-run's replaced folder is kept aside)."""
    return swap_in(staged_night_dir, night_dir)


@dataclass(frozen=True)
class RetentionResult:
    archives: list[Path]
    exports: list[Path]
    failures: list[str]  # "<path>: <reason>" for each file that could not be deleted


def apply_retention(warehouse: Path, reports: Path, reference: date, retention_days: int) -> RetentionResult:
    """Delete archived night files and exported list files of nights more than retention_days before
    reference. A file that cannot be deleted is reported in `failures` and the others are still deleted:
    retention runs once the night is published, which no failure of it can undo."""
    cutoff = reference - timedelta(days=retention_days)
    candidates = [path for night, path in archived_nights(warehouse).items() if night < cutoff]
    export_candidates: list[Path] = []
    if reports.is_dir():
        for folder in reports.iterdir():
            try:
                night = date.fromisoformat(folder.name)
            except ValueError:
                continue
            if night < cutoff and folder.is_dir():
                export_candidates += [
                    path
                    for path in [*folder.glob("*.csv"), *folder.glob("*.xlsx")]
                    if path.name.startswith(EXPORT_PREFIXES)
                ]
    deleted: set[Path] = set()
    failures: list[str] = []
    for path in [*candidates, *export_candidates]:
        try:
            path.unlink()
            deleted.add(path)
        except OSError as error:
            failures.append(f"{path}: {error.strerror or error}")
    archives = [path for path in candidates if path in deleted]
    return RetentionResult(archives, [path for path in export_candidates if path in deleted], failures)


def describe_nights(warehouse: Path) -> str:
    """The current night and the archived nights, with when they ran and the catalogue and policy they used."""
    if not warehouse.exists():
        return f"no night published yet in {warehouse}"
    current = current_night(warehouse)
    archives = archived_nights(warehouse)
    connection = connect(warehouse, read_only=True)
    try:
        has_ledger = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = 'nights'"
        ).fetchone()[0]
        rows = (
            connection.execute(
                "select as_of_date, kind, run_at, catalogue_sha256, policy_sha256"
                " from raw.nights order by as_of_date, kind"
            ).fetchall()
            if has_ledger
            else []
        )
    finally:
        connection.close()
    recorded = {(night, kind): (run_at, catalogue, policy_hash) for night, kind, run_at, catalogue, policy_hash in rows}
    lines = [f"warehouse {warehouse}"]
    if current is not None:
        run_at, catalogue, policy_hash = recorded.get((current, "night"), (None, None, None))
        lines.append(_night_line("current", current, run_at, catalogue, policy_hash, warehouse))
    for night in sorted({n for n, kind in recorded if kind == "backfill"} | set(archives), reverse=True):
        run_at, catalogue, policy_hash = recorded.get((night, "backfill"), (None, None, None))
        path = archives.get(night)
        lines.append(_night_line("archived", night, run_at, catalogue, policy_hash, path))
    return "\n".join(lines)


def _night_line(
    label: str, night: date, run_at: object, catalogue: str | None, policy_hash: str | None, path: Path | None
) -> str:
    ran = f"{run_at:%Y-%m-%d %H:%M:%S} UTC" if isinstance(run_at, datetime) else "not recorded"
    where = str(path) if path is not None else "file deleted (retention)"
    return (
        f"{label:<8} {night}  ran {ran}  {where}\n"
        f"         catalogue {catalogue or 'not recorded'}\n"
        f"         policy sha256 {policy_hash or 'not recorded'}"
    )
