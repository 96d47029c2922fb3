"""The floor for ingestion: every inbox file read and typed by DuckDB alone (in memory, no checks).

The platform's ingest step does more (the ledger, row checks and reasons, quarantine, reconciliation,
writing to the warehouse file); this is what reading and typing alone costs on the same machine.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from pipelines.core.sources import INBOX_SOURCES
from pipelines.ingestion.checks import is_native, typed_value
from pipelines.ingestion.files import is_parquet, source_files, sql_name, sql_text


def ingest_floor_seconds(inbox: Path) -> float:
    """Seconds to read every inbox file and type its columns, one statement per source."""
    connection = duckdb.connect()
    try:
        connection.execute("set enable_progress_bar = false")
        connection.execute("set TimeZone = 'UTC'")
        started = time.perf_counter()
        for source in INBOX_SOURCES:
            parts = []
            for path in source_files(source, inbox):
                if is_parquet(path):
                    reader = f"read_parquet({sql_text(str(path))})"
                    # As ingestion reads Parquet: a column of the column's own type as it is, any other as text.
                    types = dict(
                        connection.execute(
                            f"select column_name, column_type from (describe select * from {reader})"
                        ).fetchall()
                    )
                    native = {c.name for c in source.columns if is_native(c, types.get(c.name, ""))}
                else:
                    reader = f"read_csv({sql_text(str(path))}, all_varchar = true, header = true)"
                    native = set()
                as_text = ", ".join(
                    sql_name(c.name)
                    if c.name in native
                    else f"cast({sql_name(c.name)} as varchar) as {sql_name(c.name)}"
                    for c in source.columns
                )
                typed = ", ".join(
                    f"{typed_value(c, sql_name(c.name), c.name in native)} as {sql_name(c.name)}"
                    for c in source.columns
                )
                parts.append(f"select {typed} from (select {as_text} from {reader})")
            if parts:
                connection.execute(f"create table {sql_name(source.name)} as {' union all '.join(parts)}")
        return time.perf_counter() - started
    finally:
        connection.close()
