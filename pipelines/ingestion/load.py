"""Loading one file into its raw table, with its ledger row and its quarantined rows, in one transaction.

A kill in the middle of a file leaves nothing of it (DuckDB rolls back the open transaction), so the
next run loads it again. The ledger (raw.file_ledger) knows every file content by sha256: content seen
before, loaded or rejected, is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.core.errors import CpsError
from pipelines.core.sources import DUCKDB_TYPES, ColumnType, Source
from pipelines.ingestion.checks import reason_sql, typed_value
from pipelines.ingestion.files import (
    ROW_NUMBER,
    UnreadableFile,
    file_columns,
    file_sha256,
    reader_sql,
    short_error,
    sql_name,
    sql_text,
)

LEDGER_COLUMNS = {
    "file_id": "BIGINT",
    "source": "VARCHAR",
    "file_name": "VARCHAR",
    "file_path": "VARCHAR",
    "sha256": "VARCHAR",
    "size_bytes": "BIGINT",
    "loaded_at": "TIMESTAMP",
    "status": "VARCHAR",  # loaded | rejected
    "rows_read": "BIGINT",
    "rows_loaded": "BIGINT",
    "rows_quarantined": "BIGINT",
    "error": "VARCHAR",
}
QUARANTINE_COLUMNS = {
    "file_id": "BIGINT",
    "source": "VARCHAR",
    "file_name": "VARCHAR",
    "row_number": "BIGINT",
    "reason": "VARCHAR",
    "record": "VARCHAR",  # the row as read, as JSON (all the file's columns, as text)
}
LINEAGE_COLUMNS = {"_file_id": "BIGINT", "_row_number": "BIGINT"}

# Working table of the file being loaded (connection-local, dropped at the end of the load).
FILE_TABLE = "_cps_file"
REASON = "_cps_reason"
TYPED_PREFIX = "_cps_typed_"
RECORD = "_cps_record"


@dataclass(frozen=True)
class FileResult:
    """What happened to one file: loaded, skipped (content seen before) or rejected (unreadable)."""

    source: str
    file_name: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    file_id: int | None = None


def raw_table_columns(source: Source) -> dict[str, str]:
    """The raw table's contract: the source's columns, typed, then the lineage columns."""
    return {**{column.name: DUCKDB_TYPES[column.type] for column in source.columns}, **LINEAGE_COLUMNS}


def _create_table(connection: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    definition = ", ".join(f"{sql_name(name)} {sql_type}" for name, sql_type in columns.items())
    connection.execute(f"create table if not exists raw.{table} ({definition})")
    found = connection.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    if [(name, sql_type) for name, sql_type in found] != list(columns.items()):
        raise CpsError(f"raw.{table} in the warehouse does not have the expected columns; rebuild the warehouse")


def create_raw_tables(connection: duckdb.DuckDBPyConnection, sources: tuple[Source, ...]) -> None:
    """The raw schema: one table per source, the ledger, the quarantine and the reconciliation view."""
    connection.execute("create schema if not exists raw")
    _create_table(connection, "file_ledger", LEDGER_COLUMNS)
    _create_table(connection, "quarantine", QUARANTINE_COLUMNS)
    for source in sources:
        _create_table(connection, source.name, raw_table_columns(source))
    connection.execute(reconciliation_view_sql(sources))


def reconciliation_view_sql(sources: tuple[Source, ...]) -> str:
    """raw.reconciliation: per file, the ledger's counts beside the rows really in raw and in quarantine.

    `balanced` holds when rows_read = rows_loaded + rows_quarantined and both match the stored rows.
    Rows stored under a file id (or source) the ledger does not know show up unbalanced too.
    """
    stored = " union all ".join(
        f"select _file_id as file_id, '{source.name}' as source, count(*) as rows_in_raw "
        f"from raw.{source.name} group by _file_id"
        for source in sources
    )
    return f"""
        create or replace view raw.reconciliation as
        with stored as ({stored}),
        held as (select file_id, source, count(*) as rows_in_quarantine from raw.quarantine group by all)
        select file_id, source, ledger.file_name, ledger.status, ledger.rows_read, ledger.rows_loaded,
            ledger.rows_quarantined,
            coalesce(stored.rows_in_raw, 0) as rows_in_raw,
            coalesce(held.rows_in_quarantine, 0) as rows_in_quarantine,
            coalesce(
                ledger.rows_read = ledger.rows_loaded + ledger.rows_quarantined
                and ledger.rows_loaded = coalesce(stored.rows_in_raw, 0)
                and ledger.rows_quarantined = coalesce(held.rows_in_quarantine, 0),
                false
            ) as balanced
        from raw.file_ledger as ledger
        full join stored using (file_id, source)
        full join held using (file_id, source)
    """


def reconciliation_gaps(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Files whose rows do not reconcile (there should be none), as short texts."""
    rows = connection.execute(
        "select file_id, source, file_name, rows_read, rows_in_raw, rows_in_quarantine "
        "from raw.reconciliation where not balanced order by file_id"
    ).fetchall()
    return [
        f"file {file_id} {source}/{name}: read {read}, in raw {stored}, in quarantine {held}"
        for file_id, source, name, read, stored, held in rows
    ]


@contextmanager
def _transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block wrote, or roll it all back if it raised (a kill rolls back too)."""
    connection.execute("begin transaction")
    try:
        yield
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")


def _next_file_id(connection: duckdb.DuckDBPyConnection) -> int:
    return int(connection.execute("select coalesce(max(file_id), 0) + 1 from raw.file_ledger").fetchone()[0])


def _record_ledger(connection: duckdb.DuckDBPyConnection, path: Path, sha256: str, result: FileResult) -> None:
    connection.execute(
        "insert into raw.file_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.file_id,
            result.source,
            result.file_name,
            str(path.resolve()),
            sha256,
            path.stat().st_size,
            datetime.now(UTC).replace(tzinfo=None),
            result.status,
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
            result.error,
        ],
    )


def _load_rows(
    connection: duckdb.DuckDBPyConnection, source: Source, path: Path, columns: list[str], file_id: int
) -> tuple[int, int]:
    """Check every row of the file, append the good ones to raw.<source> and the others to the quarantine.

    Returns (rows read, rows quarantined). Runs inside the caller's transaction.
    """
    present = set(columns)
    text_sql = {
        column.name: sql_name(column.name) if column.name in present else "cast(null as varchar)"
        for column in source.columns
    }
    # Typed values are computed once (text columns are their own typed value), then the reasons from them.
    typed_sql = {
        column.name: text_sql[column.name] if column.type is ColumnType.TEXT else sql_name(TYPED_PREFIX + column.name)
        for column in source.columns
    }
    typed_columns = "".join(
        f", {typed_value(column, text_sql[column.name])} as {typed_sql[column.name]}"
        for column in source.columns
        if column.type is not ColumnType.TEXT
    )
    checked = (
        f"(select *, {reason_sql(source, text_sql, typed_sql)} as {REASON} "
        f"from (select *{typed_columns} from {reader_sql(path, columns)}))"
    )
    record = "to_json({" + ", ".join(f"{sql_text(name)}: {sql_name(name)}" for name in columns) + "})"
    # One pass over the file, kept for the two inserts: typed values, row number, reasons, and the
    # row as read for the (few) rows that break the schema.
    kept = ", ".join(
        typed_sql[column.name]
        for column in source.columns
        if column.type is not ColumnType.TEXT or column.name in present
    )
    connection.execute(
        f"create or replace temp table {FILE_TABLE} as select {kept}, {ROW_NUMBER}, {REASON}, "
        f"case when {REASON} <> '' then cast({record} as varchar) end as {RECORD} from {checked}"
    )
    names = ", ".join(sql_name(column.name) for column in source.columns)
    typed = ", ".join(typed_sql[column.name] for column in source.columns)
    connection.execute(
        f"insert into raw.{source.name} ({names}, _file_id, _row_number) "
        f"select {typed}, {file_id}, {ROW_NUMBER} from {FILE_TABLE} where {REASON} = ''"
    )
    connection.execute(
        f"insert into raw.quarantine select {file_id}, {sql_text(source.name)}, {sql_text(path.name)}, "
        f"{ROW_NUMBER}, {REASON}, {RECORD} from {FILE_TABLE} where {REASON} <> ''"
    )
    rows_read, rows_quarantined = connection.execute(
        f"select count(*), count(*) filter (where {REASON} <> '') from {FILE_TABLE}"
    ).fetchone()
    connection.execute(f"drop table {FILE_TABLE}")
    return int(rows_read), int(rows_quarantined)


def load_file(connection: duckdb.DuckDBPyConnection, source: Source, path: Path, sha256: str) -> FileResult:
    """Load one file in one transaction; raise UnreadableFile if it cannot be read as the source at all."""
    columns = file_columns(connection, path)
    missing = [name for name in source.required_columns if name not in columns]
    if missing:
        raise UnreadableFile(f"missing required columns: {', '.join(missing)}")
    with _transaction(connection):
        file_id = _next_file_id(connection)
        rows_read, rows_quarantined = _load_rows(connection, source, path, columns, file_id)
        result = FileResult(
            source.name, path.name, "loaded", rows_read, rows_read - rows_quarantined, rows_quarantined, None, file_id
        )
        _record_ledger(connection, path, sha256, result)
    return result


def reject_file(
    connection: duckdb.DuckDBPyConnection, source: Source, path: Path, sha256: str, error: str
) -> FileResult:
    """Set a file aside: its ledger row says why; this content is not loaded, nor tried again."""
    with _transaction(connection):
        result = FileResult(source.name, path.name, "rejected", error=error, file_id=_next_file_id(connection))
        _record_ledger(connection, path, sha256, result)
    return result


def seen_unchanged(connection: duckdb.DuckDBPyConnection, source: Source, path: Path) -> tuple[int, str] | None:
    """The ledger's row for this very file (same path and size) if the file was not modified since.

    Such a file is skipped without hashing it again: at a million members the inbox holds about
    900 MB, and hashing all of it every night would cost ~20 s. A file rewritten in place has a newer
    modification time, so it is hashed and compared by content as usual.
    """
    stat = path.stat()
    modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
    return connection.execute(
        "select file_id, status from raw.file_ledger where source = ? and file_path = ? and size_bytes = ? "
        "and loaded_at > ? order by file_id limit 1",
        [source.name, str(path.resolve()), stat.st_size, modified],
    ).fetchone()


def ingest_file(connection: duckdb.DuckDBPyConnection, source: Source, path: Path) -> FileResult:
    """Load a file unless this source already saw its content; set it aside if it cannot be read."""
    seen = seen_unchanged(connection, source, path)
    if seen is not None:
        return FileResult(source.name, path.name, "skipped", error=f"already {seen[1]} as file {seen[0]}")
    sha256 = file_sha256(path)
    seen = connection.execute(
        "select file_id, status from raw.file_ledger where source = ? and sha256 = ? order by file_id limit 1",
        [source.name, sha256],
    ).fetchone()
    if seen is not None:
        return FileResult(source.name, path.name, "skipped", error=f"same content already {seen[1]} as file {seen[0]}")
    try:
        return load_file(connection, source, path, sha256)
    except UnreadableFile as error:
        return reject_file(connection, source, path, sha256, str(error))
    except duckdb.InvalidInputException as error:
        # The header was fine but a later line was not (invalid UTF-8, wrong number of fields, ...).
        # Other errors (a full disk, a bug) propagate: they must not set the file aside for good.
        return reject_file(connection, source, path, sha256, f"not a readable file: {short_error(error)}")
