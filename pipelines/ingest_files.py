"""Loading one file into its raw table: read, type-check every row in SQL, quarantine what breaks.

Everything of one file (raw rows, quarantined rows, its ledger row) is written in one transaction,
so a kill in the middle of a file leaves nothing of it, and the next run loads it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.sources import DUCKDB_TYPES, Column, ColumnType, Source

SUPPORTED_SUFFIXES = (".csv", ".parquet")

LEDGER_DDL = """
create table if not exists raw.file_ledger (
    file_id bigint primary key,
    source varchar not null,
    file_name varchar not null,
    file_path varchar not null,
    sha256 varchar not null,
    size_bytes bigint not null,
    loaded_at timestamp not null,
    status varchar not null,          -- loaded | rejected
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    error varchar
)
"""

QUARANTINE_DDL = """
create table if not exists raw.quarantine (
    file_id bigint not null,
    source varchar not null,
    file_name varchar not null,
    row_number bigint not null,
    reason varchar not null,
    record varchar not null           -- the row as read, as JSON
)
"""


@dataclass(frozen=True)
class FileResult:
    source: str
    file_name: str
    status: str  # loaded | skipped | rejected
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None


class UnreadableFile(Exception):
    """The file as a whole cannot be read as its source: it is set aside, the others go on."""


def create_raw_tables(connection: duckdb.DuckDBPyConnection, sources: tuple[Source, ...]) -> None:
    connection.execute("create schema if not exists raw")
    connection.execute(LEDGER_DDL)
    connection.execute(QUARANTINE_DDL)
    for source in sources:
        columns = ",\n    ".join(f'"{column.name}" {DUCKDB_TYPES[column.type]}' for column in source.columns)
        connection.execute(
            f"create table if not exists raw.{source.name} (\n    {columns},\n"
            "    _file_id bigint not null,\n    _row_number bigint not null\n)"
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def reader_sql(path: Path) -> str:
    """A relation of the file with every column as text and its 1-based data row number."""
    quoted = sql_text(str(path))
    if path.suffix.lower() == ".parquet":
        return f"(select *, row_number() over () as _row_number from read_parquet({quoted}))"
    return (
        f"(select * from read_csv({quoted}, header = true, all_varchar = true, delim = ',', quote = '\"',"
        " escape = '\"', strict_mode = true, null_padding = false) with ordinality as t)"
    )


def file_columns(connection: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    if path.stat().st_size == 0:
        raise UnreadableFile("empty file")
    try:
        described = connection.execute(f"describe select * from {reader_sql(path)}").fetchall()
    except duckdb.Error as error:
        raise UnreadableFile(f"not a readable {path.suffix.lstrip('.').upper()} file: {first_line(error)}") from None
    return [row[0] for row in described]


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def blank(value_sql: str) -> str:
    return f"(nullif(trim({value_sql}), '') is null)"


def typed_value(column: Column, value_sql: str) -> str:
    """The SQL that turns the text value into the column's type (NULL when blank or unparseable)."""
    text = f"nullif(trim({value_sql}), '')"
    if column.default is not None:
        text = f"coalesce({text}, {sql_text(column.default)})"
    match column.type:
        case ColumnType.DATE:
            return f"cast(try_strptime({text}, '%Y-%m-%d') as date)"
        case ColumnType.TIMESTAMP:
            return f"cast(try_cast({text} as timestamptz) as timestamp)"
        case ColumnType.BOOLEAN:
            return f"case lower({text}) when 'true' then true when 'false' then false end"
        case ColumnType.INTEGER:
            return f"try_cast({text} as bigint)"
        case ColumnType.ENUM:
            return text
        case _:
            return value_sql  # text is kept verbatim: blank handling is a rule downstream


def row_reasons(column: Column, value_sql: str) -> list[str]:
    """SQL expressions, each the reason text when the value breaks the schema, else NULL."""
    reasons = []
    if column.required and column.default is None:
        reasons.append(f"case when {blank(value_sql)} then 'missing_required:{column.name}' end")
    present = f"not {blank(value_sql)}"
    typed = typed_value(column, value_sql)
    kind = {
        ColumnType.DATE: "bad_date",
        ColumnType.TIMESTAMP: "bad_timestamp",
        ColumnType.BOOLEAN: "bad_boolean",
        ColumnType.INTEGER: "bad_integer",
    }.get(column.type)
    if kind:
        reasons.append(f"case when {present} and {typed} is null then '{kind}:{column.name}' end")
    if column.type is ColumnType.INTEGER and column.minimum is not None:
        reasons.append(f"case when {typed} < {column.minimum} then 'below_minimum:{column.name}' end")
    if column.type is ColumnType.ENUM:
        allowed = ", ".join(sql_text(value) for value in column.allowed)
        unknown = f"{present} and trim({value_sql}) not in ({allowed})"
        reasons.append(f"case when {unknown} then 'bad_enum:{column.name}' end")
    return reasons


def load_file(connection: duckdb.DuckDBPyConnection, source: Source, path: Path, sha256: str) -> FileResult:
    """Load one file in one transaction; raise UnreadableFile if it cannot be read at all."""
    present = set(file_columns(connection, path))
    missing = [name for name in source.required_columns if name not in present]
    if missing:
        raise UnreadableFile(f"missing required columns: {', '.join(missing)}")

    def value(column: Column) -> str:
        return f'cast("{column.name}" as varchar)' if column.name in present else "cast(null as varchar)"

    reasons = [reason for column in source.columns for reason in row_reasons(column, value(column))]
    reason_sql = f"concat_ws(',', {', '.join(reasons)})" if reasons else "''"
    typed_columns = ", ".join(f'{typed_value(column, value(column))} as "{column.name}"' for column in source.columns)
    record_sql = "to_json({" + ", ".join(f"'{name}': \"{name}\"" for name in sorted(present)) + "})"
    row_number = "ordinality" if path.suffix.lower() == ".csv" else "_row_number"

    connection.execute("begin transaction")
    try:
        file_id = connection.execute("select coalesce(max(file_id), 0) + 1 from raw.file_ledger").fetchone()[0]
        connection.execute(
            f"create or replace temp table _checked as select {typed_columns}, {record_sql}::varchar as _record, "
            f"{row_number} as _row_number, {reason_sql} as _reason from {reader_sql(path)}"
        )
        names = ", ".join(f'"{column.name}"' for column in source.columns)
        connection.execute(
            f"insert into raw.{source.name} ({names}, _file_id, _row_number) "
            f"select {names}, ?, _row_number from _checked where _reason = '' order by _row_number",
            [file_id],
        )
        connection.execute(
            "insert into raw.quarantine select ?, ?, ?, _row_number, _reason, _record "
            "from _checked where _reason <> '' order by _row_number",
            [file_id, source.name, path.name],
        )
        rows_read, rows_quarantined = connection.execute(
            "select count(*), count(*) filter (where _reason <> '') from _checked"
        ).fetchone()
        result = FileResult(source.name, path.name, "loaded", rows_read, rows_read - rows_quarantined, rows_quarantined)
        record_ledger(connection, file_id, source, path, sha256, result)
        connection.execute("drop table _checked")
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise
    return result


def record_ledger(
    connection: duckdb.DuckDBPyConnection, file_id: int, source: Source, path: Path, sha256: str, result: FileResult
) -> None:
    connection.execute(
        "insert into raw.file_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            file_id,
            source.name,
            path.name,
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


def reject_file(
    connection: duckdb.DuckDBPyConnection, source: Source, path: Path, sha256: str, error: str
) -> FileResult:
    """Set a file aside: its ledger row says why; its content is not loaded (and not tried again)."""
    result = FileResult(source.name, path.name, "rejected", error=error)
    connection.execute("begin transaction")
    file_id = connection.execute("select coalesce(max(file_id), 0) + 1 from raw.file_ledger").fetchone()[0]
    record_ledger(connection, file_id, source, path, sha256, result)
    connection.execute("commit")
    return result


def ingest_file(connection: duckdb.DuckDBPyConnection, source: Source, path: Path) -> FileResult:
    """Load a file unless its content was seen before; set it aside if it cannot be read."""
    sha256 = file_sha256(path)
    seen = connection.execute("select status from raw.file_ledger where sha256 = ? limit 1", [sha256]).fetchone()
    if seen is not None:
        return FileResult(source.name, path.name, "skipped", error=f"content already {seen[0]}")
    try:
        return load_file(connection, source, path, sha256)
    except UnreadableFile as error:
        return reject_file(connection, source, path, sha256, str(error))
    except duckdb.Error as error:
        # The file passed the header check but a row could not be parsed (bad encoding, ragged lines).
        return reject_file(connection, source, path, sha256, f"not a readable file: {first_line(error)}")


def reconciliation_gaps(connection: duckdb.DuckDBPyConnection, sources: tuple[Source, ...]) -> list[str]:
    """Files whose rows read differ from rows loaded + quarantined (there should be none)."""
    loaded = " union all ".join(
        f"select _file_id as file_id, count(*) as n from raw.{source.name} group by 1" for source in sources
    )
    rows = connection.execute(
        f"""
        with loaded as ({loaded}),
        quarantined as (select file_id, count(*) as n from raw.quarantine group by 1)
        select l.file_name, l.rows_read, coalesce(sum(d.n), 0), coalesce(max(q.n), 0)
        from raw.file_ledger as l
        left join loaded as d using (file_id)
        left join quarantined as q using (file_id)
        group by l.file_id, l.file_name, l.rows_read, l.rows_loaded, l.rows_quarantined
        having l.rows_read <> coalesce(sum(d.n), 0) + coalesce(max(q.n), 0)
            or l.rows_loaded <> coalesce(sum(d.n), 0)
            or l.rows_quarantined <> coalesce(max(q.n), 0)
        """
    ).fetchall()
    return [f"{name}: read {read}, loaded {done}, quarantined {held}" for name, read, done, held in rows]
