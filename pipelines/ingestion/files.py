"""Finding a source's files and reading one as text: every column VARCHAR, plus its 1-based data row number.

Files are only read here, never moved, changed or deleted.

Files read: `.csv`, `.csv.gz` (gzip-compressed CSV) and `.parquet`. CSV is UTF-8 with or without a
byte-order mark, LF or CRLF line ends, fields quoted with `"` (a quoted field may span lines). Any
other file in a source's inbox folder is listed as ignored, never read and never dropped in silence.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import zlib
from pathlib import Path
from typing import BinaryIO

import duckdb

from pipelines.core.errors import CpsError
from pipelines.core.sources import Source

SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet")

# Name of the row-number column the readers add; unusual so that it cannot clash with a file's own columns.
ROW_NUMBER = "_cps_row_number"

# DuckDB's tables of the lines its CSV reader could not read (one file at a time, per connection).
REJECT_SCANS = "_cps_reject_scans"
REJECT_ERRORS = "_cps_reject_errors"

# The longest line the CSV reader takes. Far above any real row, so that one oversized value (a runaway
# field of megabytes) is read and then quarantined by the value-length check rather than failing the file.
MAX_LINE_BYTES = 64 * 1024 * 1024


class UnreadableFile(Exception):
    """The file as a whole cannot be read as its source: it is rejected (loads nothing) with this reason."""


def is_supported(path: Path) -> bool:
    return path.name.lower().endswith(SUPPORTED_SUFFIXES)


def _folder_entries(source: Source, folder: Path) -> list[Path]:
    """Everything in the source's inbox folder (files, sub-folders, links), in file-name order."""
    sub_folder = folder / source.name
    if not folder.is_dir():
        raise CpsError(f"inbox folder not found: {folder}")
    if not sub_folder.is_dir() and source.optional:
        return []  # an optional source (legacy_accounts) may be absent from an inbox
    if not sub_folder.is_dir():
        raise CpsError(f"inbox folder for {source.name} not found: {sub_folder}")
    return sorted(sub_folder.iterdir(), key=lambda path: path.name)


def is_read(path: Path) -> bool:
    """A batch file the night reads: a regular file (or a link to one) of a supported format."""
    return path.is_file() and is_supported(path)


def source_files(source: Source, folder: Path) -> list[Path]:
    """The files of `source` under `folder` that are read, in arrival (file-name) order.

    `folder` is the folder the platform was given for the source: the inbox (whose sub-folder
    `<source>/` holds any number of batch files) or the catalogue folder (which holds exactly
    `<source>.csv`). A missing folder or catalogue file is an operator error, not an empty load.
    """
    if source.reference:
        path = folder / f"{source.name}.csv"
        if not path.is_file():
            raise CpsError(f"catalogue file not found: {path}")
        return [path]
    return [path for path in _folder_entries(source, folder) if is_read(path)]


def ignored_files(source: Source, folder: Path) -> list[Path]:
    """Whatever else is in the source's inbox folder (another format, a sub-folder, a broken link, a
    pipe): not read, but listed, never dropped in silence."""
    if source.reference:
        return []
    return [path for path in _folder_entries(source, folder) if not is_read(path)]


def ignored_reason(path: Path) -> str:
    """Why an entry of a source folder is not read (see ignored_files)."""
    if path.is_dir():
        return "not read: a folder (files in sub-folders of a source folder are not loaded)"
    if not path.is_file():
        return "not read: not a regular file (a broken link, a pipe or a device)"
    return "not read: only .csv, .csv.gz and .parquet files are loaded"


def inbox_strays(inbox: Path, source_names: set[str]) -> list[Path]:
    """Entries of the inbox itself that are no source folder (a file at the top, a misspelt folder)."""
    if not inbox.is_dir():
        return []
    return sorted((path for path in inbox.iterdir() if path.name not in source_names), key=lambda path: path.name)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_name(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(".parquet")


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _open_text_bytes(path: Path) -> BinaryIO:
    """The file's bytes, decompressed for a .gz file."""
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")


def csv_header(path: Path) -> list[str]:
    """The CSV file's column names; raises UnreadableFile for an empty, binary, non-UTF-8 or corrupt file.

    The header is read here (not guessed by a sniffer) so that a dirty data row cannot change how
    the whole file is read.
    """
    if path.stat().st_size == 0:
        raise UnreadableFile("empty file (not even a header row)")
    try:
        with _open_text_bytes(path) as handle:
            start = handle.read(64 * 1024)
    except (OSError, EOFError, zlib.error) as error:
        raise UnreadableFile(f"not a readable gzip file: {error}") from None
    first_line = start.split(b"\n", 1)[0]
    # Binary (a picture, a spreadsheet, UTF-16 text): NUL bytes in the header or all over the start. One
    # NUL byte in a field is that row's problem (quarantined: nul_byte), not the file's.
    sample = start[:8192]
    if b"\0" in first_line or sample.count(b"\0") * 100 > len(sample):
        raise UnreadableFile("not a CSV file (binary content)")
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"not UTF-8 (byte 0x{first_line[error.start]:02x} at line 1)") from None
    if not text.strip():
        raise UnreadableFile("empty file (no header row)")
    if "\r" in text.rstrip("\r"):
        raise UnreadableFile("lines end with a carriage return alone (old Mac style): save it with LF or CRLF ends")
    try:
        columns = next(csv.reader([text.rstrip("\r")]))
    except csv.Error as error:
        raise UnreadableFile(f"the header row is not CSV ({error})") from None
    unnamed = [str(place) for place, name in enumerate(columns, start=1) if not name.strip()]
    if unnamed:  # e.g. a trailing comma on the header line: what would its values be?
        raise UnreadableFile(f"header column {', '.join(unnamed)} has no name (a trailing comma?)")
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    if duplicated:
        raise UnreadableFile(f"column named twice in the header: {', '.join(duplicated)}")
    return columns


def record_start_line(path: Path, row_number: int) -> int:
    """The line of the file (the header being line 1) on which data row `row_number` starts: later than
    row_number + 1 when an earlier quoted field spans lines. row_number + 1 if the file does not parse."""
    try:
        with _open_text_bytes(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text)
            next(reader, None)
            previous_end = reader.line_num
            for number, _ in enumerate(reader, start=1):
                if number == row_number:
                    return previous_end + 1
                previous_end = reader.line_num
    except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error):
        pass
    return row_number + 1


def first_invalid_utf8(path: Path, line: int, line_start: int) -> str:
    """'byte 0xe9 at line 12': where the file stops being UTF-8 (DuckDB names the line and its offset)."""
    try:
        with _open_text_bytes(path) as handle:
            handle.seek(max(line_start, 0))
            chunk = handle.read(1 << 20)
        codecs.decode(chunk, "utf-8")
    except UnicodeDecodeError as error:
        return f"byte 0x{chunk[error.start]:02x} at line {line}"
    except (OSError, EOFError, zlib.error):
        pass
    return f"at line {line}"


def _csv_call(path: Path, columns: list[str]) -> str:
    # Explicit dialect (no guessing), the header's columns all as text, and a line with the wrong number
    # of fields set aside in DuckDB's reject tables (quarantined) rather than silently padded or cut.
    names = ", ".join(f"{sql_text(name)}: 'VARCHAR'" for name in columns)
    return (
        f"read_csv({sql_text(str(path))}, auto_detect = false, header = true, columns = {{{names}}},"
        " delim = ',', quote = '\"', escape = '\"', strict_mode = true, null_padding = false,"
        f" max_line_size = {MAX_LINE_BYTES}, encoding = 'utf-8',"
        f" store_rejects = true, rejects_scan = '{REJECT_SCANS}', rejects_table = '{REJECT_ERRORS}')"
    )


def clear_rejects(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(f"drop table if exists {REJECT_ERRORS}")
    connection.execute(f"drop table if exists {REJECT_SCANS}")


def reader_sql(path: Path, columns: list[str], native: frozenset[str] = frozenset()) -> str:
    """A relation of the file: its `columns` as VARCHAR, in file order, and ROW_NUMBER (1-based, file order).

    For CSV, ROW_NUMBER counts the rows DuckDB could read; lines it could not read are in REJECT_ERRORS
    (see load.py, which renumbers so that both count from the same start). The Parquet columns named in
    `native` keep their own type.
    """
    if is_parquet(path):
        casts = ", ".join(
            sql_name(name) if name in native else f"cast({sql_name(name)} as varchar) as {sql_name(name)}"
            for name in columns
        )
        call = f"read_parquet({sql_text(str(path))}, file_row_number = true)"
        return f"(select {casts}, file_row_number + 1 as {ROW_NUMBER} from {call})"
    # WITH ORDINALITY numbers the rows in file order, also when DuckDB reads the file in parallel.
    aliases = ", ".join(sql_name(name) for name in [*columns, ROW_NUMBER])
    return f"(select * from {_csv_call(path, columns)} with ordinality as _file({aliases}))"


def file_columns(connection: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """The file's columns and their types (all VARCHAR for CSV), in file order.

    Raises UnreadableFile if it is not a readable CSV/Parquet.
    """
    if path.stat().st_size == 0:
        raise UnreadableFile("empty file (not even a header row)")
    if not is_parquet(path):
        return dict.fromkeys(csv_header(path), "VARCHAR")
    try:
        described = connection.execute(f"describe select * from read_parquet({sql_text(str(path))})").fetchall()
    except duckdb.Error as error:
        raise UnreadableFile(f"not a readable Parquet file: {short_error(error)}") from None
    return {str(row[0]): str(row[1]) for row in described}


def short_error(error: BaseException) -> str:
    """The gist of a DuckDB error, on one line for a ledger row and a log line.

    Keeps the first paragraph without the offending line's content (which may be binary or personal data).
    """
    kept = []
    for line in str(error).strip().splitlines():
        if not line.strip():
            break
        if not line.startswith(("Original Line", "LINE ")):
            kept.append(line.strip())
    return (" ".join(kept) or type(error).__name__)[:300]
