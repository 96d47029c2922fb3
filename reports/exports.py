"""Files for spreadsheets: CSV with a byte-order mark (Excel reads UTF-8 then), Excel workbooks for the
marketing lists, cells that a spreadsheet would run as a formula neutralised, and the night's lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from reports.workbook import write_workbook

# A spreadsheet treats a cell starting with one of these as a formula (or a field separator).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading quote; other values are unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralise_column(values: pd.Series) -> pd.Series:
    """neutralise_cell on every cell; a text column (DuckDB's VARCHAR) in one vectorised pass."""
    if pd.api.types.is_string_dtype(values) and values.dtype != object:
        triggered = values.str.startswith(FORMULA_TRIGGERS, na=False)
        return values.mask(triggered, "'" + values) if triggered.any() else values
    return values.map(neutralise_cell, na_action="ignore")


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed, readable cells: text neutralised, yes/no for true/false, whole numbers without '.0'."""
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if _is_flag(values):
            safe[column] = values.map({True: "yes", False: "no"}, na_action="ignore")
        elif pd.api.types.is_float_dtype(values) and values.dropna().map(float.is_integer).all():
            safe[column] = values.astype("Int64")
        elif not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_datetime64_any_dtype(values):
            safe[column] = neutralise_column(values)
    safe.columns = [str(neutralise_cell(str(name))) for name in safe.columns]
    return safe


def _is_flag(values: pd.Series) -> bool:
    """True/false values (a nullable flag comes back from DuckDB as object)."""
    if pd.api.types.is_bool_dtype(values):
        return True
    present = values.dropna()
    return values.dtype == object and len(present) > 0 and present.map(lambda v: isinstance(v, bool)).all()


def write_safe_csv(frame: pd.DataFrame, path: Path) -> Path:
    """UTF-8 CSV with a byte-order mark and CRLF line ends (RFC 4180; also quotes any cell with a bare CR/LF)."""
    return _write_csv(spreadsheet_frame(frame), path)


def _write_csv(safe: pd.DataFrame, path: Path) -> Path:
    """A frame already made safe (spreadsheet_frame) as write_safe_csv writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    safe.to_csv(path, index=False, lineterminator="\r\n", encoding="utf-8-sig")
    return path


def write_safe_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> Path:
    """An Excel workbook: numbers as numbers, dates as dates, text neutralised, header frozen, columns sized.

    Written by reports/workbook.py, whose cells DuckDB writes in one query: a night's invitation list at
    1,000,000 members (~85,000 rows) took 18 s through pandas and openpyxl, ~4.5 s through XlsxWriter
    cell by cell and ~1 s this way (see BENCHMARKS.md)."""
    return write_workbook(spreadsheet_frame(frame), path, sheet)


@dataclass(frozen=True)
class MarketingList:
    """A list the marketing team sends: the export model it is read from, and how the page describes it."""

    name: str
    title: str
    model: str
    description: str
    # whose consent the list needs, by the column that names them (old accounts: their e-mail address)
    key_column: str = "member_id"

    def file_stem(self, as_of: date) -> str:
        return f"{self.name}_{as_of.isoformat()}"


@dataclass(frozen=True)
class WrittenList:
    spec: MarketingList
    rows: int
    files: tuple[str, ...]  # relative to the night folder: the CSV, then the workbook
    keys: frozenset[str] = frozenset()  # the spec's key_column of every row written


def write_list(spec: MarketingList, rows: pd.DataFrame, night_dir: Path, as_of: date) -> WrittenList:
    """The night's list as CSV and Excel, named with the night's date so that no night overwrites another's."""
    stem = spec.file_stem(as_of)
    rows = rows.drop(columns=["as_of_date", "sort_order"], errors="ignore")
    safe = spreadsheet_frame(rows)  # once for both files (it leaves a safe frame as it is)
    _write_csv(safe, night_dir / f"{stem}.csv")
    write_workbook(safe, night_dir / f"{stem}.xlsx", spec.name)
    keys = (
        frozenset(str(key) for key in rows[spec.key_column].dropna())
        if spec.key_column in rows.columns
        else frozenset()
    )
    return WrittenList(spec, len(rows), (f"{stem}.csv", f"{stem}.xlsx"), keys)
