"""A night's publishing stopped half way (the run killed), finished or undone by the next run.

Real files and the real landing page; the point where the run stopped is reproduced by making the
same swaps publishing makes, up to that point. The whole night killed at that point, through `cps`,
is in tests/test_nightly.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.publishing.journal import PlannedSwap, PublishJournal, journal_path, recover_publishing
from pipelines.publishing.nights import aside_path, publish_reports
from reports.render import render_landing

PUBLISHED, TONIGHT = "2026-11-20", "2026-11-21"


def night_folder(reports: Path, night: str, text: str) -> Path:
    folder = reports / night
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(f"<html>{text}</html>", encoding="utf-8")
    return folder


@pytest.fixture
def place(tmp_path: Path) -> dict[str, Path]:
    """A published night (warehouse file, its reports, landing pages) and tonight's build and staged reports."""
    warehouse = tmp_path / "warehouse" / "cps.duckdb"
    warehouse.parent.mkdir()
    warehouse.write_bytes(b"the published night")
    build = warehouse.parent / ".build" / "cps.duckdb"
    build.parent.mkdir()
    build.write_bytes(b"tonight's build")
    reports = tmp_path / "reports"
    night_folder(reports, PUBLISHED, "published")
    render_landing(reports)
    staged = night_folder(reports / ".staging", TONIGHT, "tonight")
    return {"warehouse": warehouse, "build": build, "reports": reports, "staged": staged}


def write_journal(place: dict[str, Path], target: Path) -> PublishJournal:
    swaps = (PlannedSwap.of(place["staged"], target),)
    journal = PublishJournal(journal_path(place["warehouse"]), place["build"], swaps)
    journal.write()
    return journal


def start_publishing(place: dict[str, Path], target: Path) -> PublishJournal:
    """What publishing does first: the journal, then the reports' swap (as nightly.publish makes it)."""
    journal = write_journal(place, target)
    publish_reports(place["staged"], target)
    return journal


def start_re_run_publishing(place: dict[str, Path]) -> None:
    """A re-run of the published night publishing: its staged folder replaces the published one."""
    place["staged"] = night_folder(place["staged"].parent, PUBLISHED, "re-run")
    start_publishing(place, place["reports"] / PUBLISHED)


def recover(place: dict[str, Path]) -> str | None:
    return recover_publishing(place["warehouse"], lambda: render_landing(place["reports"]))


def landing_text(reports: Path) -> str:
    return (reports / "index.html").read_text(encoding="utf-8")


def test_nothing_to_recover_without_a_journal(place: dict[str, Path]) -> None:
    assert recover(place) is None
    assert (place["reports"] / PUBLISHED).is_dir() and place["build"].is_file()


def test_a_new_night_stopped_before_the_rename_is_taken_back(place: dict[str, Path]) -> None:
    reports = place["reports"]
    start_publishing(place, reports / TONIGHT)
    render_landing(reports)  # the landing pages list tonight once its folder is in place
    assert TONIGHT in landing_text(reports)

    outcome = recover(place)  # the next run, the build never renamed

    assert outcome is not None and "nothing of it is published" in outcome
    assert not (reports / TONIGHT).exists()
    assert TONIGHT not in landing_text(reports) and PUBLISHED in landing_text(reports)
    assert place["warehouse"].read_bytes() == b"the published night"
    assert not journal_path(place["warehouse"]).exists()
    assert recover(place) is None  # done once


def test_a_re_run_stopped_before_the_rename_gets_the_replaced_reports_back(place: dict[str, Path]) -> None:
    """A re-run of the published night: its folder was replaced, the replaced one kept aside."""
    reports = place["reports"]
    start_re_run_publishing(place)
    assert "re-run" in (reports / PUBLISHED / "index.html").read_text(encoding="utf-8")

    recover(place)

    assert (reports / PUBLISHED / "index.html").read_text(encoding="utf-8") == "<html>published</html>"
    assert not aside_path(reports / PUBLISHED).exists()


def test_a_swap_stopped_half_way_is_taken_back(place: dict[str, Path]) -> None:
    """Killed between the two renames of a swap: the replaced folder aside, the staged one not yet in place."""
    reports = place["reports"]
    target = reports / PUBLISHED
    write_journal(place, target)
    target.rename(aside_path(target))

    recover(place)

    assert (target / "index.html").read_text(encoding="utf-8") == "<html>published</html>"
    assert place["staged"].is_dir()  # left for the run's own clean-up of the staging folder


def test_a_night_stopped_after_the_rename_stays_published(place: dict[str, Path]) -> None:
    reports = place["reports"]
    start_re_run_publishing(place)
    place["build"].replace(place["warehouse"])  # the rename: the night is published

    outcome = recover(place)

    assert outcome is not None and "stays published" in outcome
    assert "re-run" in (reports / PUBLISHED / "index.html").read_text(encoding="utf-8")
    assert not aside_path(reports / PUBLISHED).exists()
    assert not journal_path(place["warehouse"]).exists()


def test_an_unreadable_journal_is_dropped_and_said(place: dict[str, Path]) -> None:
    journal_path(place["warehouse"]).write_text("{not json", encoding="utf-8")
    outcome = recover(place)
    assert outcome is not None and "unreadable" in outcome
    assert not journal_path(place["warehouse"]).exists()
    assert (place["reports"] / PUBLISHED).is_dir()
