"""Read the policy numbers where they are kept: the vars of the dbt project."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

import yaml

from pipelines.core.settings import DBT_PROJECT_DIR


@cache
def policy() -> dict[str, Any]:
    """The dbt project's vars (the single place for thresholds, decay and SLA targets)."""
    with (DBT_PROJECT_DIR / "dbt_project.yml").open(encoding="utf-8") as handle:
        project = yaml.safe_load(handle)
    return dict(project.get("vars", {}))


def policy_decimal(name: str) -> Decimal:
    return Decimal(str(policy()[name]))


def level_thresholds() -> list[tuple[str, int]]:
    """Paid levels with the validated points each needs, lowest first."""
    values = policy()
    return [
        ("Silver", int(values["level_silver_points"])),
        ("Gold", int(values["level_gold_points"])),
        ("Platinum", int(values["level_platinum_points"])),
    ]
