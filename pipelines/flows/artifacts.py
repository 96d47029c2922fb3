"""The night's summary in the Prefect UI: artifacts attached to the nightly flow run."""

from __future__ import annotations

from pipelines.core.policy import level_order
from pipelines.publishing.summary import NightSummary

SUMMARY_KEY = "cps-night-summary"
FIGURES_KEY = "cps-night-figures"


def summary_rows(summary: NightSummary) -> list[dict[str, str]]:
    """The night's figures as (figure, value) rows, in the order the printed summary gives them."""
    figures, ingest = summary.figures, summary.ingest
    rows = [
        ("night", str(summary.as_of)),
        (
            "rows read / loaded / quarantined",
            f"{ingest.rows_read:,} / {ingest.rows_loaded:,} / {ingest.rows_quarantined:,}",
        ),
        (
            "files loaded / already loaded / rejected",
            f"{ingest.files_loaded} / {ingest.files_skipped} / {ingest.files_rejected}",
        ),
    ]
    rows += [(f"members {level}", f"{figures.members_by_level.get(level, 0):,}") for level in level_order()]
    rows += [
        (f"registrations {status}", f"{count:,}") for status, count in sorted(figures.registrations_by_status.items())
    ]
    rows += [
        ("level changes up / down", f"{figures.level_changes_up:,} / {figures.level_changes_down:,}"),
        ("welcome packs due", f"{figures.welcome_packs_due:,}"),
        ("invitations", f"{figures.invitations:,}"),
        ("completion campaign", f"{figures.completion_campaign:,}"),
        ("repair SLA breached", f"{figures.sla_breaches:,}"),
        ("loans owed", f"{figures.loans_owed:,}"),
        ("quality warnings", str(len(summary.gate.warnings))),
    ]
    rows += [(f"step {name} (s)", f"{seconds:.1f}") for name, seconds in summary.step_seconds.items()]
    return [{"figure": name, "value": value} for name, value in rows]


def summary_markdown(summary: NightSummary) -> str:
    index = summary.reports_dir / "index.html"
    lines = [
        f"# CPS night {summary.as_of}: published",
        "",
        f"Reports: [{index}]({index.resolve().as_uri()})",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {row['figure']} | {row['value']} |" for row in summary_rows(summary)]
    return "\n".join(lines)


def attach_summary_artifacts(summary: NightSummary) -> None:
    """A markdown summary (table and a link to the reports) and a table artifact, on the current flow run."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    description = f"CPS night {summary.as_of}"
    create_markdown_artifact(markdown=summary_markdown(summary), key=SUMMARY_KEY, description=description)
    create_table_artifact(table=summary_rows(summary), key=FIGURES_KEY, description=description)
