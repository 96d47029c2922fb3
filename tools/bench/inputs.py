"""What every benchmark implementation starts from: the inbox files, the catalogue, the run date, the policy.

The reference implementations (pandas, polars, one DuckDB query) read the same files the platform
ingests and apply the same rules; this module gives them the file lists and the policy numbers
(read from the dbt vars through pipelines.core.policy, never restated) in the form they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from pipelines.core.policy import level_ladder, policy, policy_decimal
from pipelines.core.settings import DBT_PROJECT_DIR

SUPPORTED_SUFFIXES = (".csv", ".parquet")
# Shares (decay, caps, floor) are handled as whole millionths, so that pandas and polars stay exact
# with integer arithmetic (the dbt models use DECIMAL(18, 6), the same precision).
MICRO = 1_000_000
RESULT_COLUMNS = ("member_id", "validated_points", "level")


@dataclass(frozen=True)
class BenchInputs:
    """One night's inputs: inbox (members/, registrations/, ...), catalogue folder, run date D."""

    inbox: Path
    catalog: Path
    as_of: date

    def files(self, source: str) -> list[Path]:
        """The source's batch files in arrival order (file-name order), as ingestion loads them."""
        folder = self.inbox / source
        if not folder.is_dir():
            return []
        return sorted(
            (path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES),
            key=lambda path: path.name,
        )

    @property
    def products_file(self) -> Path:
        return self.catalog / "products.csv"

    @property
    def end_of_day(self) -> datetime:
        """Records stamped at or after this instant (UTC, naive) are after the end of day D."""
        return datetime.combine(self.as_of + timedelta(days=1), time())


def iso_country_codes_file() -> Path:
    """The dbt seed of officially assigned ISO 3166-1 alpha-2 codes (column country_code)."""
    return DBT_PROJECT_DIR / "seeds" / "iso_3166_1_alpha_2.csv"


def as_micro(value: Decimal, name: str) -> int:
    scaled = value * MICRO
    if scaled != scaled.to_integral_value():
        raise ValueError(f"policy {name}={value} has more than 6 decimals; the benchmark needs exact millionths")
    return int(scaled)


@dataclass(frozen=True)
class PointsPolicy:
    """The policy numbers of the registration, decay and level rules, shares in millionths."""

    grace_years: int
    decay_per_year_micro: int
    superseded_cap_micro: int
    floor_micro: int
    purchase_before_launch_days: int
    serial_min_length: int
    serial_max_length: int
    levels: tuple[tuple[str, int], ...]  # the levels above the bottom one, lowest threshold first
    bottom_level: str  # the level below every threshold

    @property
    def serial_pattern(self) -> str:
        """Letters (A-Z, any case) or digits, of an allowed length: the whole trimmed serial must match."""
        return f"[A-Za-z0-9]{{{self.serial_min_length},{self.serial_max_length}}}"


def points_policy() -> PointsPolicy:
    values = policy()
    return PointsPolicy(
        grace_years=int(values["grace_years"]),
        decay_per_year_micro=as_micro(policy_decimal("decay_per_year"), "decay_per_year"),
        superseded_cap_micro=as_micro(policy_decimal("superseded_factor_cap"), "superseded_factor_cap"),
        floor_micro=as_micro(policy_decimal("floor_share"), "floor_share"),
        purchase_before_launch_days=int(values["purchase_before_launch_days"]),
        serial_min_length=int(values["serial_min_length"]),
        serial_max_length=int(values["serial_max_length"]),
        levels=tuple((rung.level, rung.min_points) for rung in level_ladder()[1:]),
        bottom_level=level_ladder()[0].level,
    )
