"""Renders one night's reports from a built warehouse into reports_dir/<as_of>/, and the nights' landing page.

Every figure comes from a model of dbt/models/reporting/marts, read by column name; this module only lays out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
import plotly.offline

from reports.exports import WrittenList
from reports.landing import write_landing_page
from reports.layout import DataFolder, PageContext, build_page, write_lists
from reports.marketing import MARKETING
from reports.marts import open_marts
from reports.overview import OVERVIEW
from reports.quality_summary import read_quality_summary
from reports.sla import SLA
from reports.trends import TRENDS
from reports.views import Page, format_auto

PLOTLY_JS = "plotly.min.js"
TEMPLATES = Path(__file__).parent / "templates"
PAGES = (OVERVIEW, SLA, MARKETING, TRENDS)
# The night's index shows these figures of the pages (page file, figure key).
HEADLINE = (
    ("overview.html", "members"),
    ("overview.html", "validated_points"),
    ("overview.html", "needing_action_share"),
    ("sla.html", "fast_track_met_rate"),
    ("sla.html", "standard_met_rate"),
    ("sla.html", "loans_owed"),
    ("marketing.html", "invitations"),
    ("marketing.html", "completion_campaign"),
)


def template_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["cell"] = format_auto
    return environment


def write_plotly_js(night_dir: Path) -> None:
    """plotly.js next to the pages (once per night folder), so the pages work offline."""
    script = plotly.offline.get_plotlyjs()
    target = night_dir / PLOTLY_JS
    if not target.exists() or target.stat().st_size != len(script.encode("utf-8")):
        target.write_text(script, encoding="utf-8")


def _data_docs_link(night_dir: Path) -> str | None:
    """The quality gate's Data Docs, when the nightly flow wrote them into this night's folder."""
    index = night_dir / "quality" / "index.html"
    return index.relative_to(night_dir).as_posix() if index.is_file() else None


def render_landing(reports_dir: Path) -> Path:
    """The landing page of all nights (and latest.html) from the night folders present in reports_dir."""
    return write_landing_page(reports_dir, template_environment(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


@dataclass(frozen=True)
class RenderedNight:
    """A night's pages, lists and chart data, written; what its index page then lists."""

    night_dir: Path
    as_of: date
    pages: list[Page]
    lists: list[WrittenList]
    data_files: dict[str, str]
    generated_at: str


def render_reports(database: Path, as_of: date, reports_dir: Path, consent_database: Path | None = None) -> Path:
    """Writes the night's pages, lists (CSV and Excel), the data of every chart and its index; returns
    the night folder.

    consent_database: the warehouse of the current night when `database` holds a backfilled night.
    """
    return render_index(database, render_pages(database, as_of, reports_dir, consent_database))


def render_pages(database: Path, as_of: date, reports_dir: Path, consent_database: Path | None = None) -> RenderedNight:
    """Everything of the night's reports but its index: the pages, the lists and the charts' data.

    They read the marts only, so the nightly run renders them while its quality gate still runs; the
    index shows the gate's results and links its Data Docs, so it comes after (render_index)."""
    night_dir = reports_dir / as_of.isoformat()
    night_dir.mkdir(parents=True, exist_ok=True)
    with open_marts(database, as_of, consent_database) as marts:
        context = PageContext(marts, DataFolder(night_dir), night_dir)
        context.lists = [written for spec in PAGES for written in write_lists(spec.lists, context)]
        pages = [build_page(spec, context) for spec in PAGES]
    write_plotly_js(night_dir)

    environment = template_environment()
    generated_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    common = _common(as_of, pages, generated_at)
    for page in pages:
        html = environment.get_template("page.html.j2").render(
            page=page, title=page.title, file_name=page.file_name, charts=True, **common
        )
        (night_dir / page.file_name).write_text(html, encoding="utf-8")
    return RenderedNight(night_dir, as_of, pages, context.lists, context.data.written, generated_at)


def _common(as_of: date, pages: list[Page], generated_at: str) -> dict[str, Any]:
    nav = [
        {"href": "../index.html", "label": "All nights"},
        {"href": "index.html", "label": "Index"},
        *({"href": page.file_name, "label": page.title} for page in pages),
    ]
    return {"as_of": as_of.isoformat(), "nav": nav, "generated_at": generated_at}


def render_index(database: Path, rendered: RenderedNight) -> Path:
    """The night's index (headline figures, pages, lists, the quality gate's results and Data Docs) and
    the landing page of all nights; returns the night folder."""
    with open_marts(database, rendered.as_of) as marts:
        quality = read_quality_summary(marts)
    environment = template_environment()
    by_file = {page.file_name: page for page in rendered.pages}
    index = environment.get_template("index.html.j2").render(
        title="Index",
        file_name="index.html",
        charts=False,
        figures=[by_file[file_name].figure(key) for file_name, key in HEADLINE],
        pages=rendered.pages,
        lists=rendered.lists,
        quality=quality,
        data_docs=_data_docs_link(rendered.night_dir),
        data_files=rendered.data_files,
        **_common(rendered.as_of, rendered.pages, rendered.generated_at),
    )
    (rendered.night_dir / "index.html").write_text(index, encoding="utf-8")
    write_landing_page(rendered.night_dir.parent, environment, rendered.generated_at)
    return rendered.night_dir
