"""Read the policy where it is kept: the vars of the dbt project, and the level ladder built from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import duckdb
import jinja2
import yaml

from pipelines.core.settings import DBT_PROJECT_DIR

LEVEL_LADDER_MODEL = DBT_PROJECT_DIR / "models" / "membership" / "intermediate" / "int_level_ladder.sql"
POLICY_MACROS = DBT_PROJECT_DIR / "macros" / "policy_values.sql"


@cache
def policy() -> dict[str, Any]:
    """The dbt project's vars (the single place for thresholds, decay and SLA targets)."""
    with (DBT_PROJECT_DIR / "dbt_project.yml").open(encoding="utf-8") as handle:
        project = yaml.safe_load(handle)
    return dict(project.get("vars", {}))


# Not policy: the run's dates, which every run sets itself (--as-of, and the published night).
NOT_SETTABLE = frozenset({"as_of_date", "current_night"})


def settable_policy() -> dict[str, Any]:
    """Every policy value a run may set by name (overrides, `cps simulate --set`), with its shipped value."""
    return {name: value for name, value in policy().items() if name not in NOT_SETTABLE}


def describe_policy() -> str:
    """The settable policy values as NAME=VALUE, for help texts."""
    return ", ".join(f"{name}={value}" for name, value in settable_policy().items())


def night_policy(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The policy one night uses: the project's vars with the run's overrides (Settings.policy_overrides).

    Every reader on the night's path (ingestion's quarantine share, the gate, retention) takes its
    values from here, so an override reaches Python exactly as it reaches dbt. KeyError names an
    override that is not a settable policy value.
    """
    unknown = sorted(set(overrides or {}) - set(settable_policy()))
    if unknown:
        raise KeyError(f"not a policy value: {', '.join(unknown)}; valid names: {', '.join(settable_policy())}")
    return {**policy(), **(overrides or {})}


# Policy values that are shares of a whole (factors, rates): between 0 and 1.
SHARES = frozenset(
    {"decay_per_year", "superseded_factor_cap", "floor_share", "max_quarantined_share", "sla_met_rate_target"}
)


def policy_problems(overrides: Mapping[str, Any]) -> list[str]:
    """What is wrong with a run's policy values (the shipped ones with `overrides`), found before any
    work: a value of another type than its shipped one, a negative number, a share outside 0-1, a
    level ladder that does not climb, a forecast shorter than its at-risk window."""
    shipped = settable_policy()
    values = {**shipped, **overrides}
    problems = []
    for name in sorted(set(overrides) & set(shipped)):
        value, kind = values[name], type(shipped[name])
        numbers = value if isinstance(value, list) else [value]
        if isinstance(value, list) != (kind is list) or any(
            isinstance(number, bool) or not isinstance(number, int | float) for number in numbers
        ):
            problems.append(f"{name} takes {'a list of numbers' if kind is list else 'a number'}, not {value!r}")
        elif kind is int and any(not float(number).is_integer() for number in numbers):
            problems.append(f"{name} takes a whole number, not {value!r}")
        elif any(number < 0 for number in numbers):
            problems.append(f"{name} cannot be negative ({value!r})")
        elif name in SHARES and not 0 <= value <= 1:
            problems.append(f"{name} is a share between 0 and 1, not {value!r}")
    if problems:
        return problems
    ladder = [values["level_silver_points"], values["level_gold_points"], values["level_platinum_points"]]
    if not 0 < ladder[0] < ladder[1] < ladder[2]:
        problems.append(
            "the level thresholds must climb: 0 < level_silver_points < level_gold_points < level_platinum_points"
            f" (here {ladder[0]}, {ladder[1]}, {ladder[2]})"
        )
    if values["serial_min_length"] > values["serial_max_length"]:
        problems.append("serial_min_length is above serial_max_length")
    if not 1 <= values["at_risk_days"] <= values["forecast_horizon_days"]:
        problems.append("at_risk_days must be between 1 and forecast_horizon_days")
    return problems


def policy_decimal(name: str) -> Decimal:
    return Decimal(str(policy()[name]))


@dataclass(frozen=True)
class Rung:
    """One level of the ladder, with the columns of dbt's int_level_ladder."""

    level: str
    level_rank: int
    min_points: int
    next_level: str | None
    next_level_points: int | None
    tiers_reached: str
    is_paid_tier: bool
    fast_track_target_days: int | None
    loan_eligible: bool


def level_ladder(overrides: Mapping[str, Any] | None = None) -> tuple[Rung, ...]:
    """The level ladder, lowest level first, exactly as dbt's int_level_ladder builds it.

    The model's own SQL is rendered with the policy vars (and `overrides`, as a run's policy_value does) and
    run on an in-memory DuckDB, so the ladder is written once, in the model, and needs no warehouse.
    """
    return _level_ladder(tuple(sorted((overrides or {}).items())))


@cache
def _level_ladder(overrides: tuple[tuple[str, Any], ...]) -> tuple[Rung, ...]:
    values = {**policy(), **dict(overrides)}

    def var(name: str, default: Any = None) -> Any:
        if name not in values and default is None:
            raise KeyError(f"int_level_ladder reads the policy var {name!r}, which dbt_project.yml does not define")
        return values.get(name, default)

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.globals["var"] = var
    environment.globals["policy_value"] = var  # the overrides are already in `values`
    macros = environment.from_string(POLICY_MACROS.read_text(encoding="utf-8")).module
    model = environment.from_string(LEVEL_LADDER_MODEL.read_text(encoding="utf-8"))
    sql = model.render(
        config=lambda **_: "",
        policy_integer=macros.policy_integer,
        policy_decimal=macros.policy_decimal,
    )
    connection = duckdb.connect()
    try:
        rows = connection.sql(f"select * from ({sql}) order by level_rank").fetchall()
    finally:
        connection.close()
    return tuple(Rung(*row) for row in rows)


def level_order() -> tuple[str, ...]:
    """The level names, lowest first."""
    return tuple(rung.level for rung in level_ladder())
