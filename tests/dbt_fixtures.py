"""Raw tables for dbt tests, written straight into a DuckDB file with the ingestion's column contract.

Every raw table has exactly its source's columns (pipelines.core.sources), typed, plus `_file_id` (load order)
and `_row_number` (row within the file). Rows are given as dicts; a missing column is NULL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.core.sources import ALL_SOURCES, SOURCES_BY_NAME
from pipelines.core.warehouse import connect
from pipelines.ingestion.load import create_raw_tables, raw_table_columns
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


def build_night(
    database: Path,
    night: date,
    artifacts: Path,
    command: tuple[str, ...] = WITHOUT_UNIT_TESTS,
    policy: Mapping[str, Any] | None = None,
) -> None:
    """dbt for one night; `policy` pins policy vars the test depends on (as `overrides: vars:` in unit tests)."""
    invocation = DbtInvocation(database=database, as_of=night, artifacts_dir=artifacts, extra_vars=dict(policy or {}))
    run_dbt(invocation, command)


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = connect(database, read_only=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()
