"""Plotly charts as HTML fragments; plotly.js itself is written once per night folder, not embedded."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

LEVEL_COLOURS = {"Red": "#c8102e", "Silver": "#9aa5b1", "Gold": "#d4a72c", "Platinum": "#44546a", "No level": "#d0d4d9"}
STATUS_COLOURS = {
    "met": "#2e8540",
    "breached": "#c8102e",
    "open": "#4a90c2",
    "open_breached": "#e8871e",
}
ACCENT = "#44546a"
SECOND = "#c8102e"
FONT = "Segoe UI, Helvetica Neue, Arial, sans-serif"


def _styled(figure: go.Figure, title: str, height: int) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 30, "t": 60, "b": 50},
        font={"family": FONT, "size": 12, "color": "#222"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        separators=".,",
    )
    return figure


def to_div(figure: go.Figure, chart_id: str) -> str:
    """The chart's div and its inline Plotly.newPlot call (plotly.js is loaded by the page)."""
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=chart_id,
        config={"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]},
    )


def empty_chart(chart_id: str, title: str, message: str, height: int = 260) -> str:
    figure = go.Figure()
    figure.add_annotation(
        text=message, showarrow=False, font={"size": 14, "color": "#666"}, x=0.5, y=0.5, xref="paper", yref="paper"
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return to_div(_styled(figure, title, height), chart_id)


def bars(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    colours: dict[str, str] | None = None,
    *,
    stacked: bool = True,
    horizontal: bool = False,
    value_title: str = "",
    height: int = 380,
    bar_colours: Sequence[str] | None = None,
) -> str:
    """Grouped or stacked bars, one trace per series; horizontal bars list the first category on top."""
    figure = go.Figure()
    for name, values in series.items():
        colour = (colours or {}).get(name)
        marker = {"color": list(bar_colours)} if bar_colours is not None and len(series) == 1 else {"color": colour}
        if horizontal:
            figure.add_bar(
                y=list(categories),
                x=list(values),
                name=name,
                orientation="h",
                marker=marker,
                hovertemplate="%{y}: %{x:,}<extra>" + name + "</extra>",
            )
        else:
            figure.add_bar(
                x=list(categories),
                y=list(values),
                name=name,
                marker=marker,
                hovertemplate="%{x}: %{y:,}<extra>" + name + "</extra>",
            )
    figure.update_layout(
        barmode="stack" if stacked else "group", showlegend=len(series) > 1, legend={"traceorder": "normal"}
    )
    value_axis = {"title": value_title, "tickformat": ","}
    if _largest_bar(series, stacked) < 10:
        value_axis["dtick"] = 1  # small counts: whole numbers only, not 0.5 steps
    if horizontal:
        figure.update_yaxes(autorange="reversed", type="category")
        figure.update_xaxes(**value_axis)
    else:
        figure.update_xaxes(type="category")
        figure.update_yaxes(**value_axis)
    return to_div(_styled(figure, title, height), chart_id)


def _largest_bar(series: dict[str, Sequence[float]], stacked: bool) -> float:
    columns = [list(values) for values in series.values()]
    if not columns or not columns[0]:
        return 0
    if stacked:
        return max(sum(float(v or 0) for v in bar) for bar in zip(*columns, strict=True))
    return max(float(v or 0) for column in columns for v in column)


def bars_with_rate(
    chart_id: str,
    title: str,
    frame: pd.DataFrame,
    category: str,
    counts: dict[str, str],
    rate_column: str,
    rate_label: str,
    *,
    height: int = 400,
) -> str:
    """Stacked counts (left axis) with a rate line (right axis, percent): volume and quality together."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    categories = frame[category].astype(str).tolist()
    for column, label in counts.items():
        figure.add_bar(
            x=categories,
            y=frame[column].tolist(),
            name=label,
            marker={"color": STATUS_COLOURS.get(column, ACCENT)},
            hovertemplate="%{x}: %{y:,}<extra>" + label + "</extra>",
            secondary_y=False,
        )
    figure.add_scatter(
        x=categories,
        y=frame[rate_column].tolist(),
        name=rate_label,
        mode="lines+markers",
        line={"color": "#222", "width": 2},
        marker={"size": 7},
        hovertemplate="%{x}: %{y:.1%}<extra>" + rate_label + "</extra>",
        secondary_y=True,
    )
    figure.update_layout(barmode="stack", legend={"traceorder": "normal"})
    figure.update_xaxes(type="category")
    figure.update_yaxes(title="jobs", tickformat=",", secondary_y=False)
    figure.update_yaxes(
        title=rate_label,
        tickformat=".0%",
        range=[0, 1.05],
        tickvals=[0, 0.25, 0.5, 0.75, 1],
        secondary_y=True,
        showgrid=False,
        zeroline=False,
    )
    return to_div(_styled(figure, title, height), chart_id)


def donut(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    colours: Sequence[str] | None = None,
    height: int = 340,
) -> str:
    """A donut; slices under 3 % get no label on the chart (they would overlap), the hover still tells."""
    total = float(sum(values)) or 1.0
    text = [f"{value / total:.1%}" if value / total >= 0.03 else "" for value in values]
    figure = go.Figure(
        go.Pie(
            labels=list(labels),
            values=list(values),
            hole=0.55,
            sort=False,
            text=text,
            textinfo="text",
            textposition="inside",
            marker={"colors": list(colours)} if colours else None,
            hovertemplate="%{label}: %{value:,} (%{percent})<extra></extra>",
        )
    )
    figure.update_layout(legend={"orientation": "v", "x": 1.02, "y": 0.5, "xanchor": "left", "yanchor": "middle"})
    return to_div(_styled(figure, title, height), chart_id)
