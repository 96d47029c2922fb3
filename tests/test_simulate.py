"""`cps simulate`: the night under other policy values, built aside and compared with the published one."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from pipelines.core.errors import UsageError
from pipelines.core.policy import level_ladder, policy
from pipelines.core.settings import Settings
from pipelines.publishing.simulate import parse_settings, simulate
from tests.dbt_fixtures import build_night, load_file, member, product, registration

NIGHT = date(2026, 11, 30)


def points_product(sku: str, points: int) -> dict[str, object]:
    # launched two years before the night, within the grace years: full points
    return product(sku, base_points=points, launch_date="2024-06-01")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A published warehouse whose members sit on both sides of the Silver threshold and a raised one."""
    work = tmp_path_factory.mktemp("simulate")
    warehouse = work / "warehouse" / "cps.duckdb"
    points = published_points()
    load_file(warehouse, "products", [points_product(f"P{name}", value) for name, value in points.items() if value])
    load_file(warehouse, "members", [member(name) for name in points])
    load_file(
        warehouse,
        "registrations",
        [
            registration(f"R{name}", name, f"P{name}", purchase_date="2024-07-01", serial_number=f"SN{index:04d}")
            for index, (name, value) in enumerate(points.items())
            if value
        ],
    )
    build_night(warehouse, NIGHT, work / "dbt")
    return Settings().with_overrides(warehouse=warehouse, reports=work / "reports")


def published_points() -> dict[str, int]:
    silver = int(policy()["level_silver_points"])
    return {
        "BELOW": silver - 1,
        "AT_SILVER": silver,
        "BETWEEN": silver + 50,
        "JUST_BELOW_RAISED": silver + 99,
        "AT_RAISED": silver + 100,
        "GOLD": int(policy()["level_gold_points"]),
        "NOKIT": 0,
    }


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_shipped_values_report_no_difference(published: Settings) -> None:
    before = digest(published.warehouse)
    shipped = int(policy()["level_silver_points"])
    comparison = simulate(published, [f"level_silver_points={shipped}", "decay_per_year=0.15"], None)
    assert not comparison.has_difference
    assert {name: b for name, b, _ in comparison.measures}["members Silver"] == 4
    assert all(now == simulated for now, simulated, _ in comparison.matrix)
    assert digest(published.warehouse) == before


def test_raised_silver_threshold_moves_exactly_the_members_between_the_thresholds(published: Settings) -> None:
    before = digest(published.warehouse)
    raised = int(policy()["level_silver_points"]) + 100
    comparison = simulate(published, [f"level_silver_points={raised}"], NIGHT)
    moved = {(now, simulated): members for now, simulated, members in comparison.matrix if now != simulated}
    # AT_SILVER, BETWEEN and JUST_BELOW_RAISED: Silver tonight, below the raised threshold
    assert moved == {("Silver", "Red"): 3}
    measures = {name: (b, a) for name, b, a in comparison.measures}
    assert measures["members Silver"] == (4, 1)
    assert measures["members Red"] == (2, 5)
    # every member Silver or above tonight has its pack in the ledger: none newly due, before or after
    assert measures["welcome packs newly due"] == (0, 0)
    assert digest(published.warehouse) == before


def test_a_lowered_silver_threshold_makes_packs_newly_due_for_members_without_one(published: Settings) -> None:
    """Newly due: Silver or above under the simulated policy, and no welcome pack in the ledger."""
    lowered = int(policy()["level_silver_points"]) - 1
    comparison = simulate(published, [f"level_silver_points={lowered}"], NIGHT)
    measures = {name: (b, a) for name, b, a in comparison.measures}
    assert {(now, simulated): n for now, simulated, n in comparison.matrix if now != simulated} == {
        ("Red", "Silver"): 1
    }
    assert measures["welcome packs newly due"] == (0, 1)  # BELOW, one point short tonight


def test_unknown_name_or_wrong_type_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="valid names: .*level_silver_points") as unknown:
        parse_settings(["silver_points=600"])
    assert unknown.value.exit_code == 2
    with pytest.raises(UsageError, match="grace_years takes a whole number"):
        parse_settings(["grace_years=2.5"])
    with pytest.raises(UsageError, match="decay_per_year takes a decimal number"):
        parse_settings(["decay_per_year=lots"])
    assert parse_settings(["decay_per_year=0.2", "level_gold_points=1200"]) == {
        "decay_per_year": 0.2,
        "level_gold_points": 1200,
    }


def test_forecast_prints_the_weekly_drops_of_the_published_night(published: Settings) -> None:
    """Products launched 2024-06-01 age past the grace years on 2027-06-01: three members drop a level then."""
    from rich.console import Console

    from pipelines.publishing.forecast import forecast

    before = digest(published.warehouse)
    console = Console(record=True, width=120)
    view = forecast(published, None, int(policy()["forecast_horizon_days"]), console)
    assert view.night == NIGHT
    drops = {week: members for week, members, _ in view.weekly_drops if members}
    # the first decay step (a share of decay_per_year lost) on the anniversary after the grace years
    values = policy()
    anniversary = date(2024 + int(values["grace_years"]), 6, 1)
    kept = Decimal(1) - Decimal(str(values["decay_per_year"]))
    ladder = level_ladder()
    ranks = {rung.level: rung.level_rank for rung in ladder}

    def level(points: int) -> str:
        return max((rung for rung in ladder if points >= rung.min_points), key=lambda rung: rung.level_rank).level

    dropping = sum(
        1
        for points in published_points().values()
        if ranks[level(int((points * kept).to_integral_value(ROUND_HALF_UP)))] < ranks[level(points)]
    )
    assert dropping > 0
    assert drops == {anniversary - timedelta(days=anniversary.weekday()): dropping}
    assert view.at_risk == []  # the drop is after the at-risk window (policy: 90 days)
    assert "2027-05-31" in console.export_text()
    with pytest.raises(UsageError, match="--days"):
        forecast(published, None, 0, console)
    assert digest(published.warehouse) == before
