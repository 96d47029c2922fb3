"""Nights: a new night, a re-run of the current night, backfills into the night archive, retention, exit codes.

The nights are run in-process (the night's steps as `cps nightly` runs them without a Prefect server,
real dbt, real Great Expectations; the Prefect flow where the test is about it) on one small warehouse
shared by the module; `cps` subprocesses only where the test is about the process (exit code and its one line).
"""

from __future__ import annotations

import errno
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from pipelines.core.errors import CpsError, UsageError, is_nightly_run, warehouse_unreadable
from pipelines.core.nights import NightKind, archive_path, check_run_date, classify
from pipelines.core.policy import policy
from pipelines.core.settings import PROJECT_ROOT, Settings, utc_today
from pipelines.core.warehouse import connect
from pipelines.publishing.nights import EXPORT_PREFIXES, apply_retention, describe_nights, swap_in
from pipelines.publishing.publish import warehouse_lock
from tests.nightly_helpers import run_cli, table_fingerprints

FIRST = date(2026, 11, 19)
GAP = date(2026, 11, 20)  # never run as a normal night: backfilled after CURRENT
CURRENT = date(2026, 11, 21)
LEDGERS_A_BACKFILL_ADDS_TO = {"fct_member_levels", "rpt_invitations"}
# Reaches the invitation threshold with registrations stamped on GAP, has consent throughout.
LATE_QUALIFIER = "MNIGHTS01"
# Reaches the threshold on GAP too, but withdraws consent on CURRENT.
WITHDRAWS_CONSENT = "MNIGHTS02"
# On FIRST's invitation list, withdraws consent on CURRENT: FIRST's exported list must lose it.
INVITED_THEN_WITHDRAWS = "MNIGHTS04"
# An old account on FIRST's come-back list whose owner withdraws consent on CURRENT.
OLD_ACCOUNT_EMAIL = "back@example.com"


def write_crafted_members(inbox: Path) -> None:
    """Two members whose invitation depends on the night: what the backfill's list must get right."""
    joined = "2026-01-01T00:00:00Z"
    members = pd.DataFrame(
        [
            [LATE_QUALIFIER, "late@example.com", "DE", "de", "true", joined, "", joined],
            [WITHDRAWS_CONSENT, "wd@example.com", "FR", "fr", "true", joined, "", joined],
            [WITHDRAWS_CONSENT, "wd@example.com", "FR", "fr", "false", joined, "", "2026-11-21T09:00:00Z"],
            [INVITED_THEN_WITHDRAWS, "=cmd@example.com", "IT", "it", "true", joined, "", joined],
            [INVITED_THEN_WITHDRAWS, "=cmd@example.com", "IT", "it", "false", joined, "", "2026-11-21T09:00:00Z"],
        ],
        columns=[
            "member_id",
            "email",
            "country",
            "language",
            "marketing_opt_in",
            "joined_at",
            "legacy_cps_number",
            "updated_at",
        ],
    )
    members.to_csv(inbox / "members" / "2026-11-21_crafted.csv", index=False)
    pd.DataFrame(
        [
            ["CPSNIGHTS1", OLD_ACCOUNT_EMAIL, "Gold", "2010-01-01", "true", joined],
            ["CPSNIGHTS1", OLD_ACCOUNT_EMAIL, "Gold", "2010-01-01", "false", "2026-11-21T09:00:00Z"],
        ],
        columns=["legacy_cps_number", "email", "old_level", "member_since", "marketing_opt_in", "updated_at"],
    ).to_csv(inbox / "legacy_accounts" / "2026-11-21_crafted.csv", index=False)
    registrations = []
    crafted = [LATE_QUALIFIER, LATE_QUALIFIER, WITHDRAWS_CONSENT, WITHDRAWS_CONSENT]
    for number, member_id in enumerate([*crafted, INVITED_THEN_WITHDRAWS, INVITED_THEN_WITHDRAWS]):
        stamp = "2026-11-20T08:00:00Z" if member_id in crafted else "2026-11-01T08:00:00Z"
        registrations.append(
            [f"RNIGHTS{number:04d}", member_id, "CAM-EOSR1", f"NIGHTS{number:06d}", "2025-03-01", "DE", "Calumet"]
            + ["false", stamp, "", stamp]
        )
    pd.DataFrame(
        registrations,
        columns=[
            "registration_id",
            "member_id",
            "product_sku",
            "serial_number",
            "purchase_date",
            "purchase_country",
            "retailer",
            "second_hand",
            "registered_at",
            "removed_at",
            "updated_at",
        ],
    ).to_csv(inbox / "registrations" / "2026-11-21_crafted.csv", index=False)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tools.synthetic.generate import generate_inbox

    out = tmp_path_factory.mktemp("inbox")
    generate_inbox(out=out, members=60, seed=11, as_of=CURRENT, catalog_dir=PROJECT_ROOT / "catalog")
    write_crafted_members(out)
    return out


@dataclass(frozen=True)
class Site:
    root: Path
    inbox: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "cps.duckdb"

    @property
    def reports(self) -> Path:
        return self.root / "reports"


def run_night(site: Site, night: date, allow_future: bool = False, prefect: bool = False) -> object:
    from pipelines.flows.nightly import run_nightly

    settings = Settings(
        as_of=night, inbox=site.inbox, warehouse=site.warehouse, reports=site.reports, allow_future=allow_future
    )
    return run_nightly(settings, prefect=prefect)


def query(database: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    connection = connect(database, read_only=True)
    try:
        return connection.execute(sql, params or []).fetchall()
    finally:
        connection.close()


def folder_contents(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@dataclass(frozen=True)
class Backfilled:
    site: Site
    before: dict[str, str]
    after: dict[str, str]
    rows_before: dict[str, set[tuple[object, ...]]]
    current_reports_before: dict[str, bytes]
    first_reports_before: dict[str, bytes]  # FIRST's reports as FIRST published them
    current_summary: str  # what CURRENT's run printed
    old_archive: Path
    old_export: Path
    kept_export: Path


def all_rows(database: Path, table: str) -> set[tuple[object, ...]]:
    return set(query(database, f"select * from marts.{table}"))


@pytest.fixture(scope="module")
def backfilled(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Backfilled:
    """FIRST and CURRENT run as normal nights, then the gap night between them backfilled."""
    site = Site(tmp_path_factory.mktemp("nights"), inbox)
    run_night(site, FIRST)
    first_reports_before = folder_contents(site.reports / FIRST.isoformat())
    current_summary = run_night(site, CURRENT).render()  # type: ignore[attr-defined]
    before = table_fingerprints(site.warehouse)
    rows_before = {table: all_rows(site.warehouse, table) for table in LEDGERS_A_BACKFILL_ADDS_TO}
    current_reports_before = folder_contents(site.reports / CURRENT.isoformat())
    # Files older than the retention period that the backfill's run must delete, and one just inside it.
    retention = int(policy()["retention_days"])
    too_old = CURRENT - timedelta(days=retention + 1)
    old_archive = archive_path(site.warehouse, too_old)
    old_archive.parent.mkdir(parents=True, exist_ok=True)
    old_archive.write_bytes(b"")
    old_export = site.reports / too_old.isoformat() / f"invitations_{too_old.isoformat()}.csv"
    old_export.parent.mkdir(parents=True)
    old_export.write_text("member_id\r\n", encoding="utf-8")
    kept_night = CURRENT - timedelta(days=retention)
    kept_export = site.reports / kept_night.isoformat() / f"invitations_{kept_night.isoformat()}.csv"
    kept_export.parent.mkdir(parents=True)
    kept_export.write_text("member_id\r\n", encoding="utf-8")

    summary = run_night(site, GAP)
    assert "backfill" in summary.render()  # type: ignore[attr-defined]
    return Backfilled(
        site,
        before,
        table_fingerprints(site.warehouse),
        rows_before,
        current_reports_before,
        first_reports_before,
        current_summary,
        old_archive,
        old_export,
        kept_export,
    )


def test_night_kinds_and_future_dates() -> None:
    assert classify(GAP, None) is NightKind.NEW
    assert classify(CURRENT, GAP) is NightKind.NEW
    assert classify(GAP, GAP) is NightKind.RERUN
    assert classify(FIRST, GAP) is NightKind.BACKFILL
    tomorrow = utc_today() + timedelta(days=1)
    check_run_date(tomorrow, allow_future=False)  # tomorrow is still fine (time zones)
    with pytest.raises(UsageError, match="later than tomorrow"):
        check_run_date(tomorrow + timedelta(days=1), allow_future=False)
    check_run_date(tomorrow + timedelta(days=1), allow_future=True)


def test_a_backfill_leaves_the_current_night_alone_but_for_two_ledgers(backfilled: Backfilled) -> None:
    site = backfilled.site
    changed = {table for table in backfilled.before if backfilled.before[table] != backfilled.after[table]}
    assert changed == LEDGERS_A_BACKFILL_ADDS_TO
    assert query(site.warehouse, "select distinct as_of_date from marts.dim_members") == [(CURRENT,)]
    for table in LEDGERS_A_BACKFILL_ADDS_TO:
        after = all_rows(site.warehouse, table)
        assert backfilled.rows_before[table] <= after
        gained = after - backfilled.rows_before[table]
        assert gained and {row[-1] if table == "rpt_invitations" else row[1] for row in gained} == {GAP}
    # Every member of the backfilled night has a level history row for it.
    members_on_gap = query(archive_path(site.warehouse, GAP), "select count(*) from marts.dim_members")[0][0]
    history_on_gap = query(site.warehouse, "select count(*) from marts.fct_member_levels where as_of_date = ?", [GAP])
    assert history_on_gap[0][0] == members_on_gap
    # The current night's reports are untouched.
    assert folder_contents(site.reports / CURRENT.isoformat()) == backfilled.current_reports_before


def test_the_backfilled_night_is_archived_read_only_with_its_reports(backfilled: Backfilled) -> None:
    site = backfilled.site
    archive = archive_path(site.warehouse, GAP)
    assert archive == site.warehouse.parent / "nights" / "2026-11-20.duckdb"
    assert not archive.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    archived_tables = set(table_fingerprints(archive))
    assert set(backfilled.after) <= archived_tables
    assert query(archive, "select distinct as_of_date from marts.dim_members") == [(GAP,)]
    night_dir = site.reports / GAP.isoformat()
    assert (night_dir / "index.html").is_file() and (night_dir / "quality" / "index.html").is_file()
    assert not (site.reports / ".staging").exists() and not (site.warehouse.parent / ".build").exists()


def test_a_backfilled_list_leaves_out_members_on_any_other_list_and_exports_check_current_consent(
    backfilled: Backfilled,
) -> None:
    site = backfilled.site
    lists = query(site.warehouse, "select member_id, as_of_date from marts.rpt_invitations")
    nights_of = {member: {night for m, night in lists if m == member} for member in (LATE_QUALIFIER, WITHDRAWS_CONSENT)}
    # On the current night's list already (qualified on GAP, the first normal night after is CURRENT).
    assert nights_of[LATE_QUALIFIER] == {CURRENT}
    # Not on CURRENT's list (no consent then), so the backfilled night's list holds it ...
    assert nights_of[WITHDRAWS_CONSENT] == {GAP}
    # ... but no export leaves the building without consent in the current night's data.
    gap_dir = site.reports / GAP.isoformat()
    exported = pd.read_csv(gap_dir / f"invitations_{GAP.isoformat()}.csv", dtype=str)
    assert WITHDRAWS_CONSENT not in set(exported["member_id"]) and LATE_QUALIFIER not in set(exported["member_id"])
    # Every night keeps its own dated list.
    assert (site.reports / CURRENT.isoformat() / f"invitations_{CURRENT.isoformat()}.csv").is_file()
    current_list = pd.read_csv(site.reports / CURRENT.isoformat() / f"invitations_{CURRENT.isoformat()}.csv", dtype=str)
    assert LATE_QUALIFIER in set(current_list["member_id"])


def test_a_second_backfill_of_a_night_keeps_its_published_rows_and_adds_members_new_to_it(
    backfilled: Backfilled, tmp_path: Path
) -> None:
    """Records stamped on or before GAP arrive after its backfill; GAP is backfilled again (on a copy)."""
    site = Site(tmp_path / "site", tmp_path / "inbox")
    shutil.copytree(backfilled.site.root, site.root)
    shutil.copytree(backfilled.site.inbox, site.inbox)
    # A member GAP had, Red then, with consent and on no list, who would have qualified on GAP ...
    had = query(
        site.warehouse,
        "select h.member_id from marts.fct_member_levels as h join marts.dim_members as m using (member_id)"
        " where h.as_of_date = ? and h.level = 'Red' and m.marketing_opt_in"
        " and h.member_id not in (select member_id from marts.rpt_invitations) order by 1 limit 1",
        [GAP],
    )[0][0]
    # ... and a member new to the warehouse, known since before GAP, who qualifies on it.
    newcomer = "MNIGHTS03"
    stamp = "2026-11-20T08:00:00Z"
    pd.DataFrame(
        [[newcomer, "new@example.com", "NL", "nl", "true", stamp, "", stamp]],
        columns=["member_id", "email", "country", "language", "marketing_opt_in", "joined_at"]
        + ["legacy_cps_number", "updated_at"],
    ).to_csv(site.inbox / "members" / "2026-11-22_late.csv", index=False)
    pd.DataFrame(
        [
            [f"RNIGHTS{number:04d}", member, "CAM-EOSR1", f"LATE{number:06d}", "2025-03-01", "DE", "Calumet"]
            + ["false", stamp, "", stamp]
            for number, member in enumerate([had, had, newcomer, newcomer], start=10)
        ],
        columns=["registration_id", "member_id", "product_sku", "serial_number", "purchase_date"]
        + ["purchase_country", "retailer", "second_hand", "registered_at", "removed_at", "updated_at"],
    ).to_csv(site.inbox / "registrations" / "2026-11-22_late.csv", index=False)
    levels_before = set(query(site.warehouse, "select * from marts.fct_member_levels"))
    invitations_before = set(query(site.warehouse, "select * from marts.rpt_invitations"))

    run_night(site, GAP)

    # The archive holds GAP as rebuilt: both qualify there.
    rebuilt = dict(query(archive_path(site.warehouse, GAP), "select member_id, level from marts.dim_members"))
    assert rebuilt[had] != "Red" and rebuilt[newcomer] != "Red"
    # The current warehouse's ledgers keep GAP as published for the member it had; only the newcomer is added.
    levels_gained = set(query(site.warehouse, "select * from marts.fct_member_levels")) - levels_before
    invitations_gained = set(query(site.warehouse, "select * from marts.rpt_invitations")) - invitations_before
    assert {row[:2] for row in levels_gained} == {(newcomer, GAP)}
    assert {(row[0], row[-1]) for row in invitations_gained} == {(newcomer, GAP)}
    assert levels_before <= set(query(site.warehouse, "select * from marts.fct_member_levels"))
    # GAP's exported list is its ledger rows with consent in the current night's data: not the member GAP had
    # as Red (the rebuild alone would list it), nor the newcomer (no record in the current night yet).
    exported = pd.read_csv(site.reports / GAP.isoformat() / f"invitations_{GAP.isoformat()}.csv", dtype=str)
    ledger = {
        row[0]
        for row in query(site.warehouse, "select member_id from marts.rpt_invitations where as_of_date = ?", [GAP])
    }
    assert had not in set(exported["member_id"]) and newcomer not in set(exported["member_id"])
    assert set(exported["member_id"]) <= ledger


def test_an_earlier_nights_lists_lose_whoever_withdrew_consent_since(backfilled: Backfilled) -> None:
    """FIRST's lists were exported with consent; CURRENT's data withdraws it for a member and an old account."""
    import openpyxl

    site = backfilled.site
    first_dir = site.reports / FIRST.isoformat()
    invitations, come_back = f"invitations_{FIRST.isoformat()}", f"come_back_{FIRST.isoformat()}"
    for stem, column, gone in (
        (invitations, "member_id", INVITED_THEN_WITHDRAWS),
        (come_back, "email", OLD_ACCOUNT_EMAIL),
    ):
        exported = pd.read_csv(io.BytesIO(backfilled.first_reports_before[f"{stem}.csv"]), dtype=str)
        assert gone in set(exported[column].str.lstrip("'")), f"{gone} was on FIRST's {stem}"
        # The CSV is the one FIRST wrote, but for that row: the other lines byte for byte.
        before = backfilled.first_reports_before[f"{stem}.csv"].decode("utf-8-sig").split("\r\n")
        after = (first_dir / f"{stem}.csv").read_bytes()
        assert after.startswith(b"\xef\xbb\xbf")
        assert after.decode("utf-8-sig").split("\r\n") == [line for line in before if gone not in line]
        # The workbook has the same rows as before, typed as before, but for that row.
        original = openpyxl.load_workbook(io.BytesIO(backfilled.first_reports_before[f"{stem}.xlsx"]))
        purged = openpyxl.load_workbook(first_dir / f"{stem}.xlsx")
        rows_before = [row for row in original.active.iter_rows(values_only=True) if gone not in str(row)]
        assert list(purged.active.iter_rows(values_only=True)) == rows_before
        assert len(rows_before) == len(list(original.active.iter_rows())) - 1
    # FIRST's other lists and pages are as FIRST wrote them (the overview's figures are that night's).
    untouched = {name for name in backfilled.first_reports_before if not name.startswith((invitations, come_back))}
    assert {name: (first_dir / name).read_bytes() for name in untouched} == {
        name: backfilled.first_reports_before[name] for name in untouched
    }
    # CURRENT's summary says so (its generated members may have withdrawn consent from FIRST's lists too).
    said = re.search(r"consent withdrawn: (\d+) row\(s\) removed from (\d+) earlier list", backfilled.current_summary)
    assert said and int(said.group(1)) >= 2 and int(said.group(2)) >= 2, backfilled.current_summary
    # The keys left the record of exported lists; CURRENT's lists are recorded, without either.
    recorded = set(query(site.warehouse, "select as_of_date, list_name, key from raw.exported_list_keys"))
    assert (FIRST, "invitations", INVITED_THEN_WITHDRAWS) not in recorded
    assert (FIRST, "come_back", OLD_ACCOUNT_EMAIL) not in recorded
    assert {key for night, name, key in recorded if night == FIRST and name == "invitations"}
    assert not {key for night, _, key in recorded if night == CURRENT} & {INVITED_THEN_WITHDRAWS, OLD_ACCOUNT_EMAIL}


def published_pages(reports: Path) -> dict[str, bytes]:
    """The reports folder but the earlier nights' marketing lists: the consent step rewrites those without
    whoever's consent is gone before anything is published, and a failed night keeps that (by design)."""
    return {
        name: content
        for name, content in folder_contents(reports).items()
        if not Path(name).name.startswith(EXPORT_PREFIXES)
    }


def test_a_night_that_fails_while_it_publishes_puts_back_what_it_had_put_in_place(
    backfilled: Backfilled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reports, the landing page and a backfill's archive go in place before the warehouse's rename;
    a failure up to that rename puts them back: a night that exits non-zero has published nothing."""
    import pipelines.flows.nightly as nightly

    site = Site(tmp_path, backfilled.site.inbox)
    shutil.copytree(backfilled.site.warehouse.parent, site.warehouse.parent)
    shutil.copytree(backfilled.site.reports, site.reports)
    before, reports_before = table_fingerprints(site.warehouse), published_pages(site.reports)
    archive = archive_path(site.warehouse, GAP)
    archive_before = archive.read_bytes()
    next_night = CURRENT + timedelta(days=1)

    # The landing page cannot be written (a folder where index.html should be): after the night's reports.
    (site.reports / "index.html").unlink()
    (site.reports / "index.html").mkdir()
    with pytest.raises(CpsError) as failure:
        run_night(site, next_night)
    assert failure.value.exit_code == 1 and "index.html" in str(failure.value)
    assert table_fingerprints(site.warehouse) == before
    assert query(site.warehouse, "select max(as_of_date) from raw.nights")[0][0] == CURRENT
    assert not (site.reports / next_night.isoformat()).exists()
    (site.reports / "index.html").rmdir()
    (site.reports / "index.html").write_bytes(reports_before["index.html"])
    assert published_pages(site.reports) == reports_before

    # A backfill whose warehouse cannot be written once its archive and reports are in place (a full disk).
    def full_disk(build_path: Path, warehouse: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(warehouse))

    monkeypatch.setattr(nightly, "publish_step", full_disk)
    with pytest.raises(CpsError) as failure:
        run_night(site, GAP)
    assert failure.value.exit_code == 1 and str(site.warehouse) in str(failure.value)
    assert archive.read_bytes() == archive_before
    assert table_fingerprints(site.warehouse) == before
    assert published_pages(site.reports) == reports_before
    assert not [path for path in [*site.reports.iterdir(), *archive.parent.iterdir()] if ".previous-" in path.name]


def test_a_swap_puts_back_what_it_replaced_or_drops_it(tmp_path: Path) -> None:
    for replaced in (True, False):
        target, staged = tmp_path / f"night-{replaced}", tmp_path / f"staged-{replaced}"
        staged.mkdir()
        (staged / "page.html").write_text("new", encoding="utf-8")
        if replaced:
            target.mkdir()
            (target / "page.html").write_text("old", encoding="utf-8")
        swap = swap_in(staged, target)
        assert (target / "page.html").read_text(encoding="utf-8") == "new" and not staged.exists()
        swap.undo()
        assert folder_contents(target) == {"page.html": b"old"} if replaced else not target.exists()
    archive, staged_file = tmp_path / "2026-11-20.duckdb", tmp_path / "staged.duckdb"
    archive.write_bytes(b"old")
    staged_file.write_bytes(b"new")
    swap = swap_in(staged_file, archive)
    swap.finish()
    assert archive.read_bytes() == b"new" and not (tmp_path / ".previous-2026-11-20.duckdb").exists()


def test_retention_deletes_old_archives_and_exports(backfilled: Backfilled, tmp_path: Path) -> None:
    assert not backfilled.old_archive.exists() and not backfilled.old_export.exists()
    assert backfilled.kept_export.exists()
    assert archive_path(backfilled.site.warehouse, GAP).exists()
    # The same function on its own, at the boundary: exactly retention_days old is kept.
    retention = int(policy()["retention_days"])
    warehouse = tmp_path / "warehouse" / "cps.duckdb"
    kept, deleted = CURRENT - timedelta(days=retention), CURRENT - timedelta(days=retention + 1)
    for night in (kept, deleted):
        archive_path(warehouse, night).parent.mkdir(parents=True, exist_ok=True)
        archive_path(warehouse, night).write_bytes(b"")
        (tmp_path / "reports" / night.isoformat()).mkdir(parents=True)
        (tmp_path / "reports" / night.isoformat() / f"invitations_{night}.csv").write_text("x", encoding="utf-8")
        (tmp_path / "reports" / night.isoformat() / "index.html").write_text("x", encoding="utf-8")
    # One old export that cannot be deleted (a folder by that name): named, and the others still go.
    (tmp_path / "reports" / deleted.isoformat() / f"come_back_{deleted}.csv").mkdir()
    result = apply_retention(warehouse, tmp_path / "reports", CURRENT, retention)
    assert result.archives == [archive_path(warehouse, deleted)]
    assert [path.name for path in result.exports] == [f"invitations_{deleted}.csv"]
    assert (tmp_path / "reports" / deleted.isoformat() / "index.html").exists()
    (failure,) = result.failures
    assert failure.startswith(str(tmp_path / "reports" / deleted.isoformat() / f"come_back_{deleted}.csv"))


def test_rebuilding_published_nights_and_rerunning_the_current_one_change_nothing(backfilled: Backfilled) -> None:
    site = backfilled.site
    archive = archive_path(site.warehouse, GAP)
    archived = table_fingerprints(archive)
    reports_of_gap = (site.reports / GAP.isoformat() / f"invitations_{GAP.isoformat()}.csv").read_bytes()

    run_night(site, GAP)  # the archived night again
    assert table_fingerprints(site.warehouse) == backfilled.after
    assert table_fingerprints(archive) == archived
    assert (site.reports / GAP.isoformat() / f"invitations_{GAP.isoformat()}.csv").read_bytes() == reports_of_gap

    run_night(site, FIRST)  # a night once current, now in the past: a backfill too
    assert table_fingerprints(site.warehouse) == backfilled.after
    assert archive_path(site.warehouse, FIRST).exists()

    # A re-run of the current night replaces only the current night's rows. Its level changes now
    # compare with the backfilled night (the member's previous recorded night since the backfill),
    # so the late qualifier, Silver on GAP already, has no change on CURRENT any more.
    changes_before = all_rows(site.warehouse, "fct_level_changes")
    run_night(site, CURRENT)
    rerun = table_fingerprints(site.warehouse)
    assert {table for table in rerun if rerun[table] != backfilled.after[table]} <= {"fct_level_changes"}
    changes_after = all_rows(site.warehouse, "fct_level_changes")
    assert {row for row in changes_before if row[1] != CURRENT} == {row for row in changes_after if row[1] != CURRENT}
    assert (LATE_QUALIFIER, CURRENT) in {row[:2] for row in changes_before}
    assert (LATE_QUALIFIER, CURRENT) not in {row[:2] for row in changes_after}
    previous_night = dict(
        query(
            site.warehouse,
            "select member_id, arg_max(level, as_of_date) from marts.fct_member_levels"
            " where as_of_date < ? group by all",
            [CURRENT],
        )
    )
    tonight = dict(query(site.warehouse, "select member_id, level from marts.dim_members"))
    expected = {
        (member, CURRENT, previous_night[member], level)
        for member, level in tonight.items()
        if member in previous_night and previous_night[member] != level
    }
    assert {row[:4] for row in changes_after if row[1] == CURRENT} == expected

    listing = describe_nights(site.warehouse)
    assert f"current  {CURRENT}" in listing
    assert f"archived {GAP}" in listing and f"archived {FIRST}" in listing
    assert "products.csv=" in listing and "policy sha256" in listing and "not recorded" not in listing


@contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """A folder nobody can write to, also not root (then via the immutable attribute, where allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    immutable = False
    if os.geteuid() == 0:
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        if not immutable:
            folder.chmod(0o755)
            pytest.skip("cannot make a folder read-only for root here")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_a_future_night_needs_allow_future_and_a_read_only_reports_folder_publishes_nothing(
    backfilled: Backfilled, tmp_path: Path
) -> None:
    site = Site(tmp_path, backfilled.site.inbox)
    shutil.copytree(backfilled.site.warehouse.parent, site.warehouse.parent)
    before = table_fingerprints(site.warehouse)
    future = utc_today() + timedelta(days=30)
    with pytest.raises(UsageError, match="--allow-future"):
        run_night(site, future)
    # With --allow-future the date passes (the run then stops at the read-only reports folder).
    with read_only_folder(site.reports), pytest.raises(CpsError) as failure:
        run_night(site, future, allow_future=True)
    assert failure.value.exit_code == 1
    assert str(site.reports) in str(failure.value) and "\n" not in str(failure.value)
    assert table_fingerprints(site.warehouse) == before


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cps: ")
    return lines[0]


def nightly_args(site: Site, night: date) -> list[str]:
    return [
        "nightly",
        "--as-of",
        night.isoformat(),
        "--inbox",
        str(site.inbox),
        "--warehouse",
        str(site.warehouse),
        "--reports",
        str(site.reports),
    ]


def test_usage_errors_exit_2_before_any_start_up(inbox: Path, tmp_path: Path) -> None:
    site = Site(tmp_path, inbox)
    cases = [
        ([*nightly_args(site, CURRENT)[:-6], "--inbox", str(tmp_path / "missing")], "inbox folder not found"),
        (nightly_args(site, utc_today() + timedelta(days=2)), "--allow-future"),
        (["nightly", "--as-of", "2026-02-30"], "bad date"),
    ]
    for args, message in cases:
        started = time.monotonic()
        result = run_cli(args, tmp_path / "prefect", timeout=120)
        assert result.returncode == 2, result.stderr
        assert message in one_line(result)
        assert time.monotonic() - started < 15  # no Prefect server, no dbt, no lock
    assert not site.warehouse.parent.exists()


def test_cps_nights_lists_the_nights(backfilled: Backfilled, tmp_path: Path) -> None:
    result = run_cli(["nights", "--warehouse", str(backfilled.site.warehouse)], tmp_path / "prefect", timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"current  {CURRENT}" in result.stdout and f"archived {GAP}" in result.stdout


def test_a_read_only_warehouse_folder_exits_1_naming_the_path(inbox: Path, tmp_path: Path) -> None:
    site = Site(tmp_path, inbox)
    started = time.monotonic()
    with read_only_folder(site.warehouse.parent):
        result = run_cli(nightly_args(site, CURRENT), tmp_path / "prefect", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert str(site.warehouse.parent) in one_line(result)
    assert not site.warehouse.exists()
    assert time.monotonic() - started < 15  # found before Prefect starts


def test_a_held_lock_exits_75(inbox: Path, tmp_path: Path) -> None:
    site = Site(tmp_path, inbox)
    started = time.monotonic()
    with warehouse_lock(site.warehouse.with_name("cps.duckdb.lock")):
        result = run_cli(nightly_args(site, CURRENT), tmp_path / "prefect", timeout=300)
    assert result.returncode == 75, result.stdout + result.stderr
    assert "another nightly run" in one_line(result)
    assert not site.warehouse.exists()
    assert time.monotonic() - started < 15


def test_a_warehouse_held_open_for_writing_by_another_process_exits_1(inbox: Path, tmp_path: Path) -> None:
    """Not a run: an analyst's (or a hand-run tool's) read-write session holds DuckDB's lock. Exit 75 is
    only for another run; this is a failed step whose line names the holder to close."""
    site = Site(tmp_path, inbox)
    site.warehouse.parent.mkdir(parents=True)
    session = connect(site.warehouse)  # read-write, held by this process
    try:
        result = run_cli(nightly_args(site, CURRENT), tmp_path / "prefect", timeout=300)
    finally:
        session.close()
    assert result.returncode == 1, result.stdout + result.stderr
    line = one_line(result)
    assert "open for writing in another process" in line and f"PID {os.getpid()}" in line, line
    assert "close that session" in line, line


def test_only_a_nightly_run_holding_the_warehouse_file_is_another_run() -> None:
    """The holder named by DuckDB's lock error is told apart by its command line: 75 for a `cps nightly`."""
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "cps", "nightly"])
    try:
        deadline = time.monotonic() + 10
        while b"nightly" not in Path(f"/proc/{stand_in.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        lock_error = "IO Error: Could not set lock on file: Conflicting lock is held in /usr/bin/python3 (PID {})"
        assert is_nightly_run(stand_in.pid)
        assert warehouse_unreadable(Path("w.duckdb"), Exception(lock_error.format(stand_in.pid))).exit_code == 75
    finally:
        stand_in.kill()
        stand_in.wait()
    assert not is_nightly_run(os.getpid())
    assert warehouse_unreadable(Path("w.duckdb"), Exception(lock_error.format(os.getpid()))).exit_code == 1


def test_a_read_only_warehouse_folder_inside_the_run_is_one_line_too(
    prefect_harness: None, inbox: Path, tmp_path: Path
) -> None:
    """The flow itself (a served deployment has no CLI in front): the lock file cannot be created."""
    site = Site(tmp_path, inbox)
    with read_only_folder(site.warehouse.parent), pytest.raises(CpsError) as failure:
        run_night(site, CURRENT, prefect=True)
    assert failure.value.exit_code == 1
    assert str(site.warehouse.parent) in str(failure.value) and "\n" not in str(failure.value)
