"""Raw tables for dbt tests, written straight into a DuckDB file with the ingestion's column contract.

Every raw table has exactly its source's columns (pipelines.core.sources), typed, plus `_file_id` (load order)
and `_row_number` (row within the file). Rows are given as dicts; a missing column is NULL.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.core.sources import ALL_SOURCES, SOURCES_BY_NAME
from pipelines.core.warehouse import connect
from pipelines.ingestion.load import create_raw_tables, raw_table_columns
from pipelines.transformation.dbt_parse_cache import PARTIAL_PARSE_FILE, project_of, saved_parse
from pipelines.transformation.dbt_runner import DbtInvocation, run_dbt

Row = Mapping[str, Any]


def create_raw_schema(database: Path) -> None:
    """The raw schema exactly as ingestion creates it: every source's table, the ledger, the quarantine, views."""
    connection = connect(database)
    try:
        create_raw_tables(connection, ALL_SOURCES)
    finally:
        connection.close()


def next_file_id(connection: Any, table: str) -> int:
    return int(connection.execute(f"select coalesce(max(_file_id), 0) + 1 from raw.{table}").fetchone()[0])


def load_file(database: Path, source_name: str, rows: Iterable[Row], file_id: int | None = None) -> int:
    """Append `rows` to raw.<source> as one loaded file; returns the file id used (next one by default).

    A row may carry its own `_row_number`; otherwise rows are numbered 1.. in the order given.
    """
    source = SOURCES_BY_NAME[source_name]
    columns = raw_table_columns(source)
    create_raw_schema(database)
    connection = connect(database)
    try:
        file_id = next_file_id(connection, source_name) if file_id is None else file_id
        records = []
        for number, row in enumerate(rows, start=1):
            unknown = set(row) - set(columns)
            if unknown:
                raise ValueError(f"{source_name}: not a raw column: {sorted(unknown)}")
            values = {**row, "_file_id": file_id, "_row_number": row.get("_row_number", number)}
            records.append([values.get(column) for column in columns])
        if records:
            placeholders = ", ".join(f"cast(? as {sql_type})" for sql_type in columns.values())
            connection.executemany(f"insert into raw.{source_name} values ({placeholders})", records)
    finally:
        connection.close()
    return file_id


def product(sku: str, **overrides: Any) -> dict[str, Any]:
    """A catalogue row with plain defaults (a camera launched 2020-01-01 worth 100 points)."""
    return {
        "product_sku": sku,
        "product_name": f"Product {sku}",
        "category": "camera",
        "is_video": False,
        "launch_date": "2020-01-01",
        "base_points": 100,
        "fast_track": False,
        **overrides,
    }


def member(member_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "email": f"{member_id.lower()}@example.com",
        "country": "GB",
        "language": "en",
        "marketing_opt_in": True,
        "joined_at": "2024-01-01 09:00:00",
        "updated_at": "2024-01-01 09:00:00",
        **overrides,
    }


def registration(registration_id: str, member_id: str, sku: str, **overrides: Any) -> dict[str, Any]:
    """A complete, valid registration (serial derived from the id) unless overridden."""
    return {
        "registration_id": registration_id,
        "member_id": member_id,
        "product_sku": sku,
        "serial_number": f"SN{registration_id}",
        "purchase_date": "2024-01-01",
        "purchase_country": "GB",
        "retailer": "Camera Shop",
        "second_hand": False,
        "registered_at": "2024-01-02 10:00:00",
        "updated_at": "2024-01-02 10:00:00",
        **overrides,
    }


WITHOUT_UNIT_TESTS = ("build", "--exclude-resource-type", "unit_test")


# dbt re-uses its parse of the project (target/partial_parse.msgpack) only for the database path it
# parsed with (the profile names the file), and a full parse costs seconds. So every test's dbt runs
# at one path per file name (the same name keeps the DuckDB catalog its views name): the database is
# moved there for the command and back after, and each test's artifacts start from the parse kept here.
_SHARED_PARSE = Path(os.environ.get("CPS_TEST_HOME", "/tmp")) / f"cps-tests-{os.getpid()}" / "dbt-parse"


def _move_database(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".wal"):
        moving = source.with_name(source.name + suffix)
        if moving.exists():
            shutil.move(moving, target.with_name(target.name + suffix))


@contextmanager
def shared_parse(database: Path, artifacts: Path) -> Iterator[Path]:
    """`database` moved to the shared path for its name (and back after), with the parse kept there
    copied into `artifacts`: dbt run on the path given here parses the project only once a session.
    The policy does not count: its values reach the models through raw.run_context, not dbt's parse."""
    shared_database = _SHARED_PARSE / database.name / database.name
    kept_parse = _SHARED_PARSE / database.name / PARTIAL_PARSE_FILE
    own_parse = saved_parse(artifacts)
    if kept_parse.exists() and not own_parse.exists():
        own_parse.parent.mkdir(parents=True, exist_ok=True)
        _copy_parse(kept_parse, own_parse)
    _move_database(database, shared_database)
    try:
        yield shared_database
    finally:
        _move_database(shared_database, database)
    if own_parse.exists() and not kept_parse.exists():
        _copy_parse(own_parse, kept_parse)


def _copy_parse(source: Path, target: Path) -> None:
    """A saved parse with the name of the project it was made from (a parse without it is dropped)."""
    shutil.copyfile(source, target)
    if project_of(source).exists():
        shutil.copyfile(project_of(source), project_of(target))


def build_night(
    database: Path,
    night: date,
    artifacts: Path,
    command: tuple[str, ...] = WITHOUT_UNIT_TESTS,
    policy: Mapping[str, Any] | None = None,
    current_night: date | None = None,
    incremental_since: date | None = None,
) -> None:
    """dbt for one night; `policy` pins policy values the test depends on, as a run's overrides.

    current_night: the night the warehouse shows, when `night` is a backfill.
    incremental_since: the night an incremental night builds on (None: a full rebuild).
    """
    with shared_parse(database, artifacts) as shared_database:
        invocation = DbtInvocation(
            database=shared_database,
            as_of=night,
            artifacts_dir=artifacts,
            policy_overrides=dict(policy or {}),
            current_night=current_night,
            incremental_since=incremental_since,
        )
        run_dbt(invocation, command)


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = connect(database, read_only=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def execute(database: Path, sql: str) -> None:
    connection = connect(database)
    try:
        connection.execute(sql)
    finally:
        connection.close()
