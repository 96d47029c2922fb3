"""Pages described as data: which report model feeds each figure, chart and table, by column name.

A page is a PageSpec (headline figures from a one-row figures model, then sections); build_page turns
it into a Page for the template. Adding a section, a figure or a marketing list is adding one entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from reports import charts
from reports.exports import MarketingList, WrittenList, write_list, write_safe_csv
from reports.marts import MartsReader
from reports.views import Column, Figure, Link, Page, Section, TableView, format_value


@dataclass(frozen=True)
class FigureSpec:
    """A headline figure: a column of the page's figures model; detail is a template over that row."""

    key: str  # also the column of the figures model, unless column says otherwise
    label: str
    kind: str = "int"
    detail: str = ""
    suffix: str = ""
    emphasis: bool = False
    column: str | None = None


@dataclass(frozen=True)
class ChartSpec:
    """How a section's rows are drawn.

    kind: bars, hbars (horizontal), donut, rate (met rate against the target), turnaround (median
    against each category's target) or lines (over nights). series: (column, legend label) pairs;
    colour_by: a column whose value picks each bar's colour from the given mapping.
    """

    kind: str
    category: str
    series: tuple[tuple[str, str], ...] = ()
    colours: dict[str, str] = field(default_factory=dict)
    colour_by: tuple[str, dict[str, str]] | None = None
    stacked: bool = True
    value_title: str = ""
    max_rows: int | None = None


@dataclass(frozen=True)
class SectionSpec:
    """One block of a page: rows of a report model (optionally filtered, or pivoted long to wide)."""

    key: str
    title: str
    note: str
    model: str
    columns: tuple[Column, ...] = ()
    chart: ChartSpec | None = None
    where: dict[str, str] = field(default_factory=dict)
    pivot: tuple[str, str, str] | None = None  # (row column, series column, value column)
    value_kind: str = "int"  # kind of the pivoted series columns
    empty: str = "Nothing tonight"  # said by an empty chart
    table_empty: str | None = None  # said by an empty table instead of the usual "None tonight."
    max_rows: int | None = None
    data_description: str = ""
    warning: tuple[str, str] | None = None  # (figures column, template) shown when that figure is not 0


@dataclass(frozen=True)
class PageSpec:
    file_name: str
    title: str
    intro: str
    figures_model: str | None = None
    figures: tuple[FigureSpec, ...] = ()
    sections: tuple[SectionSpec, ...] = ()
    lists: tuple[MarketingList, ...] = ()
    lists_note: str = ""


@dataclass
class DataFolder:
    """The CSV behind every chart and table of a night, in the night folder's data/ subfolder."""

    night_dir: Path
    written: dict[str, str] = field(default_factory=dict)

    def save(self, name: str, frame: pd.DataFrame, description: str) -> str:
        relative = f"data/{name}.csv"
        write_safe_csv(frame, self.night_dir / relative)
        self.written[relative] = description
        return relative


@dataclass
class PageContext:
    marts: MartsReader
    data: DataFolder
    night_dir: Path
    lists: list[WrittenList] = field(default_factory=list)

    @property
    def as_of(self) -> date:
        return self.marts.as_of


def fill(template: str, values: dict[str, Any]) -> str:
    """A note or detail template over the figures row (and the night's date as {as_of})."""
    return template.format(**values) if template else ""


def build_page(spec: PageSpec, context: PageContext) -> Page:
    values: dict[str, Any] = {"as_of": context.as_of}
    if spec.figures_model:
        values.update(context.marts.row(spec.figures_model))
    page = Page(spec.file_name, spec.title, fill(spec.intro, values))
    page.figures = [
        Figure(f, format_value(values[f.column or f.key], f.kind) + f.suffix, fill(f.detail, values))
        for f in spec.figures
    ]
    page.sections = [build_section(section, context, values) for section in spec.sections]
    if spec.lists:
        page.sections.append(list_section(spec, context, values))
    return page


def build_section(spec: SectionSpec, context: PageContext, values: dict[str, Any]) -> Section:
    frame = context.marts.model(spec.model, spec.where)
    columns = list(spec.columns)
    if spec.pivot:
        frame, columns = pivoted(frame, spec.pivot, columns, spec.value_kind)
    shown = frame.drop(columns=["sort_order", "dimension"], errors="ignore")
    data_file = context.data.save(spec.key, shown, spec.data_description or spec.title)
    warning = None
    if spec.warning and values.get(spec.warning[0]):
        warning = fill(spec.warning[1], values)
    return Section(
        spec.title,
        fill(spec.note, values),
        chart=render_chart(spec, frame, values) if spec.chart else None,
        table=TableView.of(frame, columns, spec.max_rows, spec.table_empty) if columns else None,
        data_file=data_file,
        warning=warning,
    )


def pivoted(
    frame: pd.DataFrame, pivot: tuple[str, str, str], columns: list[Column], kind: str
) -> tuple[pd.DataFrame, list[Column]]:
    """Long rows (night, series, value) as one row per night and one column per series."""
    row, series, value = pivot
    if "series_order" in frame.columns:
        frame = frame.sort_values(["series_order", row], kind="stable")
    wide = frame.pivot_table(index=row, columns=series, values=value, aggfunc="first", sort=False, dropna=False)
    wide = wide.reindex(columns=list(dict.fromkeys(frame[series]))).sort_index().reset_index()
    wide.columns.name = None
    return wide, columns + [Column(str(name), str(name), kind) for name in wide.columns if name != row]


def render_chart(spec: SectionSpec, frame: pd.DataFrame, values: dict[str, Any]) -> str:
    return charts.to_div(chart_figure(spec, frame, values), f"chart-{spec.key.replace('_', '-')}")


def chart_figure(spec: SectionSpec, frame: pd.DataFrame, values: dict[str, Any]) -> charts.Figure:
    chart = spec.chart
    assert chart is not None
    rows = frame if chart.max_rows is None else frame.head(chart.max_rows)
    if rows.empty:
        return charts.empty_chart(spec.title, spec.empty)
    categories = rows[chart.category].tolist()
    if chart.kind == "rate":
        return charts.rate_bars(
            spec.title,
            categories,
            rows["met_rate"].tolist(),
            rows["jobs"].tolist(),
            rows["small_sample"].tolist(),
            float(values["met_rate_target"]),
            horizontal=len(rows) > 6,
        )
    if chart.kind == "turnaround":
        return charts.turnaround_bars(
            spec.title, categories, rows["median_turnaround"].tolist(), rows["average_target"].tolist()
        )
    if chart.kind == "donut":
        column, label = chart.series[0]
        colour_column, mapping = chart.colour_by or (chart.category, {})
        colours = [mapping.get(v, charts.ACCENT) for v in rows[colour_column]]
        return charts.donut(spec.title, categories, rows[column].tolist(), colours)
    series_columns = chart.series or tuple((c, c) for c in rows.columns if c != chart.category)
    series = {label: rows[column].tolist() for column, label in series_columns}
    if chart.kind == "lines":
        is_rate = spec.value_kind == "pct"
        target = float(values["met_rate_target"]) if is_rate and "met_rate_target" in values else None
        return charts.lines(
            spec.title,
            categories,
            series,
            chart.colours,
            value_title=chart.value_title,
            percent=is_rate,
            target=target,
        )
    bar_colours = None
    if chart.colour_by:
        colour_column, mapping = chart.colour_by
        bar_colours = [mapping.get(v, charts.ACCENT) for v in rows[colour_column]]
    return charts.bars(
        spec.title,
        categories,
        series,
        chart.colours,
        stacked=chart.stacked,
        horizontal=chart.kind == "hbars",
        value_title=chart.value_title,
        bar_colours=bar_colours,
    )


def write_lists(specs: tuple[MarketingList, ...], context: PageContext) -> list[WrittenList]:
    """Each list's rows, read from its export model, written under the night's date."""
    return [write_list(spec, context.marts.list_rows(spec.model), context.night_dir, context.as_of) for spec in specs]


def list_section(spec: PageSpec, context: PageContext, values: dict[str, Any]) -> Section:
    """The page's downloadable lists: CSV (UTF-8 with byte-order mark) and Excel, one line each."""
    written = {w.spec.name: w for w in context.lists}
    links = []
    for marketing_list in spec.lists:
        done = written[marketing_list.name]
        detail = f"{format_value(done.rows, 'int')} members · {fill(marketing_list.description, values)}"
        links += [
            Link(done.files[0], done.files[0], detail),
            Link(done.files[1], done.files[1], "the same list for Excel"),
        ]
    return Section("Lists to download", fill(spec.lists_note, values), links=links)
