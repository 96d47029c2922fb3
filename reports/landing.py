"""The landing page of the reports folder: every published night, the latest first, and a `latest` link."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import jinja2

NIGHT_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")
LATEST_PAGE = "latest.html"


def published_nights(reports_dir: Path) -> list[date]:
    """Night folders (named by date) that hold a rendered index page, latest first."""
    if not reports_dir.is_dir():
        return []
    nights = [
        date.fromisoformat(entry.name)
        for entry in reports_dir.iterdir()
        if entry.is_dir() and NIGHT_FOLDER.fullmatch(entry.name) and (entry / "index.html").is_file()
    ]
    return sorted(nights, reverse=True)


def write_landing_page(reports_dir: Path, environment: jinja2.Environment, generated_at: str) -> Path:
    """reports_dir/index.html listing the nights, and latest.html forwarding to the latest night's index."""
    nights = published_nights(reports_dir)
    latest = nights[0].isoformat() if nights else None
    nav = [{"href": f"{latest}/index.html", "label": "Latest night"}] if latest else []
    html = environment.get_template("landing.html.j2").render(
        title="All nights",
        file_name="index.html",
        charts=False,
        nav=nav,
        nights=[night.isoformat() for night in nights],
        latest=latest,
        as_of=latest or "",
        generated_at=generated_at,
    )
    (reports_dir / "index.html").write_text(html, encoding="utf-8")
    if latest:
        forward = environment.get_template("latest.html.j2").render(latest=latest)
        (reports_dir / LATEST_PAGE).write_text(forward, encoding="utf-8")
    return reports_dir / "index.html"
