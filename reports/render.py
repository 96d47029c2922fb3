"""Renders one night's reports from the published warehouse into reports_dir/<as_of>/."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import jinja2
import plotly.offline

from reports.datasets import DataFolder
from reports.marketing import build_marketing, write_exports
from reports.marts import open_marts
from reports.overview import build_overview
from reports.quality_summary import read_quality_summary
from reports.sla import build_sla
from reports.views import Figure, Page, format_auto

PLOTLY_JS = "plotly.min.js"
TEMPLATES = Path(__file__).parent / "templates"


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


def render_reports(database: Path, as_of: date, reports_dir: Path, consent_database: Path | None = None) -> Path:
    """Writes the night's HTML pages, marketing CSVs and the data of every chart; returns the night folder.

    consent_database: the warehouse of the current night when `database` holds a backfilled night.
    """
    night_dir = reports_dir / as_of.isoformat()
    night_dir.mkdir(parents=True, exist_ok=True)
    data = DataFolder(night_dir)
    with open_marts(database, as_of, consent_database) as marts:
        exports = write_exports(marts, night_dir)
        pages: list[Page] = [build_overview(marts, data), build_sla(marts, data), build_marketing(marts, data, exports)]
        quality = read_quality_summary(marts)
    write_plotly_js(night_dir)

    environment = template_environment()
    nav = [{"href": "index.html", "label": "Index"}] + [{"href": p.file_name, "label": p.title} for p in pages]
    common = {"as_of": as_of.isoformat(), "nav": nav, "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    for page in pages:
        html = environment.get_template("page.html.j2").render(
            page=page, title=page.title, file_name=page.file_name, charts=True, **common
        )
        (night_dir / page.file_name).write_text(html, encoding="utf-8")

    overview, sla, marketing = pages
    # overview: members, points, level changes, needing action; SLA: met rate, loans owed; marketing: both lists
    headline: list[Figure] = [*overview.figures[:4], sla.figures[1], sla.figures[4], *marketing.figures]
    index = environment.get_template("index.html.j2").render(
        title="Index",
        file_name="index.html",
        charts=False,
        figures=headline,
        pages=pages,
        exports=exports,
        quality=quality,
        data_docs=_data_docs_link(night_dir),
        data_files=data.written,
        **common,
    )
    (night_dir / "index.html").write_text(index, encoding="utf-8")
    return night_dir
