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

    The model's own SQL is rendered with the policy vars (and `overrides`, as `dbt --vars` would) and
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
