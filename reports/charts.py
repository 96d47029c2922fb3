"""Plotly charts as HTML fragments; plotly.js itself is written once per night folder, not embedded.

Every text that reaches a chart is HTML-escaped first: Plotly renders labels as (a subset of) HTML.

A chart is a plain figure dict (data and layout, as plotly.js takes them), not a plotly.graph_objects
Figure: a Figure validates and deep-copies every property and its template on each change, ~50 ms a
chart, about a second of every night's reports. tests/test_reports.py checks each chart against
Plotly's own validation.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import plotly.io as pio

LEVEL_COLOURS = {"Red": "#c8102e", "Silver": "#9aa5b1", "Gold": "#d4a72c", "Platinum": "#44546a", "No level": "#d0d4d9"}
STATUS_COLOURS = {
    "counted": "#2e8540",
    "incomplete": "#e8871e",
    "invalid": "#c8102e",
    "duplicate_serial": "#8e44ad",
    "unknown_product": "#9aa5b1",
    "removed": "#d0d4d9",
}
DIRECTION_COLOURS = {"up": "#2e8540", "down": "#c8102e"}
MET = "#2e8540"
BELOW_TARGET = "#e8871e"
SMALL_SAMPLE = "#c9d1da"
TARGET = "#1f2933"
ACCENT = "#44546a"
PALETTE = ("#44546a", "#c8102e", "#d4a72c", "#2e8540", "#4a90c2", "#8e44ad", "#9aa5b1")
DAY_MS = 86_400_000  # a day on a Plotly date axis
FONT = "Segoe UI, Helvetica Neue, Arial, sans-serif"


def text(values: Sequence[object]) -> list[str]:
    return [html.escape(str(value)) for value in values]


@cache
def _template() -> dict[str, Any]:
    """Plotly's plotly_white template as plotly.js takes it (a figure dict carries it whole)."""
    return pio.templates["plotly_white"].to_plotly_json()


@dataclass
class Figure:
    """A Plotly figure as plain data: traces and layout."""

    data: list[dict[str, Any]] = field(default_factory=list)
    layout: dict[str, Any] = field(default_factory=dict)

    def add(self, trace_type: str, **properties: Any) -> None:
        self.data.append({"type": trace_type, **properties})

    def axes(self, x: dict[str, Any] | None = None, y: dict[str, Any] | None = None) -> None:
        self.layout.setdefault("xaxis", {}).update(x or {})
        self.layout.setdefault("yaxis", {}).update(y or {})

    def annotate(self, **annotation: Any) -> None:
        self.layout.setdefault("annotations", []).append(annotation)

    def shape(self, **shape: Any) -> None:
        self.layout.setdefault("shapes", []).append(shape)


def _styled(figure: Figure, title: str, height: int) -> Figure:
    figure.layout.update(
        title={"text": html.escape(title), "x": 0, "xanchor": "left", "font": {"size": 15}},
        template=_template(),
        height=height,
        margin={"l": 60, "r": 30, "t": 60, "b": 50},
        font={"family": FONT, "size": 12, "color": "#222"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        separators=".,",
    )
    return figure


def figure_dict(figure: Figure) -> dict[str, Any]:
    return {"data": figure.data, "layout": figure.layout}


def to_div(figure: Figure, chart_id: str) -> str:
    """The chart's div and its inline Plotly.newPlot call (plotly.js is loaded by the page)."""
    return pio.to_html(
        figure_dict(figure),
        validate=False,
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=chart_id,
        config={"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]},
    )


def empty_chart(title: str, message: str, height: int = 260) -> Figure:
    figure = Figure()
    figure.annotate(
        text=html.escape(message),
        showarrow=False,
        font={"size": 14, "color": "#666"},
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
    )
    figure.axes({"visible": False}, {"visible": False})
    return _styled(figure, title, height)


def category_height(count: int, horizontal: bool, base: int = 380) -> int:
    return max(260, 80 + 34 * count) if horizontal else base


def bars(
    title: str,
    categories: Sequence[object],
    series: dict[str, Sequence[float]],
    colours: dict[str, str] | None = None,
    *,
    stacked: bool = True,
    horizontal: bool = False,
    value_title: str = "",
    bar_colours: Sequence[str] | None = None,
) -> Figure:
    """Grouped or stacked bars, one trace per series; horizontal bars list the first category on top."""
    figure = Figure()
    labels = text(categories)
    for index, (name, values) in enumerate(series.items()):
        colour = (colours or {}).get(name, PALETTE[index % len(PALETTE)])
        marker = {"color": list(bar_colours)} if bar_colours is not None and len(series) == 1 else {"color": colour}
        axes = {"y": labels, "x": list(values), "orientation": "h"} if horizontal else {"x": labels, "y": list(values)}
        hover = "%{y}: %{x:,}" if horizontal else "%{x}: %{y:,}"
        figure.add("bar", **axes, name=html.escape(name), marker=marker, hovertemplate=hover + "<extra></extra>")
    figure.layout.update(barmode="stack" if stacked else "group", showlegend=len(series) > 1)
    value_axis: dict[str, Any] = {"title": {"text": value_title}, "tickformat": ",", "rangemode": "tozero"}
    if _largest_bar(series, stacked) < 10:
        value_axis["dtick"] = 1  # small counts: whole numbers only, not 0.5 steps
    _category_axes(figure, horizontal, value_axis)
    return _styled(figure, title, category_height(len(labels), horizontal))


def _category_axes(figure: Figure, horizontal: bool, value_axis: dict[str, Any]) -> None:
    """Categories in their given order (the first on top when horizontal), values on the other axis."""
    if horizontal:
        figure.axes(x=value_axis, y={"autorange": "reversed", "type": "category"})
    else:
        figure.axes(x={"type": "category"}, y=value_axis)


def _largest_bar(series: dict[str, Sequence[float]], stacked: bool) -> float:
    columns = [[float(v or 0) for v in values] for values in series.values()]
    if not columns or not columns[0]:
        return 0
    if stacked:
        return max(sum(bar) for bar in zip(*columns, strict=True))
    return max(v for column in columns for v in column)


def _target_line(figure: Figure, value: float, label: str, horizontal: bool) -> None:
    """A dashed target line across the plot, labelled at its end (as Plotly's add_hline/add_vline draw it)."""
    line = {"color": TARGET, "width": 2, "dash": "dash"}
    text = html.escape(label)
    if horizontal:
        figure.shape(type="line", x0=value, x1=value, xref="x", y0=0, y1=1, yref="y domain", line=line)
        figure.annotate(
            text=text, showarrow=False, x=value, xref="x", xanchor="center", y=1, yref="y domain", yanchor="bottom"
        )
    else:
        figure.shape(type="line", x0=0, x1=1, xref="x domain", y0=value, y1=value, yref="y", line=line)
        figure.annotate(
            text=text, showarrow=False, x=1, xref="x domain", xanchor="right", y=value, yref="y", yanchor="bottom"
        )


def rate_bars(
    title: str,
    categories: Sequence[object],
    rates: Sequence[float | None],
    samples: Sequence[int],
    small: Sequence[bool],
    target: float,
    *,
    horizontal: bool = False,
) -> Figure:
    """Met rate per category as bars against the target line; small samples pale and marked 'n=…'."""
    labels = text(categories)
    values = [None if rate is None or rate != rate else float(rate) for rate in rates]
    colours = [
        SMALL_SAMPLE if is_small else (MET if value is not None and value >= target else BELOW_TARGET)
        for value, is_small in zip(values, small, strict=True)
    ]
    bar_text = [
        ("–" if value is None else f"{value:.0%}") + (f" (n={n})" if is_small else "")
        for value, n, is_small in zip(values, samples, small, strict=True)
    ]
    axes = {"y": labels, "x": values, "orientation": "h"} if horizontal else {"x": labels, "y": values}
    figure = Figure()
    figure.add(
        "bar",
        **axes,
        marker={"color": colours},
        text=bar_text,
        textposition="outside",
        cliponaxis=False,
        customdata=list(samples),
        hovertemplate=("%{y}" if horizontal else "%{x}") + ": %{text}, %{customdata:,} jobs<extra></extra>",
        showlegend=False,
    )
    rate_axis = {
        "tickformat": ".0%",
        "range": [0, 1.15],
        "tickvals": [0, 0.25, 0.5, 0.75, 1],
        "title": {"text": "met rate"},
    }
    _category_axes(figure, horizontal, rate_axis)
    _target_line(figure, target, f"target {target:.0%}", horizontal)
    return _styled(figure, title, category_height(len(labels), horizontal))


def turnaround_bars(
    title: str, categories: Sequence[object], medians: Sequence[float | None], targets: Sequence[float]
) -> Figure:
    """Median turnaround per category as bars, each with its own target drawn as a line across the bar."""
    labels = text(categories)
    figure = Figure()
    figure.add(
        "bar",
        x=labels,
        y=list(medians),
        name="median turnaround",
        marker={"color": ACCENT},
        hovertemplate="%{x}: %{y:.1f} working days<extra>median turnaround</extra>",
    )
    figure.add(
        "scatter",
        x=labels,
        y=list(targets),
        name="target",
        mode="markers",
        marker={"symbol": "line-ew", "size": 46, "line": {"width": 3, "color": TARGET}},
        hovertemplate="%{x}: target %{y:.1f} working days<extra></extra>",
    )
    figure.axes(x={"type": "category"}, y={"title": {"text": "working days"}, "rangemode": "tozero"})
    return _styled(figure, title, 360)


def lines(
    title: str,
    nights: Sequence[object],
    series: dict[str, Sequence[float | None]],
    colours: dict[str, str] | None = None,
    *,
    value_title: str = "",
    percent: bool = False,
    target: float | None = None,
) -> Figure:
    """Figures over nights, one line per series (a trend over time, not between categories)."""
    figure = Figure()
    for index, (name, values) in enumerate(series.items()):
        colour = (colours or {}).get(name, PALETTE[index % len(PALETTE)])
        figure.add(
            "scatter",
            x=[str(night) for night in nights],
            y=list(values),
            name=html.escape(name),
            mode="lines+markers",
            line={"color": colour, "width": 2},
            connectgaps=False,
            hovertemplate="%{x}: %{y:" + (".1%" if percent else ",") + "}<extra>" + html.escape(name) + "</extra>",
        )
    # one tick a night up to ten nights, then every few nights: never the same day twice
    axis: dict[str, Any] = {
        "title": {"text": value_title},
        "tickformat": ".0%" if percent else ",",
        "rangemode": "tozero",
    }
    if percent:
        axis["range"] = [0, 1.05]
    figure.axes(x={"type": "date", "tickformat": "%d %b", "dtick": DAY_MS * max(1, len(nights) // 10)}, y=axis)
    if target is not None:
        _target_line(figure, target, f"target {target:.0%}", horizontal=False)
    return _styled(figure, title, 340)


def donut(title: str, labels: Sequence[object], values: Sequence[float], colours: Sequence[str]) -> Figure:
    """A donut; slices under 3 % get no label on the chart (they would overlap), the hover still tells."""
    total = float(sum(values)) or 1.0
    slice_text = [f"{value / total:.1%}" if value / total >= 0.03 else "" for value in values]
    figure = Figure()
    figure.add(
        "pie",
        labels=text(labels),
        values=list(values),
        hole=0.55,
        sort=False,
        text=slice_text,
        textinfo="text",
        textposition="inside",
        marker={"colors": list(colours)},
        hovertemplate="%{label}: %{value:,} (%{percent})<extra></extra>",
    )
    return _styled(figure, title, 340)
