"""What a page is made of (figures, sections with chart, table and data file), and how values are shown."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


def columns(*described: str) -> tuple[Column, ...]:
    """Table columns written as 'name:Label' or 'name:Label:kind' (kind: int, decimal, pct, bool, date)."""
    return tuple(Column(*text.split(":", 2)) for text in described)


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def format_value(value: Any, kind: str = "text") -> str:
    """Values as an analyst reads them: thousands separators, one-decimal percentages, dates as ISO."""
    if is_missing(value):
        return "–"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "decimal":
        return f"{float(value):,.1f}"
    if kind == "pct":
        return f"{100 * float(value):.1f} %"
    if kind == "bool":
        return "yes" if bool(value) else "no"
    if kind == "date":
        return pd.Timestamp(value).date().isoformat()
    return str(value)


def format_auto(value: Any) -> str:
    """A cell of unknown kind: whole numbers with separators, missing as a dash, the rest as text."""
    if isinstance(value, bool):
        return format_value(value, "bool")
    if isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer()):
        return format_value(value, "int")
    return format_value(value)


@dataclass(frozen=True)
class Column:
    """A table column: the model's column name, its heading, and how its values are shown."""

    name: str
    label: str
    kind: str = "text"

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "decimal", "pct")


@dataclass(frozen=True)
class TableView:
    """A table ready for the template: labels, formatted cells, which columns align right."""

    columns: list[Column]
    rows: list[list[str]]
    total_rows: int

    @classmethod
    def of(cls, frame: pd.DataFrame, columns: list[Column], max_rows: int | None = None) -> TableView:
        shown = frame if max_rows is None else frame.head(max_rows)
        rows = [[format_value(record[c.name], c.kind) for c in columns] for record in shown.to_dict("records")]
        return cls(columns, rows, len(frame))


@dataclass(frozen=True)
class Link:
    href: str
    label: str
    detail: str = ""


@dataclass
class Section:
    """One block of a page: a title, a plain-words note, a chart, a table, links and the CSV behind them."""

    title: str
    note: str = ""
    chart: str | None = None
    table: TableView | None = None
    data_file: str | None = None
    warning: str | None = None
    links: list[Link] = field(default_factory=list)


@dataclass(frozen=True)
class Figure:
    """A headline number at the top of a page: what it is (its spec: key, label, emphasis) and tonight's value."""

    spec: Any
    value: str
    detail: str


@dataclass
class Page:
    file_name: str
    title: str
    intro: str
    figures: list[Figure] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.spec.key == key)
