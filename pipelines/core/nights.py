"""Nights: which night the published warehouse shows, and what kind of run a date makes.

The published warehouse shows one current night C (the latest night published). A run as of D is a
new night (D after C, or no night yet), a re-run of C (D = C), or a backfill of a past night
(D before C), which goes to the night archive beside the warehouse and leaves the current night alone.
"""

from __future__ import annotations

import enum
from datetime import date, timedelta
from pathlib import Path

import duckdb

from pipelines.core.errors import UsageError, warehouse_unreadable
from pipelines.core.policy import night_policy, policy_problems
from pipelines.core.settings import Settings, utc_today
from pipelines.core.sources import INBOX_SOURCES
from pipelines.core.warehouse import connect

ARCHIVE_FOLDER = "nights"


class NightKind(enum.StrEnum):
    NEW = "new"
    RERUN = "re-run"
    BACKFILL = "backfill"


def classify(night: date, current: date | None) -> NightKind:
    if current is None or night > current:
        return NightKind.NEW
    return NightKind.RERUN if night == current else NightKind.BACKFILL


def check_run_date(night: date, allow_future: bool) -> None:
    """A date later than tomorrow (UTC) is a typo until proven otherwise: it would make every real night a backfill."""
    tomorrow = utc_today() + timedelta(days=1)
    if night > tomorrow and not allow_future:
        raise UsageError(
            f"run date {night} is later than tomorrow ({tomorrow}); "
            "check --as-of, or pass --allow-future if you mean it"
        )


def archive_dir(warehouse: Path) -> Path:
    return warehouse.parent / ARCHIVE_FOLDER


def archive_path(warehouse: Path, night: date) -> Path:
    """The read-only DuckDB file of a backfilled night, beside the warehouse."""
    return archive_dir(warehouse) / f"{night.isoformat()}.duckdb"


def archived_nights(warehouse: Path) -> dict[date, Path]:
    nights: dict[date, Path] = {}
    folder = archive_dir(warehouse)
    if folder.is_dir():
        for path in sorted(folder.glob("*.duckdb")):
            try:
                nights[date.fromisoformat(path.stem)] = path
            except ValueError:
                continue  # not an archive file of ours
    return nights


def _table_exists(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    return bool(connection.execute(sql, [schema, table]).fetchone()[0])


def current_night(warehouse: Path) -> date | None:
    """The night the published warehouse shows (None before the first night)."""
    if not warehouse.exists():
        return None
    try:
        connection = connect(warehouse, read_only=True)
    except duckdb.Error as error:
        raise warehouse_unreadable(warehouse, error) from None
    try:
        if not _table_exists(connection, "marts", "dim_members"):
            return None
        row = connection.execute("select max(as_of_date) from marts.dim_members").fetchone()
        if row[0] is None and _table_exists(connection, "raw", "nights"):
            # a night with no members yet still is the current night
            row = connection.execute("select max(as_of_date) from raw.nights where kind <> 'backfill'").fetchone()
        return row[0]
    finally:
        connection.close()


def check_inputs(settings: Settings) -> None:
    """Wrong paths are wrong usage (exit 2), found before any work starts."""
    if not settings.inbox.is_dir():
        raise UsageError(f"inbox folder not found: {settings.inbox} (set --inbox or CPS_INBOX)")
    for source in INBOX_SOURCES:
        folder = settings.inbox / source.name
        if not source.optional and not folder.is_dir():
            raise UsageError(
                f"inbox folder for {source.name} not found: {folder} (create it, empty if no {source.name} arrived)"
            )
    for name in ("products.csv", "service_centres.csv"):
        if not (settings.catalog / name).is_file():
            raise UsageError(f"catalogue file not found: {settings.catalog / name} (set --catalog or CPS_CATALOG)")


def check_usage(settings: Settings, allow_future: bool) -> None:
    """Everything wrong usage can be found by, checked before Prefect, dbt or a lock is touched."""
    check_run_date(settings.as_of, allow_future)
    check_policy_overrides(settings)
    check_inputs(settings)


def check_policy_overrides(settings: Settings) -> None:
    """A misspelt override would otherwise be ignored by every step, and a value that cannot work would
    fail the night after its dbt build: refuse either before the night starts."""
    try:
        night_policy(settings.policy_overrides)
    except KeyError as error:
        raise UsageError(f"CPS_POLICY_OVERRIDES: {error.args[0]}") from error
    problems = policy_problems(settings.policy_overrides)
    if problems:
        raise UsageError(f"bad CPS_POLICY_OVERRIDES: {'; '.join(problems)}")
