"""A one-sheet Excel workbook (.xlsx), its cells written by DuckDB.

The marketing lists run to ~85,000 rows at 1,000,000 members. A cell-by-cell writer (XlsxWriter)
spent ~4 s of Python on the largest; here DuckDB escapes the values and writes every row's XML in one
query over the list, so a list costs what its bytes cost. The sheet holds text as inline
strings (a text cell is never read as a number, a formula or a link), numbers as numbers, dates and
timestamps as Excel dates with a date format, a bold header row frozen at the top and sized columns.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from numbers import Real
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import duckdb
import pandas as pd

from pipelines.core.warehouse import limit_memory

EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # day 0 of Excel's 1900 date system, for dates from 1900-03-01
MAX_CELL_CHARS = 32767  # Excel's limit on the text of one cell
MAX_COLUMN_WIDTH = 60

# cellXfs of styles.xml, in order
STYLE_DEFAULT, STYLE_HEADER, STYLE_DATE, STYLE_TIMESTAMP = 0, 1, 2, 3
DATE_FORMAT, TIMESTAMP_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"

# XML 1.0 has no place for these control characters: Excel writes them as _xHHHH_ (and an _xHHHH_
# that is text as _x005F_xHHHH_), which it reads back as the character.
CONTROL_CHARACTERS = [chr(c) for c in range(32) if chr(c) not in "\t\n"]
CONTROL_PATTERN = "[" + "".join(f"\\x{ord(c):02x}" for c in CONTROL_CHARACTERS) + "]"  # as a regular expression


@dataclass(frozen=True)
class SheetColumn:
    """One column: its header, its values as the cells hold them (text, a number, or a date's serial
    number), its kind, its width and its cells' style."""

    header: str
    values: pd.Series
    kind: str  # "text", "number" or "date"
    width: int
    style: int = STYLE_DEFAULT


def column_letters(index: int) -> str:
    """Excel's name of the column at a zero-based index: A ... Z, AA ..."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def sheet_column(values: pd.Series, header: str) -> SheetColumn:
    """A column's cells by its type: dates and timestamps as dates, numbers as numbers, the rest as text."""
    if pd.api.types.is_datetime64_any_dtype(values) or _holds_dates(values):
        moments = pd.to_datetime(values)
        if moments.dt.tz is not None:
            moments = moments.dt.tz_localize(None)
        present = moments.dropna()
        has_time = bool((present != present.dt.normalize()).any())
        shown = len(TIMESTAMP_FORMAT if has_time else DATE_FORMAT) if len(present) else 0
        serials = ((moments - EXCEL_EPOCH) / pd.Timedelta(days=1)).astype("float64")
        return SheetColumn(
            header, serials, "date", max(len(header), shown), STYLE_TIMESTAMP if has_time else STYLE_DATE
        )
    if _holds_numbers(values):
        numbers = values.astype("float64") if values.dtype == object else values
        return SheetColumn(header, numbers, "number", _width(header, numbers.dropna().astype(str)))
    text = values.astype(object).where(values.notna(), None).map(str, na_action="ignore").astype("str")
    return SheetColumn(header, text, "text", _width(header, text.dropna()))


def _width(header: str, shown: pd.Series) -> int:
    return max(len(header), int(shown.str.len().max()) if len(shown) else 0)


def _holds_numbers(values: pd.Series) -> bool:
    """Numbers, also held as Python objects (a DECIMAL column comes back from DuckDB as objects)."""
    if pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return True
    present = values.dropna()
    return (
        values.dtype == object
        and len(present) > 0
        and present.map(lambda v: isinstance(v, Real | Decimal) and not isinstance(v, bool)).all()
    )


def _holds_dates(values: pd.Series) -> bool:
    """Dates or timestamps held as Python objects (a DATE column comes back from DuckDB as objects)."""
    present = values.dropna()
    return values.dtype == object and len(present) > 0 and isinstance(present.iloc[0], date)


def _escaped(value: str, control_characters: bool) -> str:
    """SQL for a text value as XML character data, cut at Excel's limit, in Excel's escapes for what XML
    cannot hold (and for text that reads like one of them)."""
    cut = f"left({value}, {MAX_CELL_CHARS})"
    sql = f"if(contains({cut}, '_x'), regexp_replace({cut}, '(_x[0-9A-Fa-f]{{4}}_)', '_x005F\\1', 'g'), {cut})"
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        sql = f"replace({sql}, '{raw}', '{escaped}')"
    if control_characters:
        for character in CONTROL_CHARACTERS:
            sql = f"replace({sql}, chr({ord(character)}), '_x{ord(character):04X}_')"
    return sql


def _cell_sql(column: SheetColumn, index: int, control_characters: bool) -> str:
    """SQL for one row's cell of a column: its XML, or '' where the cell is empty."""
    value = f"c{index}"
    reference = f"'<c r=\"{column_letters(index)}' || row_number || '\""
    if column.kind == "text":
        text = _escaped(value, control_characters)
        cell = f'{reference} t="inlineStr"><is><t xml:space="preserve">\' || {text} || \'</t></is></c>\''
        return f"coalesce({cell}, '')"
    style = f' s="{column.style}"' if column.style != STYLE_DEFAULT else ""
    number = f"cast({value} as varchar)"
    finite = f"isfinite(cast({value} as double))"
    return f"case when {finite} then {reference}{style}><v>' || {number} || '</v></c>' else '' end"


def sheet_rows(columns: list[SheetColumn]) -> str:
    """The rows of cells below the header, built by DuckDB from the columns' values."""
    if not columns or not len(columns[0].values):
        return ""
    values = pd.DataFrame({f"c{i}": c.values.reset_index(drop=True) for i, c in enumerate(columns)})
    values.insert(0, "row_number", range(2, len(values) + 2))
    connection = duckdb.connect()
    limit_memory(connection)
    try:
        connection.register("sheet_values", values)
        texts = [f"c{i}" for i, c in enumerate(columns) if c.kind == "text"]
        control = bool(texts) and bool(connection.execute(
            "select bool_or(" + " or ".join(f"regexp_matches({t}, '{CONTROL_PATTERN}')" for t in texts)
            + ") from sheet_values"
        ).fetchone()[0])  # fmt: skip
        cells = " || ".join(_cell_sql(c, i, control) for i, c in enumerate(columns))
        row = f"'<row r=\"' || row_number || '\">' || {cells} || '</row>'"
        rows = connection.execute(f"select {row} from sheet_values order by row_number").fetchall()
        return "".join(xml for (xml,) in rows)
    finally:
        connection.close()


def sheet_xml(frame: pd.DataFrame) -> str:
    """The worksheet: sized columns, a frozen bold header row, then one row of cells per frame row."""
    columns = [sheet_column(frame[name], str(name)) for name in frame.columns]
    last = column_letters(max(len(columns) - 1, 0))
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{min(MAX_COLUMN_WIDTH, c.width + 2)}" style="{c.style}" customWidth="1"/>'
        for i, c in enumerate(columns, start=1)
    )
    header = "".join(
        f'<c r="{column_letters(i)}1" t="inlineStr" s="{STYLE_HEADER}"><is><t xml:space="preserve">'
        f"{escape(c.header)}</t></is></c>"
        for i, c in enumerate(columns)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:{last}{len(frame) + 1}"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft"'
        ' state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if columns else "")
        + f'<sheetData><row r="1">{header}</row>{sheet_rows(columns)}</sheetData></worksheet>'
    )


def write_workbook(frame: pd.DataFrame, path: Path, sheet: str) -> Path:
    """The frame as a one-sheet workbook named `sheet` (cut at Excel's 31 characters)."""
    members = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": PACKAGE_RELATIONSHIPS,
        "xl/workbook.xml": WORKBOOK.format(name=quoteattr(sheet[:31])),
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELATIONSHIPS,
        "xl/styles.xml": STYLES,
        "xl/worksheets/sheet1.xml": sheet_xml(frame),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # level 1: a list's sheet is tens of megabytes of repetitive XML; the default level takes ~3x longer
    # for a file ~15% smaller
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        for name, text in members.items():
            package.writestr(name, text.encode("utf-8"))
    return path


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
PACKAGE_RELATIONSHIPS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name={name} sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELATIONSHIPS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'styles" Target="styles.xml"/></Relationships>'
)
STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    f'<numFmts count="2"><numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{TIMESTAMP_FORMAT}"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
