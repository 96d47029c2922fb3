"""Finding a source's files and reading one as text: every column VARCHAR, plus its 1-based data row number.

Files are only read here, never moved, changed or deleted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from pipelines.core.errors import CpsError
from pipelines.core.sources import Source

SUPPORTED_SUFFIXES = (".csv", ".parquet")

# Name of the row-number column the readers add; unusual so that it cannot clash with a file's own columns.
ROW_NUMBER = "_cps_row_number"


class UnreadableFile(Exception):
    """The file as a whole cannot be read as its source: it is set aside (rejected), the others go on."""


def source_files(source: Source, folder: Path) -> list[Path]:
    """The files of `source` under `folder`, in arrival (file-name) order.

    `folder` is the folder the platform was given for the source: the inbox (whose sub-folder
    `<source>/` holds any number of .csv/.parquet files) or the catalogue folder (which holds
    `<source>.csv`). A missing folder or catalogue file is an operator error, not an empty load.
    """
    if source.reference:
        path = folder / f"{source.name}.csv"
        if not path.is_file():
            raise CpsError(f"catalogue file not found: {path}")
        return [path]
    sub_folder = folder / source.name
    if not folder.is_dir():
        raise CpsError(f"inbox folder not found: {folder}")
    if not sub_folder.is_dir() and source.optional:
        return []
    if not sub_folder.is_dir():
        raise CpsError(f"inbox folder for {source.name} not found: {sub_folder}")
    return sorted(
        (path for path in sub_folder.iterdir() if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES),
        key=lambda path: path.name,
    )


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
    return path.suffix.lower() == ".parquet"


def _csv_call(path: Path) -> str:
    # Explicit dialect (no guessing of delimiter or quoting), every value as text, a header row,
    # and a line with the wrong number of fields is an error rather than silently padded.
    return (
        f"read_csv({sql_text(str(path))}, header = true, all_varchar = true, delim = ',', quote = '\"',"
        " escape = '\"', strict_mode = true, null_padding = false)"
    )


def reader_sql(path: Path, columns: list[str]) -> str:
    """A relation of the file: its `columns` as VARCHAR, in file order, and ROW_NUMBER (1-based, file order)."""
    if is_parquet(path):
        casts = ", ".join(f"cast({sql_name(name)} as varchar) as {sql_name(name)}" for name in columns)
        call = f"read_parquet({sql_text(str(path))}, file_row_number = true)"
        return f"(select {casts}, file_row_number + 1 as {ROW_NUMBER} from {call})"
    # WITH ORDINALITY numbers the rows in file order, also when DuckDB reads the file in parallel.
    aliases = ", ".join(sql_name(name) for name in [*columns, ROW_NUMBER])
    return f"(select * from {_csv_call(path)} with ordinality as _file({aliases}))"


def file_columns(connection: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The file's column names, in file order; raises UnreadableFile if it is not a readable CSV/Parquet."""
    if path.stat().st_size == 0:
        raise UnreadableFile("empty file (not even a header row)")
    call = f"read_parquet({sql_text(str(path))})" if is_parquet(path) else _csv_call(path)
    kind = "Parquet" if is_parquet(path) else "CSV"
    try:
        described = connection.execute(f"describe select * from {call}").fetchall()
    except duckdb.Error as error:
        raise UnreadableFile(f"not a readable {kind} file: {short_error(error)}") from None
    return [row[0] for row in described]


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
