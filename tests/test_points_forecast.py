"""The points forecast's defining property, on generated data.

For several dates F in the horizon, the forecast's points and level of every member equal what a
night as of F computes over the same inputs (an inbox generated as of D, so every record is
stamped on or before D and a night as of F reads exactly the inputs of D).
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipelines.core.policy import policy
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


def points_as_of(database: Path, night: date, work: Path) -> dict[str, int]:
    """Every member's validated points from a night as of `night` over a copy of the same raw data."""
    copy = work / f"as-of-{night.isoformat()}.duckdb"
    shutil.copyfile(database, copy)
    build_night(copy, night, work / "dbt-f", ("run", "--select", "+dim_members", "--exclude", "int_points_forecast"))
    return dict(query(copy, "select member_id, validated_points from marts.dim_members"))


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


def level_of(points: int) -> str:
    values = policy()
    for name, key in (
        ("Platinum", "level_platinum_points"),
        ("Gold", "level_gold_points"),
        ("Silver", "level_silver_points"),
    ):
        if points >= int(values[key]):
            return name
    return "Red"


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
            member: (expected[member], points)
            for member, points in computed.items()
            if expected[member] != (points, level_of(points))
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
