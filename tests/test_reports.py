"""Night reports on marts built by a real night: a generated inbox run through the nightly flow (ingest,
dbt, Great Expectations, reports) for two nights, shared by the whole module. The pages must show what
the reporting models hold, the lists must open in spreadsheets, every night keeps its own files, and
the pages work in a real headless browser, offline."""

from __future__ import annotations

import csv
import html
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest

from pipelines.core.policy import policy
from pipelines.core.settings import PROJECT_ROOT, Settings
from pipelines.quality.docs import remote_assets
from reports import charts
from reports.exports import neutralise_cell, neutralise_column, write_safe_csv, write_safe_xlsx
from reports.marketing import MARKETING_LISTS
from reports.marts import MartsReader
from tools.synthetic.generate import generate_inbox

NIGHT = date(2026, 11, 20)  # a Friday
EARLIER = NIGHT - timedelta(days=1)
PAGES = ("index.html", "overview.html", "sla.html", "marketing.html", "trends.html")
# A member whose e-mail holds markup: it must come out as text wherever it is shown.
MARKUP_EMAIL = '<b id="injected">x</b><img src=x onerror="window.injected=1">'
SCREENSHOTS = PROJECT_ROOT / "data" / "test-output" / "screenshots"


@dataclass(frozen=True)
class BuiltNights:
    warehouse: Path
    reports: Path
    earlier_lists: dict[str, bytes]  # the earlier night's list files as they were right after that night

    @property
    def night(self) -> Path:
        return self.reports / NIGHT.isoformat()

    def query(self, sql: str, params: list[object] | None = None) -> pd.DataFrame:
        connection = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return connection.execute(sql, params or []).df()
        finally:
            connection.close()


def add_member_with_markup_email(inbox: Path) -> None:
    with (inbox / "members" / "2026-11-19_extra.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["member_id", "email", "country", "language", "marketing_opt_in", "joined_at", "updated_at"])
        writer.writerow(["99999999", MARKUP_EMAIL, "GB", "en", "true", "2026-01-05 10:00:00", "2026-11-19 10:00:00"])


@pytest.fixture(scope="module")
def built(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltNights]:
    from pipelines.flows.nightly_flow import nightly_flow

    root = tmp_path_factory.mktemp("report-nights")
    inbox = root / "inbox"
    generate_inbox(inbox, members=250, seed=11, as_of=NIGHT, catalog_dir=Settings().catalog)
    add_member_with_markup_email(inbox)
    warehouse, reports = root / "warehouse" / "cps.duckdb", root / "reports"
    settings = Settings().with_overrides(inbox=inbox, warehouse=warehouse, reports=reports)
    nightly_flow(settings=settings, as_of=EARLIER)
    earlier = reports / EARLIER.isoformat()
    earlier_lists = {p.name: p.read_bytes() for p in earlier.iterdir() if p.suffix in (".csv", ".xlsx")}
    nightly_flow(settings=settings, as_of=NIGHT)
    yield BuiltNights(warehouse, reports, earlier_lists)


# ------------------------------------------------------------------ files of a night, and of every night


def test_night_folder_holds_pages_dated_lists_and_chart_data(built: BuiltNights) -> None:
    night = built.night
    for name in (*PAGES, "plotly.min.js", "quality/index.html"):
        assert (night / name).is_file(), name
    for spec in MARKETING_LISTS:
        for suffix in (".csv", ".xlsx"):
            assert (night / f"{spec.name}_{NIGHT.isoformat()}{suffix}").is_file()
    assert not list(night.glob("invitations.csv"))  # every list file carries its night's date
    index = (night / "index.html").read_text(encoding="utf-8")
    assert len(re.findall(r'href="data/', index)) >= 15


def test_earlier_nights_keep_their_own_lists(built: BuiltNights) -> None:
    """The later night leaves the earlier night's lists as they were, but for the rows of whoever has no
    marketing consent in its data any more (the generated inbox withdraws some)."""
    earlier = built.reports / EARLIER.isoformat()
    assert any(name.startswith("invitations_" + EARLIER.isoformat()) for name in built.earlier_lists)
    consenting = set(built.query("select member_id from marts.dim_members where marketing_opt_in")["member_id"])
    removed_somewhere = False
    for name, content in built.earlier_lists.items():
        if name.endswith(".xlsx"):
            continue
        before = content.decode("utf-8-sig").split("\r\n")
        after = (earlier / name).read_bytes().decode("utf-8-sig").split("\r\n")
        assert [line for line in before if line in after] == after, f"{name}: only rows removed, in their order"
        if not name.startswith(("come_back_", "cps_")) and before[0].startswith("member_id,"):
            removed = {line.split(",", 1)[0] for line in before if line not in after}
            kept = {line.split(",", 1)[0] for line in after[1:] if line}
            assert not removed & consenting and kept <= consenting, name
            removed_somewhere |= bool(removed)
        if after == before:  # nothing withdrawn: the very same files
            assert (earlier / name).read_bytes() == content
            assert (earlier / name).with_suffix(".xlsx").read_bytes() == built.earlier_lists[name[:-4] + ".xlsx"]
    assert removed_somewhere, "the generated inbox should withdraw someone's consent between the two nights"


def test_landing_page_lists_every_night_with_the_latest(built: BuiltNights) -> None:
    landing = (built.reports / "index.html").read_text(encoding="utf-8")
    assert landing.index(NIGHT.isoformat()) < landing.index(EARLIER.isoformat())  # latest first
    assert re.search(rf'{NIGHT.isoformat()}/index.html">{NIGHT.isoformat()}</a><span class="latest">latest', landing)
    assert f"{EARLIER.isoformat()}</a><span" not in landing
    latest = (built.reports / "latest.html").read_text(encoding="utf-8")
    assert f"url={NIGHT.isoformat()}/index.html" in latest


# ------------------------------------------------------------------ figures come from the reporting models


def test_headline_figures_are_the_models_by_name(built: BuiltNights) -> None:
    overview = built.query("select * from reporting.agg_overview_figures").iloc[0]
    members = built.query("select count(*) as n, count(*) filter (where level <> 'Red') as paid from marts.dim_members")
    assert overview["members"] == members["n"][0] and overview["members_silver_or_above"] == members["paid"][0]
    page = (built.night / "overview.html").read_text(encoding="utf-8")
    assert f'<div class="value">{int(overview["members"]):,}</div>' in page

    sla = built.query("select * from reporting.agg_sla_figures").iloc[0]
    jobs = built.query("select fast_track, status from marts.fct_service_jobs")
    fast = jobs[jobs["fast_track"]]
    decided = fast[fast["status"] != "open"]
    if len(decided):
        assert sla["fast_track_met_rate"] == pytest.approx((decided["status"] == "met").mean(), abs=1e-4)
    sla_page = (built.night / "sla.html").read_text(encoding="utf-8")
    headline = re.search(r'<div class="figure emphasis"><div class="label">([^<]+)</div>', sla_page)
    assert headline and headline.group(1) == "Fast Track met rate"  # the first and emphasised figure


def test_chart_data_matches_the_marts(built: BuiltNights) -> None:
    data = built.night / "data"
    levels = built.query("select level, count(*) as n, sum(validated_points) as p from marts.dim_members group by 1")
    by_level = pd.read_csv(data / "members_by_level.csv", encoding="utf-8-sig").set_index("level")
    assert by_level["members"].sum() == levels["n"].sum()
    for row in levels.itertuples():
        assert by_level.loc[row.level, "members"] == row.n and by_level.loc[row.level, "validated_points"] == row.p
    jobs = built.query("select status, loan_owed from marts.fct_service_jobs")
    for dimension in ("service", "level", "country", "centre", "received_month"):
        frame = pd.read_csv(data / f"sla_by_{dimension}.csv", encoding="utf-8-sig")
        assert frame["jobs"].sum() == len(jobs), dimension
        assert frame["breached"].sum() == (jobs["status"] == "breached").sum(), dimension
    lost = pd.read_csv(data / "points_lost.csv", encoding="utf-8-sig")
    parts = lost["lost_to_decay"] + lost["lost_to_supersession"] + lost["lost_to_service_end"]
    assert (parts == lost["points_lost"]).all()
    assert (lost["points_lost"] == lost["base_points"] - lost["effective_points"]).all()


def test_reasons_are_in_plain_words_from_the_one_mapping(built: BuiltNights) -> None:
    reasons = built.query("select reason, reason_label from reporting.agg_action_reasons")
    assert len(reasons) > 0
    assert (reasons["reason"] != reasons["reason_label"]).all()  # every code the night has is mapped
    page = (built.night / "overview.html").read_text(encoding="utf-8")
    for row in reasons.itertuples():
        assert html.escape(row.reason_label) in page
        assert row.reason not in re.sub(r"<script.*?</script>", "", page, flags=re.S)


def test_sla_page_draws_bars_against_the_target_and_marks_small_samples(built: BuiltNights) -> None:
    page = (built.night / "sla.html").read_text(encoding="utf-8")
    target = float(policy()["sla_met_rate_target"])
    assert f"target {target:.0%}" in page
    assert '"mode":"lines' not in page.replace(" ", "")  # categories are bars, never joined by a line
    small = built.query("select count(*) as n from reporting.agg_sla_breakdown where small_sample")["n"][0]
    assert small > 0 and "(n=" in page
    minimum = int(policy()["sla_small_sample_jobs"])
    marked = built.query("select jobs, small_sample from reporting.agg_sla_breakdown")
    assert ((marked["jobs"] < minimum) == marked["small_sample"]).all()


def test_trends_come_from_the_ledgers(built: BuiltNights) -> None:
    trends = built.query("select * from reporting.agg_night_trends")
    assert set(trends["as_of_date"].dt.date) == {EARLIER, NIGHT}
    history = built.query("select as_of_date, level, count(*) as n from marts.fct_member_levels group by all")
    members = trends[trends["chart"] == "members_by_level"]
    merged = members.merge(history, left_on=["as_of_date", "series"], right_on=["as_of_date", "level"])
    assert len(merged) == len(history) and (merged["value"] == merged["n"]).all()
    invited = built.query("select as_of_date, count(*) as n from marts.rpt_invitations group by 1")
    invitations = trends[trends["chart"] == "invitations"].merge(invited, on="as_of_date")
    assert (invitations["value"] == invitations["n"]).all()
    metrics = built.query("select as_of_date, metric from reporting.fct_night_metrics")
    assert len(metrics) == len(metrics.drop_duplicates()) and set(metrics["as_of_date"].dt.date) == {EARLIER, NIGHT}
    assert "trend_sla_met_rate" in (built.night / "trends.html").read_text(encoding="utf-8")


def test_rerunning_a_night_replaces_only_its_own_metrics(built: BuiltNights, tmp_path: Path) -> None:
    """The night-metrics ledger: a run replaces its own night's rows and leaves every other night as recorded."""
    from tests.dbt_fixtures import build_night

    copy = tmp_path / "cps.duckdb"
    shutil.copyfile(built.warehouse, copy)
    connection = duckdb.connect(str(copy))
    # stand-ins for figures recorded on each night, which a later run must not recompute
    connection.execute("update reporting.fct_night_metrics set value = -1 where as_of_date = ?", [EARLIER])
    connection.execute("update reporting.fct_night_metrics set value = -2 where as_of_date = ?", [NIGHT])
    connection.close()
    build_night(copy, NIGHT, tmp_path / "dbt", ("run", "--select", "fct_night_metrics", "--quiet"))
    connection = duckdb.connect(str(copy), read_only=True)
    rows = connection.execute("select as_of_date, metric, value from reporting.fct_night_metrics").df()
    connection.close()
    earlier, tonight = rows[rows["as_of_date"].dt.date == EARLIER], rows[rows["as_of_date"].dt.date == NIGHT]
    assert len(earlier) > 0 and (earlier["value"] == -1).all()
    assert len(tonight) == len(earlier) and not (tonight["value"] == -2).any()
    recorded = built.query("select metric, value from reporting.fct_night_metrics where as_of_date = ?", [NIGHT])
    assert tonight.set_index("metric")["value"].sort_index().equals(recorded.set_index("metric")["value"].sort_index())


# ------------------------------------------------------------------ lists fit for spreadsheets


def test_lists_open_in_spreadsheets_and_hold_consenting_members_only(built: BuiltNights) -> None:
    consent = built.query("select member_id, marketing_opt_in from marts.dim_members")
    consenting = set(consent.loc[consent["marketing_opt_in"], "member_id"])
    legacy = built.query("select email, marketing_opt_in from staging.stg_legacy_accounts")
    legacy_consenting = set(legacy.loc[legacy["marketing_opt_in"], "email"])
    for spec in MARKETING_LISTS:
        stem = built.night / f"{spec.name}_{NIGHT.isoformat()}"
        raw = (stem.with_suffix(".csv")).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel reads accents right
        rows = pd.read_csv(stem.with_suffix(".csv"), encoding="utf-8-sig", dtype=str, keep_default_na=False)
        if "member_id" in rows.columns:
            expected = built.query(f"select member_id from reporting.{spec.model}")
            assert sorted(rows["member_id"]) == sorted(expected["member_id"])
            assert set(rows["member_id"]) <= consenting
        else:  # the come-back list: owners of old accounts, who are not members (yet)
            expected = built.query(f"select email from reporting.{spec.model}")
            assert sorted(rows["email"]) == sorted(expected["email"])
            assert set(rows["email"]) <= legacy_consenting
        sheet = openpyxl.load_workbook(stem.with_suffix(".xlsx"), read_only=True).active
        table = list(sheet.values)
        assert list(table[0]) == list(rows.columns) and len(table) - 1 == len(rows)
        for number_column in {"validated_points", "pending_points", "points_needed"} & set(rows.columns):
            position = list(rows.columns).index(number_column)
            assert all(isinstance(row[position], int) for row in table[1:])  # typed, not text
    page = (built.night / "marketing.html").read_text(encoding="utf-8")
    for spec in MARKETING_LISTS:
        for suffix in (".csv", ".xlsx"):
            assert f'href="{spec.name}_{NIGHT.isoformat()}{suffix}"' in page
    text = re.sub(r"<(script|style).*?</\1>", "", page, flags=re.S)
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w", text)  # no e-mail address (personal data) on the page


def test_chart_data_files_have_no_true_false_and_no_float_noise(built: BuiltNights) -> None:
    for path in (built.night / "data").glob("*.csv"):
        text = path.read_text(encoding="utf-8-sig")
        assert not re.search(r"(^|,)(True|False)(,|\r?$)", text, flags=re.M), path.name
        assert not re.search(r"\d\.\d{5,}", text), path.name


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+44 20 7946", "'+44 20 7946"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain@example.com", "plain@example.com"),
        ("a=b", "a=b"),
        ("", ""),
        (-3, -3),
        (None, None),
    ],
)
def test_neutralise_cell(cell: object, expected: object) -> None:
    assert neutralise_cell(cell) == expected


def test_text_columns_are_neutralised_as_cell_by_cell() -> None:
    """A text column as DuckDB gives it (pandas' string dtype) is neutralised in one pass, an object column
    cell by cell: both give what neutralise_cell gives each cell."""
    cells = ["=1+2", "+44", "-3", "@x", "\tx", "\rx", "a=b", "", None, "'=already"]
    for values in (pd.Series(cells, dtype="str"), pd.Series([*cells, 7], dtype=object)):
        expected = [None if pd.isna(cell) else neutralise_cell(cell) for cell in values]
        assert [None if pd.isna(cell) else cell for cell in neutralise_column(values)] == expected
    untouched = pd.Series(["plain", None], dtype="str")
    assert neutralise_column(untouched) is untouched


def test_formula_cells_are_neutralised_in_csv_and_excel(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "email": ['=HYPERLINK("http://evil.example","x")', "+44@example.com", "Zoë@exämple.com"],
            "points": [-5, 10, 3],
            "share": [0.25, 0.5, 1.0],
            "flag": [True, False, True],
        }
    )
    dated = frame.assign(drop_on=[date(2026, 12, 1), None, date(2026, 12, 3)],
                         joined_at=pd.to_datetime(["2026-01-02 10:30:00", "2026-01-03 00:00:00", None]))  # fmt: skip
    write_safe_csv(frame, tmp_path / "list.csv")
    rows = list(csv.reader((tmp_path / "list.csv").open(encoding="utf-8-sig", newline="")))
    assert rows[1] == ['\'=HYPERLINK("http://evil.example","x")', "-5", "0.25", "yes"]
    assert rows[3][0] == "Zoë@exämple.com" and rows[3][2] == "1.0"
    write_safe_xlsx(frame, tmp_path / "list.xlsx", "list")
    sheet = openpyxl.load_workbook(tmp_path / "list.xlsx").active
    assert sheet["A2"].value == '\'=HYPERLINK("http://evil.example","x")' and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -5 and sheet["C2"].value == 0.25 and sheet["D2"].value == "yes"
    # dates are dates (with the time when a value has one), an empty cell stays empty; header frozen
    write_safe_xlsx(dated, tmp_path / "dated.xlsx", "dated")
    sheet = openpyxl.load_workbook(tmp_path / "dated.xlsx").active
    assert sheet.freeze_panes == "A2" and [cell.value for cell in sheet[1]][-2:] == ["drop_on", "joined_at"]
    assert sheet["E2"].value == datetime(2026, 12, 1) and sheet["E2"].number_format == "yyyy-mm-dd"
    assert sheet["E3"].value is None and sheet["F4"].value is None
    assert sheet["F2"].value == datetime(2026, 1, 2, 10, 30) and sheet["F2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet.column_dimensions["A"].width >= len('\'=HYPERLINK("http://evil.example","x")')


def test_workbook_cells_hold_any_text_and_number(tmp_path: Path) -> None:
    """The workbook's cells are written as XML by DuckDB: markup, characters XML cannot hold, text that
    reads like Excel's own escapes, numbers held as decimals, and missing or infinite numbers."""
    from decimal import Decimal

    frame = pd.DataFrame(
        {
            "text": ["a&b <i>c</i>", "tab\there\x01bell\rreturn", "_x0041_ stays text", None, "  padded  "],
            "share": [1.5, float("nan"), float("inf"), -2.25, 1e-05],
            "amount": [Decimal("1.25"), None, Decimal("3"), Decimal("-4.5"), Decimal("0")],
        }
    )
    write_safe_xlsx(frame, tmp_path / "cells.xlsx", "a sheet & <more> of a very long name")
    workbook = openpyxl.load_workbook(tmp_path / "cells.xlsx")
    assert workbook.sheetnames == ["a sheet & <more> of a very long"]  # Excel's 31 characters
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0] == ("text", "share", "amount")
    # Excel reads _xHHHH_ as the character (openpyxl leaves it as written)
    assert [row[0] for row in rows[1:]] == [
        "a&b <i>c</i>", "tab\there_x0001_bell_x000D_return", "_x005F_x0041_ stays text", None, "  padded  "
    ]  # fmt: skip
    assert [row[1] for row in rows[1:]] == [1.5, None, None, -2.25, 1e-05]
    assert [row[2] for row in rows[1:]] == [1.25, None, 3, -4.5, 0]
    assert all(workbook.active.cell(row, 1).data_type == "s" for row in (2, 3, 4, 6))


# ------------------------------------------------------------------ escaping and offline pages


def test_markup_in_data_is_escaped_in_every_page(built: BuiltNights) -> None:
    pages = list(built.reports.rglob("*.html"))
    shown = [p for p in pages if html.escape(MARKUP_EMAIL, quote=False) in p.read_text(encoding="utf-8")]
    shown += [p for p in pages if html.escape(MARKUP_EMAIL) in p.read_text(encoding="utf-8")]
    assert any("validations" in p.parts for p in shown)  # GX lists it as an unexpected e-mail
    for page in pages:
        assert MARKUP_EMAIL not in page.read_text(encoding="utf-8"), page


def test_quality_pages_are_offline_with_local_assets_and_a_way_back(built: BuiltNights) -> None:
    quality = built.night / "quality"
    assert remote_assets(quality) == []
    assert (quality / "static/vendor/jquery.min.js").is_file()
    assert list((quality / "static/vendor/fontawesome/webfonts").glob("fa-solid-900.*"))
    for page in quality.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "newsletter" not in text.lower(), page
        back = re.search(r'class="cps-back" href="([^"]+)"', text)
        assert back and (page.parent / back.group(1)).resolve() == (built.night / "index.html").resolve(), page


def local_links(page: Path) -> list[str]:
    return [
        href
        for href in re.findall(r'(?:href|src)="([^"#]+)', page.read_text(encoding="utf-8"))
        if not href.startswith(("data:", "javascript:"))
    ]


def test_every_link_of_every_page_resolves_locally(built: BuiltNights) -> None:
    pages = [built.reports / "index.html", built.reports / "latest.html", *(built.night / p for p in PAGES)]
    pages += list((built.night / "quality").rglob("*.html"))
    for page in pages:
        for href in local_links(page):
            assert not re.match(r"(?:[a-z]+:)?//", href, flags=re.I), f"{page.name}: {href}"
            target = page.parent / href.split("?")[0]
            assert target.exists(), f"{page.relative_to(built.reports)} links to a missing {href}"


# ------------------------------------------------------------------ in a real headless browser

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
    # any request to the network fails, so that it shows up as a console error
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=10000",
    "--window-size=1400,2200",
)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def open_in_browser(browser: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def console_errors(stderr: str) -> list[str]:
    """Console messages and failed loads Chromium logs for the page (not its own start-up noise)."""
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line or "net::ERR" in line or "Uncaught" in line or "Failed to load" in line
    ]


needs_chromium = pytest.mark.skipif(
    chromium() is None, reason="Debian's chromium is missing (apt-get install chromium)"
)


@needs_chromium
def test_pages_render_without_errors_or_network_and_draw_their_charts(built: BuiltNights, tmp_path: Path) -> None:
    browser = chromium()
    assert browser is not None
    validation_pages = sorted((built.night / "quality" / "validations").rglob("*.html"))
    pages = [built.reports / "index.html", *(built.night / p for p in PAGES), validation_pages[0]]
    for number, page in enumerate(pages):
        run = open_in_browser(browser, page, tmp_path / f"profile-{number}", "--dump-dom")
        assert console_errors(run.stderr) == [], f"{page.name}: {console_errors(run.stderr)}"
        dom = run.stdout
        if 'data-js-error-count="' in dom:
            assert 'data-js-error-count="0"' in dom, re.search(r'data-js-errors="[^"]*"', dom)
        chart_ids = re.findall(r'<div id="(chart-[^"]+)" class="plotly-graph-div"', page.read_text(encoding="utf-8"))
        if not chart_ids:
            continue
        starts = [dom.index(f'id="{chart_id}"') for chart_id in chart_ids]
        for chart_id, start, end in zip(chart_ids, starts, [*starts[1:], len(dom)], strict=True):
            assert 'class="main-svg"' in dom[start:end], f"{page.name}: chart {chart_id} did not render"
    assert "window.injected" not in open_in_browser(browser, validation_pages[0], tmp_path / "p", "--dump-dom").stdout


@needs_chromium
def test_screenshots_of_the_landing_sla_and_marketing_pages(built: BuiltNights, tmp_path: Path) -> None:
    """Saved for a person to look at: data/test-output/screenshots/ (the path is printed)."""
    browser = chromium()
    assert browser is not None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    failed_only = next(p for p in (built.night / "quality" / "validations").rglob("*.html") if "stg_members" in p.name)
    shots = {
        "landing": built.reports / "index.html",
        "sla": built.night / "sla.html",
        "marketing": built.night / "marketing.html",
        "overview": built.night / "overview.html",
        "trends": built.night / "trends.html",
        "quality-members": failed_only,
    }
    for name, page in shots.items():
        target = SCREENSHOTS / f"{name}.png"
        target.unlink(missing_ok=True)
        open_in_browser(browser, page, tmp_path / name, f"--screenshot={target}")
        assert target.stat().st_size > 10_000, name
    print(f"\nscreenshots: {SCREENSHOTS}")


@pytest.mark.parametrize(
    "figure",
    [
        charts.bars("Stacked", ["Red", "<b>"], {"a": [1, 2], "b": [3, 4]}, {"a": "#111111"}),
        charts.bars("Horizontal", ["x", "y"], {"n": [100, 2]}, horizontal=True, bar_colours=["#111", "#222"]),
        charts.bars("Grouped", ["x", "y"], {"a": [1, 2], "b": [3, 4]}, stacked=False, value_title="members"),
        charts.rate_bars("Rates", ["A", "B"], [0.5, None], [10, 3], [False, True], 0.8),
        charts.rate_bars("Rates", list("ABCDEFG"), [0.9] * 7, [10] * 7, [False] * 7, 0.8, horizontal=True),
        charts.turnaround_bars("Turnaround", ["repair", "maintenance"], [1.5, None], [2.0, 3.0]),
        charts.lines("Trend", ["2026-11-01", "2026-11-02"], {"met": [0.7, None]}, percent=True, target=0.9),
        charts.lines("Members", ["2026-11-01", "2026-11-02"], {"Red": [1, 2]}, charts.LEVEL_COLOURS),
        charts.donut("Levels", ["Red", "Gold"], [1, 99], ["#c8102e", "#d4a72c"]),
        charts.empty_chart("Nothing", "no jobs tonight"),
    ],
    ids=lambda figure: figure.layout["title"]["text"],
)
def test_every_kind_of_chart_is_a_figure_plotly_accepts_unchanged(figure: charts.Figure) -> None:
    # Charts are plain figure dicts written without Plotly's (slow) validation: Plotly's Figure
    # must accept each one (it raises on an unknown property or a bad value) and change nothing.
    as_dict = charts.figure_dict(figure)
    validated = go.Figure(as_dict).to_plotly_json()
    assert validated["data"] == as_dict["data"]
    assert validated["layout"] == as_dict["layout"]
    div = charts.to_div(figure, "chart-x")
    assert 'id="chart-x"' in div and "Plotly.newPlot" in div


def test_a_lists_rows_are_read_in_member_order_whatever_order_the_warehouse_gives(tmp_path: Path) -> None:
    # A list's rows share one as_of_date: ordered by it alone, an incremental night and a full rebuild
    # of it wrote the same list in two orders. Stored here in reverse, read in member order.
    night = date(2026, 3, 1)
    with duckdb.connect(str(tmp_path / "lists.duckdb")) as connection:
        connection.execute("create schema reporting")
        connection.execute(
            "create table reporting.exp_some_list as select 'M' || lpad(i::varchar, 3, '0') as member_id,"
            " date '2026-03-01' as as_of_date from range(30, 0, -1) as t(i)"
        )
        reader = MartsReader(connection, night)
        members = list(reader.model("exp_some_list")["member_id"])
    assert members == sorted(members) and len(members) == 30
