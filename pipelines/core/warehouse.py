"""Opening the DuckDB warehouse the same way everywhere, within the night's memory limit."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

# Settings.duckdb_memory_limit as an environment variable: dbt's profile reads it from there, and a
# night exports it (apply_memory_limit) so that every DuckDB database the night opens gets the same.
MEMORY_LIMIT_VARIABLE = "CPS_DUCKDB_MEMORY_LIMIT"


def memory_limit() -> str:
    """The DuckDB memory limit of this process's connections (Settings.duckdb_memory_limit)."""
    from pipelines.core.settings import Settings

    return Settings().duckdb_memory_limit


def apply_memory_limit(limit: str) -> None:
    """Make `limit` the memory limit of every DuckDB database opened from now on (dbt's included)."""
    os.environ[MEMORY_LIMIT_VARIABLE] = limit


def limit_memory(connection: duckdb.DuckDBPyConnection, *, ordered: bool = True) -> None:
    """Cap the memory of the connection's database (DuckDB's default is 80% of the machine's).

    Beyond the limit DuckDB spills to its temporary folder, by default `<database file>.tmp` beside
    the file, so inside the warehouse folder. ordered=False lets DuckDB drop the insertion order of
    results and inserts, which saves memory where nothing reads that order (both are settings of the
    whole database, shared by the process's connections to the same file).
    """
    connection.execute(f"SET memory_limit = '{memory_limit()}'")
    if not ordered:
        connection.execute("SET preserve_insertion_order = false")


def connect(path: Path, *, read_only: bool = False, ordered: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection in UTC (all timestamps in the platform are UTC), within the memory limit.

    ordered=False: for work that never relies on the order rows were inserted or returned in.
    """
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only)
    connection.execute("SET TimeZone = 'UTC'")
    limit_memory(connection, ordered=ordered)
    return connection
