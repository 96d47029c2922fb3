"""Foresight on generated data: the points forecast's defining property, the at-risk list, migration.

For several dates F in the horizon, the forecast's points and level of every member equal what a
night as of F computes over the same inputs (an inbox generated as of D, so every record is
stamped on or before D and a night as of F reads exactly the inputs of D).
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipelines.core.policy import level_ladder, policy
from pipelines.core.settings import PROJECT_ROOT
from tests.dbt_fixtures import build_night, query

NIGHT = date(2026, 11, 30)


@pytest.fixture(scope="module")
def forecast_night(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Path:
    """Night D built (models and data tests) over a generated inbox."""
    from pipelines.ingestion.ingest import ingest_all
    from tools.synthetic.generate import generate_inbox

    work = tmp_path_factory.mktemp("forecast")
    inbox = work / "inbox"
    generate_inbox(out=inbox, members=150, seed=7, as_of=NIGHT, catalog_dir=PROJECT_ROOT / "catalog")
    database = work / "night.duckdb"
    ingest_all(inbox=inbox, catalog=PROJECT_ROOT / "catalog", database=database)
    build_night(database, NIGHT, work / "dbt")
    return database


def points_as_of(database: Path, night: date, work: Path) -> dict[str, tuple[int, str]]:
    """Every member's validated points and level from a night as of `night` over a copy of the same raw data.

    Every date is built at the same path: dbt then re-uses its parse of the project (a parse is tied to the
    database path) and parses it once for all dates.
    """
    copy = work / "as-of.duckdb"
    copy.with_name(copy.name + ".wal").unlink(missing_ok=True)  # never replay the previous date's log
    shutil.copyfile(database, copy)
    build_night(copy, night, work / "dbt-f", ("run", "--select", "+dim_members", "--exclude", "int_points_forecast"))
    rows = query(copy, "select member_id, validated_points, level from marts.dim_members")
    return {member_id: (points, level) for member_id, points, level in rows}


def forecast_as_of(database: Path, night: date) -> dict[str, tuple[int, str]]:
    """Each member's forecast points and level as of `night`: its last change on or before, else tonight's."""
    rows = query(
        database,
        f"""
        select m.member_id,
            coalesce(f.validated_points, m.validated_points),
            coalesce(f.level, m.level)
        from marts.dim_members as m
        left join (
            select * from marts.fct_points_forecast where change_on <= date '{night.isoformat()}'
            qualify row_number() over (partition by member_id order by change_on desc) = 1
        ) as f using (member_id)
        """,
    )
    return {member_id: (points, level) for member_id, points, level in rows}


def test_forecast_equals_a_night_as_of_each_date(forecast_night: Path, tmp_path: Path) -> None:
    horizon_end = NIGHT + timedelta(days=int(policy()["forecast_horizon_days"]))
    busiest = [
        row[0]
        for row in query(
            forecast_night,
            "select change_on from marts.fct_points_forecast"
            " group by change_on order by count(*) desc, change_on limit 2",
        )
    ]
    assert busiest, "the generated data should have changes within the horizon"
    dates = sorted({busiest[0] - timedelta(days=1), *busiest, horizon_end})
    for night in dates:
        expected = forecast_as_of(forecast_night, night)
        computed = points_as_of(forecast_night, night, tmp_path)
        assert set(computed) == set(expected)
        differences = {
            member: (expected[member], night_value)
            for member, night_value in computed.items()
            if expected[member] != night_value
        }
        assert not differences, f"forecast differs from the night as of {night}: {differences}"


def test_only_real_changes_are_listed(forecast_night: Path) -> None:
    """Each listed date changes the points against the member's previous date (tonight's for the first)."""
    unchanged = query(
        forecast_night,
        """
        select f.member_id, f.change_on
        from marts.fct_points_forecast as f
        join marts.dim_members as m using (member_id)
        qualify f.validated_points = coalesce(
            lag(f.validated_points) over (partition by f.member_id order by f.change_on), m.validated_points)
        """,
    )
    assert unchanged == []


def test_dim_members_next_change_is_the_first_forecast_row(forecast_night: Path) -> None:
    mismatched = query(
        forecast_night,
        """
        select m.member_id
        from marts.dim_members as m
        left join (
            select * from marts.fct_points_forecast
            qualify row_number() over (partition by member_id order by change_on) = 1
        ) as f using (member_id)
        where m.next_change_on is distinct from f.change_on
            or m.points_after_next_change is distinct from f.validated_points
        """,
    )
    assert mismatched == []
    assert query(forecast_night, "select count(*) from marts.dim_members where next_change_on is not null")[0][0] > 0


def test_level_at_risk_follows_the_forecast(forecast_night: Path) -> None:
    """Listed exactly: members whose level as of D + at_risk_days is below tonight's (recovered drops are not)."""
    at_risk_on = NIGHT + timedelta(days=int(policy()["at_risk_days"]))
    expected = forecast_as_of(forecast_night, at_risk_on)
    ranks = {rung.level: rung.level_rank for rung in level_ladder()}
    tonight = dict(query(forecast_night, "select member_id, level from marts.dim_members"))
    lower = {member for member, (_, level) in expected.items() if ranks[level] < ranks[tonight[member]]}
    listed = query(
        forecast_night,
        "select member_id, level_after, points_after, email is null, drop_on from marts.rpt_level_at_risk",
    )
    assert {row[0] for row in listed} == lower
    consent = dict(query(forecast_night, "select member_id, marketing_opt_in from marts.dim_members"))
    for member, level_after, points_after, no_email, drop_on in listed:
        assert (level_after, points_after) == (expected[member][1], expected[member][0])
        assert no_email == (not consent[member])
        assert NIGHT < drop_on <= at_risk_on


def test_legacy_accounts_are_loaded_and_reconciled(forecast_night: Path) -> None:
    loaded = query(forecast_night, "select count(*) from raw.legacy_accounts")[0][0]
    quarantined = query(forecast_night, "select count(*) from raw.quarantine where source = 'legacy_accounts'")[0][0]
    ledger = query(
        forecast_night,
        "select count(*), sum(rows_loaded), sum(rows_quarantined) from raw.file_ledger"
        " where source = 'legacy_accounts'",
    )[0]
    assert loaded > 0
    assert ledger[0] >= 1 and (ledger[1], ledger[2]) == (loaded, quarantined)


def test_migration_compares_every_old_account(forecast_night: Path) -> None:
    comparisons = dict(
        query(
            forecast_night, "select coalesce(comparison, 'not migrated'), count(*) from marts.rpt_migration group by 1"
        )
    )
    assert {"not migrated", "video", "lower"} <= set(comparisons)
    accounts = query(forecast_night, "select count(*) from staging.stg_legacy_accounts")[0][0]
    assert sum(comparisons.values()) == accounts
    # a number claimed twice goes to the member who joined first
    doubles = query(
        forecast_night,
        """
        select m.legacy_cps_number, r.member_id,
               arg_min(m.member_id, (m.joined_at, m.member_id)) as first_joiner
        from marts.dim_members as m
        join marts.rpt_migration as r using (legacy_cps_number)
        group by m.legacy_cps_number, r.member_id
        having count(*) > 1
        """,
    )
    assert doubles, "the generator claims some numbers twice"
    assert all(member_id == first_joiner for _, member_id, first_joiner in doubles)
    come_back = query(
        forecast_night,
        """
        select count(*) from staging.stg_legacy_accounts as a
        where a.marketing_opt_in
            and a.legacy_cps_number not in (
                select legacy_cps_number from marts.dim_members where legacy_cps_number is not null)
        """,
    )[0][0]
    assert query(forecast_night, "select count(*) from marts.rpt_come_back")[0][0] == come_back > 0


def test_reports_export_the_at_risk_and_come_back_lists(forecast_night: Path, tmp_path: Path) -> None:
    import pandas as pd

    from reports.render import render_reports

    night_dir = render_reports(forecast_night, NIGHT, tmp_path / "reports")
    at_risk = pd.read_csv(night_dir / f"level_at_risk_{NIGHT.isoformat()}.csv", dtype=str)
    consenting = {
        member
        for (member,) in query(
            forecast_night,
            "select r.member_id from marts.rpt_level_at_risk as r"
            " join marts.dim_members as m using (member_id) where m.marketing_opt_in",
        )
    }
    assert set(at_risk["member_id"]) == consenting
    come_back = pd.read_csv(night_dir / f"come_back_{NIGHT.isoformat()}.csv", dtype=str)
    assert list(come_back.columns) == ["email", "old_level", "member_since"]
    assert len(come_back) == query(forecast_night, "select count(*) from marts.rpt_come_back")[0][0]
    marketing = (night_dir / "marketing.html").read_text(encoding="utf-8")
    assert "Level at risk" in marketing and "Migration from the old CPS" in marketing
    assert "@example" not in marketing  # no personal data on the page
