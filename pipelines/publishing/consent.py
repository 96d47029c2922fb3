"""Consent withdrawn after a marketing list was exported: the earlier nights' lists lose those rows.

Every exported list leaves out whoever has no marketing consent in the current night's data, a list
exported on an earlier night too. So each published night records, in `raw.exported_list_keys`, the
key of every row of its lists (member_id; the e-mail address for the come-back list of old accounts).
When a later night is published, each earlier list holding a key without consent in that night's data
is written again without those rows (its CSV line for line, its workbook from the same rows), and the
keys leave the table. A night in which nobody who was exported lost consent reads no list file.

The lists are rewritten in the staging folder and put in place as the night publishes, before its
warehouse (a run stopped in between has only removed rows whose consent is gone from its inputs).
Keys of nights past the retention period leave the table with their files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.core.warehouse import connect
from reports.exports import MarketingList, WrittenList, neutralise_cell, write_safe_xlsx
from reports.marketing import MARKETING_LISTS

EXPORTED_KEYS_TABLE = """
create table if not exists raw.exported_list_keys (
    as_of_date date not null,  -- the night whose list it is
    list_name varchar not null,  -- e.g. invitations: the file <list_name>_<as_of_date>.csv
    key_column varchar not null,  -- member_id, or email for the come-back list
    key varchar not null
)
"""

# The keys with marketing consent in the night's data, by key column. An old account's e-mail keeps its
# consent while the account consents and, once a member claimed it, while that member does.
CONSENTING_KEYS = {
    "member_id": "select member_id from marts.dim_members where marketing_opt_in",
    "email": """
        select a.email
        from staging.stg_legacy_accounts as a
        left join marts.rpt_migration as m on a.legacy_cps_number = m.legacy_cps_number
        left join marts.dim_members as d on m.member_id = d.member_id
        where a.marketing_opt_in and coalesce(d.marketing_opt_in, true)
    """,
}

# How a list's workbook column is typed again from its CSV text (DuckDB type of its export model).
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


@dataclass(frozen=True)
class ListPurge:
    """The rows of one earlier list to remove: the night, the list, and the keys of those rows."""

    night: date
    spec: MarketingList
    keys: frozenset[str]


@dataclass(frozen=True)
class StagedList:
    """A list written again without the withdrawn rows: its files (staged, target), waiting for the publish."""

    files: tuple[tuple[Path, Path], ...]  # the CSV, then the workbook if the night wrote one
    rows_removed: int


@dataclass(frozen=True)
class WithdrawnConsent:
    """The night's rewritten earlier lists, staged, and how many rows and lists that is."""

    staged: list[StagedList]

    @property
    def lists(self) -> int:
        return len(self.staged)

    @property
    def rows(self) -> int:
        return sum(item.rows_removed for item in self.staged)


def record_exported_keys(connection: duckdb.DuckDBPyConnection, night: date, lists: Iterable[WrittenList]) -> None:
    """The keys of the night's lists as written (a re-run of the night replaces them)."""
    connection.execute(EXPORTED_KEYS_TABLE)
    connection.execute("delete from raw.exported_list_keys where as_of_date = ?", [night])
    rows = [
        (night, written.spec.name, written.spec.key_column, key) for written in lists for key in sorted(written.keys)
    ]
    if rows:
        frame = pd.DataFrame(rows, columns=["as_of_date", "list_name", "key_column", "key"])
        connection.register("night_list_keys", frame)
        connection.execute("insert into raw.exported_list_keys by name select * from night_list_keys")
        connection.unregister("night_list_keys")


def withdrawn_keys(connection: duckdb.DuckDBPyConnection, night: date) -> list[ListPurge]:
    """The earlier lists holding keys without consent in this warehouse's night (lists the project no
    longer writes are left alone)."""
    specs = {spec.name: spec for spec in MARKETING_LISTS}
    found: dict[tuple[date, str], set[str]] = {}
    for key_column, consenting in CONSENTING_KEYS.items():
        rows = connection.execute(
            f"""
            select k.as_of_date, k.list_name, k.key
            from raw.exported_list_keys as k
            where k.key_column = ? and k.as_of_date <> ?
                and not exists (select 1 from ({consenting}) as c(consenting_key) where c.consenting_key = k.key)
            """,
            [key_column, night],
        ).fetchall()
        for as_of_date, list_name, key in rows:
            found.setdefault((as_of_date, list_name), set()).add(key)
    return [ListPurge(n, specs[name], frozenset(keys)) for (n, name), keys in sorted(found.items()) if name in specs]


def forget_keys(connection: duckdb.DuckDBPyConnection, purges: Iterable[ListPurge]) -> None:
    for purge in purges:
        connection.executemany(
            "delete from raw.exported_list_keys where as_of_date = ? and list_name = ? and key = ?",
            [[purge.night, purge.spec.name, key] for key in sorted(purge.keys)],
        )


def plan_consent_purge(
    database: Path, night: date, lists: Iterable[WrittenList], reference: date, retention_days: int
) -> list[ListPurge]:
    """Record the night's exported keys in its build, and take out (and return) the earlier lists' keys
    whose consent is gone in it."""
    connection = connect(database)
    try:
        record_exported_keys(connection, night, lists)
        # keys of lists past retention go with their files (apply_retention)
        cutoff = reference - timedelta(days=retention_days)
        connection.execute("delete from raw.exported_list_keys where as_of_date < ?", [cutoff])
        purges = withdrawn_keys(connection, night)
        forget_keys(connection, purges)
        return purges
    finally:
        connection.close()


def stage_purged_lists(database: Path, reports: Path, purges: Iterable[ListPurge], staging: Path) -> WithdrawnConsent:
    """Each list of `purges` written again into `staging` without its withdrawn rows (CSV and workbook)."""
    staged: list[StagedList] = []
    connection = connect(database, read_only=True)
    try:
        for purge in purges:
            source = reports / purge.night.isoformat() / f"{purge.spec.file_stem(purge.night)}.csv"
            if not source.is_file():  # never written there (e.g. another reports folder), or deleted
                continue
            header, kept, removed = filtered_rows(source, purge.spec.key_column, purge.keys)
            if not removed:
                continue
            folder = staging / purge.night.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            write_rows_csv(folder / source.name, header, kept)
            files = [(folder / source.name, source)]
            workbook = source.with_suffix(".xlsx")
            if workbook.is_file():
                types = column_types(connection, purge.spec.model)
                write_safe_xlsx(typed_frame(header, kept, types), folder / workbook.name, purge.spec.name)
                files.append((folder / workbook.name, workbook))
            staged.append(StagedList(tuple(files), removed))
    finally:
        connection.close()
    return WithdrawnConsent(staged)


def filtered_rows(path: Path, key_column: str, keys: frozenset[str]) -> tuple[list[str], list[list[str]], int]:
    """The CSV's header, its rows whose key is not among `keys` (as the file writes them), how many were not."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    index = header.index(str(neutralise_cell(key_column)))
    written_keys = {str(neutralise_cell(key)) for key in keys}
    kept = [row for row in rows if row[index] not in written_keys]
    return header, kept, len(rows) - len(kept)


def write_rows_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """The rows as reports.exports.write_safe_csv writes them (pandas writes through the csv module)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")


def column_types(connection: duckdb.DuckDBPyConnection, model: str) -> dict[str, str]:
    rows = connection.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'reporting' and table_name = ?",
        [model],
    ).fetchall()
    return {name: data_type.upper() for name, data_type in rows}


def typed_frame(header: list[str], rows: list[list[str]], types: dict[str, str]) -> pd.DataFrame:
    """The CSV's text as the list's values again: numbers and dates typed as in its export model (true/false
    were written as yes/no, and text is already neutralised: both stay text)."""
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    for column in header:
        data_type = types.get(column, "VARCHAR")
        values = frame[column].replace("", None)
        if data_type.startswith(INTEGER_TYPES):
            frame[column] = pd.to_numeric(values).astype("Int64")
        elif data_type.startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL")):
            frame[column] = pd.to_numeric(values)
        elif data_type.startswith(("DATE", "TIMESTAMP")):
            frame[column] = pd.to_datetime(values)
        else:
            frame[column] = values
    return frame
