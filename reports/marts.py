"""Read-only access to the published marts for one night of reports."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.core.warehouse import connect


@dataclass
class MartsReader:
    """Queries on the published warehouse; knows which optional tables and columns exist."""

    connection: duckdb.DuckDBPyConnection
    as_of: date
    # Where marketing consent is read: the current night's members, also for a backfilled night's exports.
    consent_table: str = "marts.dim_members"

    def exists(self, table: str, schema: str = "marts") -> bool:
        sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
        return bool(self.connection.execute(sql, [schema, table]).fetchone()[0])

    def columns(self, table: str, schema: str = "marts") -> set[str]:
        sql = "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
        return {row[0] for row in self.connection.execute(sql, [schema, table]).fetchall()}

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self.connection.execute(sql, list(params)).df()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.connection.execute(sql, list(params)).fetchone()[0]


@contextmanager
def open_marts(database: Path, as_of: date, consent_database: Path | None = None) -> Iterator[MartsReader]:
    """The warehouse opened read-only, and closed again before the caller returns (it may be renamed).

    consent_database: the warehouse holding the current night, when `database` holds another night
    (a backfill): every export leaves out members without consent in the current night's data.
    """
    connection = connect(database, read_only=True)
    try:
        consent_table = "marts.dim_members"
        if consent_database is not None and consent_database.resolve() != database.resolve():
            connection.execute(f"attach '{consent_database}' as current_night (read_only)")
            consent_table = "current_night.marts.dim_members"
        yield MartsReader(connection, as_of, consent_table)
    finally:
        connection.close()
