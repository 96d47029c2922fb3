"""The short run summary printed at the end of a night."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.core.policy import level_order
from pipelines.core.warehouse import connect


@dataclass(frozen=True)
class PublishedFigures:
    """What analysts will see tonight, read back from the published marts."""

    members_by_level: dict[str, int] = field(default_factory=dict)
    level_changes_up: int = 0
    level_changes_down: int = 0
    welcome_packs_due: int = 0
    invitations: int = 0
    completion_campaign: int = 0
    registrations_by_status: dict[str, int] = field(default_factory=dict)
    sla_breaches: int = 0
    loans_owed: int = 0


def read_published_figures(warehouse: Path, as_of: date) -> PublishedFigures:
    connection = connect(warehouse, read_only=True)
    try:

        def scalar(sql: str) -> int:
            return int(connection.execute(sql, [as_of]).fetchone()[0] or 0)

        def grouped(sql: str) -> dict[str, int]:
            return {str(key): int(count) for key, count in connection.execute(sql).fetchall()}

        changes = grouped(
            f"select direction, count(*) from marts.fct_level_changes where as_of_date = date '{as_of}' group by 1"
        )
        return PublishedFigures(
            members_by_level=grouped("select level, count(*) from marts.dim_members group by 1"),
            level_changes_up=changes.get("up", 0),
            level_changes_down=changes.get("down", 0),
            welcome_packs_due=scalar("select count(*) from marts.rpt_welcome_packs where due_on = ?"),
            invitations=scalar("select count(*) from marts.rpt_invitations where as_of_date = ?"),
            completion_campaign=scalar("select count(*) from marts.rpt_completion_campaign where as_of_date = ?"),
            registrations_by_status=grouped("select status, count(*) from marts.fct_registrations group by 1"),
            sla_breaches=scalar(
                "select count(*) from marts.fct_service_jobs"
                " where status in ('breached', 'open_breached') and as_of_date = ?"
            ),
            loans_owed=scalar("select count(*) from marts.fct_service_jobs where loan_owed and as_of_date = ?"),
        )
    finally:
        connection.close()


@dataclass(frozen=True)
class NightSummary:
    as_of: date
    warehouse: Path
    reports_dir: Path
    ingest: Any
    gate: Any
    step_seconds: dict[str, float]
    figures: PublishedFigures
    kind: str = "new"  # new, re-run or backfill
    build: str = ""  # "incremental since C" or "full rebuild: <reason>"
    current_night: date | None = None
    # earlier nights' lists written again tonight without whoever's consent is gone: (rows, lists)
    consent_withdrawn: tuple[int, int] = (0, 0)
    # what went wrong once the night was published (it stays published): e.g. a file retention could
    # not delete
    after_publish_warnings: tuple[str, ...] = ()
    # what this run found of an earlier run killed while it published, and did about it (journal.py)
    recovered_publishing: str = ""

    def render(self) -> str:
        figures = self.figures
        levels = ", ".join(f"{level} {figures.members_by_level.get(level, 0):,}" for level in level_order())
        statuses = ", ".join(f"{status} {count:,}" for status, count in sorted(figures.registrations_by_status.items()))
        steps = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.step_seconds.items())
        ingest = self.ingest
        if self.kind == "backfill":
            headline = (
                f"Night {self.as_of} (backfill) archived to {self.warehouse}; "
                f"the current night {self.current_night} is unchanged but for its level history and invitation lists"
            )
        else:
            headline = f"Night {self.as_of} published to {self.warehouse} ({self.kind})"
        lines = [
            headline,
            *([f"  WARNING before this night, {self.recovered_publishing}"] if self.recovered_publishing else []),
            *([f"  build: {self.build}"] if self.build else []),
            f"  rows in: {ingest.rows_read:,} read, {ingest.rows_loaded:,} loaded, "
            f"{ingest.rows_quarantined:,} quarantined; files {ingest.files_loaded} loaded, "
            f"{ingest.files_skipped} already loaded, {ingest.files_rejected} rejected (rows unknown), "
            f"{ingest.files_ignored} ignored",
            *(f"  REJECTED (accepted) {r.source}/{r.file_name}: {r.error}" for r in ingest.rejected),
            *(f"  WARNING ignored {r.source}/{r.file_name}: {r.error}" for r in ingest.files if r.status == "ignored"),
            # an inbox file skipped because it repeats another file's content: named, never silent (a file
            # seen before under its own name, or an unchanged catalogue, is not news)
            *(
                f"  WARNING skipped {r.source}/{r.file_name}: repeats {r.repeats} ({r.error})"
                for r in ingest.files
                if r.status == "skipped" and r.repeats
            ),
            f"  members by level: {levels}",
            f"  registrations: {statuses}",
            f"  level changes tonight: {figures.level_changes_up:,} up, {figures.level_changes_down:,} down; "
            f"welcome packs due {figures.welcome_packs_due:,}",
            f"  invitations {figures.invitations:,}; completion campaign {figures.completion_campaign:,}",
            *(
                [
                    f"  consent withdrawn: {self.consent_withdrawn[0]:,} row(s) removed from "
                    f"{self.consent_withdrawn[1]:,} earlier list(s) (CSV and Excel)"
                ]
                if self.consent_withdrawn[1]
                else []
            ),
            f"  repair SLA: {figures.sla_breaches:,} breached, {figures.loans_owed:,} loans owed",
            f"  quality: {len(self.gate.warnings)} warnings, no critical failures",
            f"  time per step: {steps}",
            f"  reports: {self.reports_dir}",
            *(f"  WARNING {warning}" for warning in self.after_publish_warnings),
        ]
        return "\n".join(lines)
