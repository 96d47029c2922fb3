"""Loading one file into its raw table, with its ledger row and its quarantined rows, in one transaction.

A kill in the middle of a file leaves nothing of it (DuckDB rolls back the open transaction), so the
next run loads it again. The ledger (raw.file_ledger) knows every file content by sha256: content seen
before, loaded or rejected, is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipelines.core.errors import CpsError, InputRejected
from pipelines.core.sources import DUCKDB_TYPES, ColumnType, Source
from pipelines.ingestion.checks import is_native, reason_sql, typed_value
from pipelines.ingestion.files import (
    REJECT_ERRORS,
    ROW_NUMBER,
    UnreadableFile,
    clear_rejects,
    file_columns,
    file_sha256,
    first_invalid_utf8,
    ignored_reason,
    is_parquet,
    reader_sql,
    record_start_line,
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
    "status": "VARCHAR",  # loaded | rejected | ignored
    "rows_read": "BIGINT",  # NULL (unknown) for a rejected or ignored file
    "rows_loaded": "BIGINT",
    "rows_quarantined": "BIGINT",
    "error": "VARCHAR",  # why a file was rejected or ignored
    "as_of_date": "DATE",  # the night that saw the file (added later: older warehouses gain it, NULL)
}
# Which catalogue each night used: one row per night and reference source (a re-run replaces its rows).
CATALOG_SNAPSHOT_COLUMNS = {
    "as_of_date": "DATE",
    "source": "VARCHAR",
    "file_name": "VARCHAR",
    "file_path": "VARCHAR",
    "sha256": "VARCHAR",
    "file_id": "BIGINT",
    "recorded_at": "TIMESTAMP",
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

# How DuckDB's CSV reader names a line it could not read -> the quarantine reason of that row. Any
# other kind (not UTF-8, a quote never closed) means the file cannot be read as a whole: rejected.
MALFORMED_ROW_REASONS = {
    "TOO MANY COLUMNS": "malformed_row:too_many_fields",
    "MISSING COLUMNS": "malformed_row:too_few_fields",
    "LINE SIZE OVER MAXIMUM": "malformed_row:line_too_long",
    # text after a closing quote ("abc"def): one bad row; a quote that runs on over the following lines
    # is not (see _check_csv_rejects)
    "UNQUOTED VALUE": "malformed_row:stray_quote",
}

# Working table of the file being loaded (connection-local, dropped at the end of the load).
FILE_TABLE = "_cps_file"
REASON = "_cps_reason"
REJECTED_LINES = "_cps_rejected_lines"
TYPED_PREFIX = "_cps_typed_"
RECORD = "_cps_record"
# Longest value kept in a quarantined row's record (the full value is in the file).
MAX_RECORD_VALUE = 2000


@dataclass(frozen=True)
class FileResult:
    """What happened to one file: loaded, skipped (content seen before), rejected (loads nothing) or ignored.

    The row counts of a rejected or ignored file are 0 here and unknown (NULL) in the ledger.
    """

    source: str
    file_name: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    file_id: int | None = None
    repeats: str | None = None  # skipped: the name of the other file whose content it repeats


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
    expected = list(columns.items())
    if found == expected[: len(found)] and len(found) < len(expected):
        # A warehouse from before a column was added at the end (e.g. the ledger's as_of_date).
        for name, sql_type in expected[len(found) :]:
            connection.execute(f"alter table raw.{table} add column {sql_name(name)} {sql_type}")
        found = expected
    if [(name, sql_type) for name, sql_type in found] != expected:
        raise CpsError(f"raw.{table} in the warehouse does not have the expected columns; rebuild the warehouse")


def create_raw_tables(connection: duckdb.DuckDBPyConnection, sources: tuple[Source, ...]) -> None:
    """The raw schema: one table per source, the ledger, the quarantine and the reconciliation view."""
    connection.execute("create schema if not exists raw")
    _create_table(connection, "file_ledger", LEDGER_COLUMNS)
    _create_table(connection, "quarantine", QUARANTINE_COLUMNS)
    _create_table(connection, "catalog_snapshots", CATALOG_SNAPSHOT_COLUMNS)
    for source in sources:
        _create_table(connection, source.name, raw_table_columns(source))
    connection.execute(reconciliation_view_sql(sources))
    connection.execute(
        "create or replace view raw.rejected_files as select as_of_date, source, file_name, file_path, sha256, "
        "rows_read, "
        "error, loaded_at as seen_at, file_id from raw.file_ledger where status = 'rejected'"
    )
    connection.execute(
        "create or replace view raw.ignored_files as select as_of_date, source, file_name, file_path, "
        "size_bytes, error, loaded_at as seen_at from raw.file_ledger where status = 'ignored'"
    )


def reconciliation_view_sql(sources: tuple[Source, ...]) -> str:
    """raw.reconciliation: per file, the ledger's counts beside the rows really in raw and in quarantine.

    For a file that was read, `balanced` holds when rows_read = rows_loaded + rows_quarantined and both
    match the stored rows. A rejected (or ignored) file counts as a file, its rows unknown: it is
    balanced when nothing of it is stored. Rows stored under a file id (or source) the ledger does
    not know show up unbalanced too.
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
                case when ledger.status in ('rejected', 'ignored')
                then coalesce(stored.rows_in_raw, 0) = 0 and coalesce(held.rows_in_quarantine, 0) = 0 end,
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


def _record_ledger(
    connection: duckdb.DuckDBPyConnection, path: Path, sha256: str | None, result: FileResult, as_of: date | None
) -> None:
    read = result.status not in ("rejected", "ignored")
    target = path.is_file()  # a broken link or a pipe (listed as ignored) has none
    connection.execute(
        "insert into raw.file_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.file_id,
            result.source,
            result.file_name,
            str(path.resolve() if target else path.absolute()),
            sha256,
            (path.stat() if target else path.lstat()).st_size,
            datetime.now(UTC).replace(tzinfo=None),
            result.status,
            result.rows_read if read else None,
            result.rows_loaded,
            result.rows_quarantined,
            result.error,
            as_of,
        ],
    )


class TooManyQuarantined(UnreadableFile):
    """More of the file's rows break the schema than policy allows: most likely a changed export format."""


class CatalogueRowError(Exception):
    """A catalogue row breaks the schema: the night fails naming the key and the line."""

    def __init__(self, key: str, line: int, reason: str) -> None:
        super().__init__(f"{key} at line {line}: {reason}")
        self.key, self.line, self.reason = key, line, reason


def _renumber_after_rejects(connection: duckdb.DuckDBPyConnection) -> int:
    """Number the rows DuckDB read by their place among all the file's rows; returns the lines set aside.

    WITH ORDINALITY counts only the rows read. A rejected line r (its data row = line - 1) comes after
    r - i rows that were read (i = its rank among the rejects), so the k-th read row is row
    k + (number of rejects with r - i < k). Rejects are few (else the file is rejected anyway).
    """
    rejects = int(connection.execute(f"select count(*) from {REJECTED_LINES}").fetchone()[0])
    if rejects:
        connection.execute(
            f"update {FILE_TABLE} set {ROW_NUMBER} = {ROW_NUMBER} + (select count(*) from "
            f"(select line - 1 - row_number() over (order by line) as read_before from {REJECTED_LINES}) "
            f"where read_before < {FILE_TABLE}.{ROW_NUMBER})"
        )
    return rejects


def _check_csv_rejects(connection: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Reject the file if DuckDB set aside a line that means the file as a whole cannot be read."""
    fatal = connection.execute(
        f"select error_type, line, line_byte_position from {REJECT_ERRORS} "
        f"where error_type not in ({', '.join(sql_text(kind) for kind in MALFORMED_ROW_REASONS)}) "
        # a quote never closed swallows the lines after it: the file's rows from there on are unknown
        "or (error_type = 'UNQUOTED VALUE' and contains(rtrim(csv_line, chr(13) || chr(10)), chr(10))) "
        "order by line limit 1"
    ).fetchone()
    if fatal is None:
        return
    kind, line, line_start = fatal
    if kind == "INVALID ENCODING":
        raise UnreadableFile(f"not UTF-8 ({first_invalid_utf8(path, int(line), int(line_start))})")
    if kind == "UNQUOTED VALUE":
        raise UnreadableFile(f"a quote opened at line {line} is never closed")
    raise UnreadableFile(f"not a readable CSV file: {kind.lower()} at line {line}")


def _load_rows(
    connection: duckdb.DuckDBPyConnection, source: Source, path: Path, column_types: dict[str, str], file_id: int
) -> tuple[int, int]:
    """Check every row of the file, append the good ones to raw.<source> and the others to the quarantine.

    `column_types` are the file's columns and their types. Returns (rows read, rows quarantined). Runs
    inside the caller's transaction. Leaves FILE_TABLE (the file's rows, typed, with their reasons) for
    the caller's checks; the caller drops it.
    """
    columns = list(column_types)
    present = set(columns)
    native = frozenset(
        column.name
        for column in source.columns
        if column.name in present and is_parquet(path) and is_native(column, column_types[column.name])
    )
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
        f", {typed_value(column, text_sql[column.name], column.name in native)} as {typed_sql[column.name]}"
        for column in source.columns
        if column.type is not ColumnType.TEXT
    )
    checked = (
        f"(select *, {reason_sql(source, text_sql, typed_sql, native)} as {REASON} "
        f"from (select *{typed_columns} from {reader_sql(path, columns, native)}))"
    )
    # The row as read (values cut at MAX_RECORD_VALUE, so one runaway field does not bloat the quarantine).
    record = (
        "to_json({"
        + ", ".join(
            f"{sql_text(name)}: left(cast({sql_name(name)} as varchar), {MAX_RECORD_VALUE})" for name in columns
        )
        + "})"
    )
    # One pass over the file, kept for the two inserts: typed values, row number, reasons, and the
    # row as read for the (few) rows that break the schema.
    kept = ", ".join(
        typed_sql[column.name]
        for column in source.columns
        if column.type is not ColumnType.TEXT or column.name in present
    )
    csv_file = not is_parquet(path)
    if csv_file:
        clear_rejects(connection)
    connection.execute(
        f"create or replace temp table {FILE_TABLE} as select {kept}, {ROW_NUMBER}, {REASON}, "
        f"case when {REASON} <> '' then cast({record} as varchar) end as {RECORD} from {checked}"
    )
    set_aside = 0
    if csv_file:
        _check_csv_rejects(connection, path)
        # DuckDB may note several errors for one line (one per extra field): one quarantined row per line.
        connection.execute(
            f"create or replace temp table {REJECTED_LINES} as select line, min(error_type) as error_type, "
            f"any_value(csv_line) as csv_line from {REJECT_ERRORS} group by line"
        )
        set_aside = _renumber_after_rejects(connection)
        if set_aside:
            reasons = " ".join(
                f"when {sql_text(kind)} then {sql_text(reason)}" for kind, reason in MALFORMED_ROW_REASONS.items()
            )
            connection.execute(
                f"insert into raw.quarantine select {file_id}, {sql_text(source.name)}, {sql_text(path.name)}, "
                f"line - 1, case error_type {reasons} end, "
                f"cast(to_json({{'line': left(csv_line, {MAX_RECORD_VALUE})}}) as varchar) from {REJECTED_LINES}"
            )
        clear_rejects(connection)
        connection.execute(f"drop table {REJECTED_LINES}")
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
    return int(rows_read) + set_aside, int(rows_quarantined) + set_aside


def _check_quarantined_share(rows_read: int, rows_quarantined: int, max_share: float) -> None:
    """A file with more than max_share of its rows quarantined is rejected (a changed export format would
    otherwise pass as mass quarantine), but one bad row never rejects its file, however small the file."""
    if rows_read and rows_quarantined > 1 and rows_quarantined / rows_read > max_share:
        raise TooManyQuarantined(
            f"{rows_quarantined:,} of {rows_read:,} rows break the schema ({rows_quarantined / rows_read:.1%}, "
            f"more than the {max_share:.1%} allowed: a changed export format?)"
        )


def _check_reference_rows(connection: duckdb.DuckDBPyConnection, source: Source, file_id: int) -> None:
    """A catalogue file must be clean: no quarantined row, no key twice, no link to a missing or circular key.

    Raises CatalogueRowError for the first offending row (line = data row + 1, the header being line 1).
    """
    key = sql_name(source.key)
    bad = connection.execute(
        "select coalesce(json_extract_string(record, ?), json_extract_string(record, '$.line')), row_number, reason "
        "from raw.quarantine where file_id = ? order by row_number limit 1",
        [f"$.{source.key}", file_id],
    ).fetchone()
    if bad is not None:
        # A line DuckDB could not split into fields has no key column: name its first field.
        raise CatalogueRowError(str(bad[0]).split(",")[0], int(bad[1]) + 1, bad[2])
    twice = connection.execute(
        f"select {key}, max({ROW_NUMBER}) from {FILE_TABLE} group by {key} having count(*) > 1 order by 2 limit 1"
    ).fetchone()
    if twice is not None:
        raise CatalogueRowError(str(twice[0]), int(twice[1]) + 1, f"duplicate {source.key}")
    for column in source.columns:
        if not column.refers_to_own_key:
            continue
        link = sql_name(column.name)
        missing = connection.execute(
            f"select {key}, {ROW_NUMBER}, {link} from {FILE_TABLE} where nullif(trim({link}), '') is not null "
            f"and trim({link}) not in (select {key} from {FILE_TABLE}) order by {ROW_NUMBER} limit 1"
        ).fetchone()
        if missing is not None:
            raise CatalogueRowError(
                str(missing[0]), int(missing[1]) + 1, f"{column.name} {missing[2]} is not in the catalogue"
            )
        cycle = connection.execute(
            f"""
            with recursive links as (select {key} as start, trim({link}) as next, 1 as steps from {FILE_TABLE}
                where nullif(trim({link}), '') is not null
                union all
                select links.start, trim(f.{link}), links.steps + 1
                from links join {FILE_TABLE} f on f.{key} = links.next
                where nullif(trim(f.{link}), '') is not null and links.next <> links.start
                and links.steps <= (select count(*) from {FILE_TABLE}))
            select f.{key}, f.{ROW_NUMBER} from links join {FILE_TABLE} f on f.{key} = links.start
            where links.next = links.start order by f.{ROW_NUMBER} limit 1
            """
        ).fetchone()
        if cycle is not None:
            raise CatalogueRowError(str(cycle[0]), int(cycle[1]) + 1, f"{column.name} leads back to itself (a cycle)")


def load_file(
    connection: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    sha256: str,
    max_quarantined_share: float,
    as_of: date | None = None,
    file_id: int | None = None,
) -> FileResult:
    """Load one file in one transaction; raise UnreadableFile if it cannot be read as the source at all.

    `file_id` is the id the file gets (the next one when None). For reference data (the catalogue),
    raise CatalogueRowError for a row that breaks the schema.
    """
    column_types = file_columns(connection, path)
    missing = [name for name in source.required_columns if name not in column_types]
    if missing:
        raise UnreadableFile(f"missing required columns: {', '.join(missing)}")
    with _transaction(connection):
        file_id = _next_file_id(connection) if file_id is None else file_id
        rows_read, rows_quarantined = _load_rows(connection, source, path, column_types, file_id)
        if source.reference:
            try:
                _check_reference_rows(connection, source, file_id)
            except CatalogueRowError as error:  # named by the line an editor shows, not the row's number
                raise CatalogueRowError(error.key, record_start_line(path, error.line - 1), error.reason) from None
            if rows_read == 0:
                raise CatalogueRowError("(none)", 1, "the file has no rows")
        _check_quarantined_share(rows_read, rows_quarantined, max_quarantined_share)
        connection.execute(f"drop table {FILE_TABLE}")
        result = FileResult(
            source.name, path.name, "loaded", rows_read, rows_read - rows_quarantined, rows_quarantined, None, file_id
        )
        _record_ledger(connection, path, sha256, result, as_of)
    return result


def reject_file(
    connection: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    sha256: str,
    error: str,
    as_of: date | None = None,
    file_id: int | None = None,
) -> FileResult:
    """Set a file aside: it loads nothing, its ledger row says why; this content is not tried again."""
    with _transaction(connection):
        file_id = _next_file_id(connection) if file_id is None else file_id
        result = FileResult(source.name, path.name, "rejected", error=error, file_id=file_id)
        _record_ledger(connection, path, sha256, result, as_of)
    return result


def ignore_file(
    connection: duckdb.DuckDBPyConnection, source: Source, path: Path, as_of: date | None, file_id: int | None = None
) -> FileResult:
    """List a file in a source folder that is not read (another format) in the ledger, for the night's summary."""
    error = ignored_reason(path)
    with _transaction(connection):
        file_id = _next_file_id(connection) if file_id is None else file_id
        result = FileResult(source.name, path.name, "ignored", error=error, file_id=file_id)
        _record_ledger(connection, path, None, result, as_of)
    return result


def seen_unchanged(connection: duckdb.DuckDBPyConnection, source: Source, path: Path) -> tuple[int, str] | None:
    """The ledger's row for this very file (same path and size) if the file was not modified since."""
    return seen_unchanged_files(connection, source, [path]).get(path)


def seen_unchanged_files(
    connection: duckdb.DuckDBPyConnection, source: Source, paths: list[Path]
) -> dict[Path, tuple[int, str]]:
    """Of these files, those the ledger saw at the same path and size, not modified since: their first row's
    file id and status.

    Such a file is skipped without hashing it again: at a million members the inbox holds about
    900 MB, and hashing all of it every night would cost ~20 s. A file rewritten in place has a newer
    modification time, so it is hashed and compared by content as usual. One query for all the files
    (a query per file cost ~0.5 s a night with a few hundred files).
    """
    rows = connection.execute(
        "select file_path, size_bytes, loaded_at, file_id, status from raw.file_ledger "
        "where source = ? and status = 'loaded' order by file_id",
        [source.name],
    ).fetchall()
    ledger: dict[tuple[str, int], list[tuple[datetime, int, str]]] = {}
    for file_path, size_bytes, loaded_at, file_id, status in rows:
        ledger.setdefault((file_path, size_bytes), []).append((loaded_at, file_id, status))
    found: dict[Path, tuple[int, str]] = {}
    for path in paths:
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
        for loaded_at, file_id, status in ledger.get((str(path.resolve()), stat.st_size), []):
            if loaded_at > modified:
                found[path] = (file_id, status)
                break
    return found


def seen_contents(connection: duckdb.DuckDBPyConnection, source: Source) -> dict[str, tuple[int, str, str]]:
    """Every file content (sha256) this source loaded before, with the first such file's id, status and name.

    A rejected content is not among them: it loaded nothing, so it is read (and rejected) again on every
    run that finds it in the inbox, and fails that night too, until it is fixed or removed.
    """
    rows = connection.execute(
        "select sha256, min(file_id), min_by(status, file_id), min_by(file_name, file_id) from raw.file_ledger "
        "where source = ? and status = 'loaded' and sha256 is not null group by sha256",
        [source.name],
    ).fetchall()
    return {sha256: (int(file_id), status, name) for sha256, file_id, status, name in rows}


def next_file_id(connection: duckdb.DuckDBPyConnection) -> int:
    """The id the next file recorded in the ledger gets (ids follow the order files are taken in)."""
    return _next_file_id(connection)


def read_or_reject(
    connection: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    sha256: str,
    max_quarantined_share: float,
    as_of: date | None,
    file_id: int | None = None,
) -> FileResult:
    """Load the file, or reject it (a ledger row with the reason) when it cannot be read as the source."""
    try:
        return load_file(connection, source, path, sha256, max_quarantined_share, as_of, file_id)
    except UnreadableFile as error:
        reason = str(error)
    except duckdb.InvalidInputException as error:
        # The header was fine but a later line was not. Other errors (a full disk, a bug) propagate:
        # they must not set the file aside for good.
        reason = f"not a readable file: {short_error(error)}"
        if "state machine reached an invalid state" in str(error):  # DuckDB's words, not the operator's
            reason = (
                "not a readable CSV file: a carriage return (or a quote) inside an unquoted field, where the "
                "file's rows cannot be told apart; quote that field or remove the character"
            )
    except duckdb.IOException as error:
        if "gzip" not in str(error).lower():
            raise
        reason = f"not a readable gzip file: {short_error(error)}"
    return reject_file(connection, source, path, sha256, reason, as_of, file_id)


def ingest_file(
    connection: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    max_quarantined_share: float,
    as_of: date | None = None,
) -> FileResult:
    """Load an inbox file unless this source already saw its content; reject it if it cannot be read."""
    seen = seen_unchanged(connection, source, path)
    if seen is not None:
        return FileResult(source.name, path.name, "skipped", error=f"already {seen[1]} as file {seen[0]}")
    sha256 = file_sha256(path)
    seen = connection.execute(
        "select file_id, status from raw.file_ledger where source = ? and sha256 = ? "
        "and status = 'loaded' order by file_id limit 1",
        [source.name, sha256],
    ).fetchone()
    if seen is not None:
        return FileResult(source.name, path.name, "skipped", error=f"same content already {seen[1]} as file {seen[0]}")
    return read_or_reject(connection, source, path, sha256, max_quarantined_share, as_of)


def ingest_reference_file(
    connection: duckdb.DuckDBPyConnection, source: Source, path: Path, as_of: date | None = None
) -> FileResult:
    """Load a catalogue file as tonight's snapshot: skipped only when it is the snapshot already in use.

    Unlike inbox files, content seen before is loaded again when another file was used since (an older
    products.csv put back restores the old catalogue). Raises CatalogueRowError for a bad row and
    UnreadableFile (via the ledger's reason) when the file cannot be read.
    """
    sha256 = file_sha256(path)
    in_use = connection.execute(
        "select file_id, sha256 from raw.file_ledger where source = ? and status = 'loaded' "
        "order by file_id desc limit 1",
        [source.name],
    ).fetchone()
    if in_use is not None and in_use[1] == sha256:
        in_use_text = f"same content as the catalogue in use (file {in_use[0]})"
        return FileResult(source.name, path.name, "skipped", error=in_use_text)
    advice = "fix it (or put the previous file back) and run again"
    try:
        result = read_or_reject(connection, source, path, sha256, 0.0, as_of)
    except CatalogueRowError as error:
        raise InputRejected(
            f"bad catalogue row in {path.name}: {source.key} {error.key} at line {error.line}: {error.reason}; {advice}"
        ) from None
    if result.status == "rejected":
        raise InputRejected(f"rejected catalogue file {path.name}: {result.error}; {advice}")
    return result


def record_catalog_snapshot(connection: duckdb.DuckDBPyConnection, sources: tuple[Source, ...], as_of: date) -> None:
    """Record which catalogue file (by sha256) each reference source of the night `as_of` uses."""
    with _transaction(connection):
        connection.execute("delete from raw.catalog_snapshots where as_of_date = ?", [as_of])
        for source in sources:
            connection.execute(
                "insert into raw.catalog_snapshots select ?, source, file_name, file_path, sha256, file_id, ? "
                "from raw.file_ledger where source = ? and status = 'loaded' order by file_id desc limit 1",
                [as_of, datetime.now(UTC).replace(tzinfo=None), source.name],
            )
