"""`cps simulate`: night D under other policy values, built aside and compared with the published night.

The published warehouse is only ever copied (byte copy) and read: the simulated night is built by
the same dbt models, with the changed policy values written into the copy's raw.run_context (dbt
keeps its parse: see the policy_value macro), in a scratch copy that is thrown away afterwards.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pipelines.core.errors import CpsError, UsageError
from pipelines.core.nights import archive_path
from pipelines.core.policy import level_order, policy_problems, settable_policy
from pipelines.core.settings import Settings
from pipelines.core.warehouse import connect
from pipelines.publishing.explain import published_night
from pipelines.transformation.dbt_runner import run_dbt, scratch_invocation


def parse_settings(assignments: list[str]) -> dict[str, int | float]:
    """NAME=VALUE pairs, each checked against the policy's names and the type of its shipped value."""
    shipped = settable_policy()
    valid = f"valid names: {', '.join(shipped)}"
    values: dict[str, int | float] = {}
    for assignment in assignments:
        name, separator, text = assignment.partition("=")
        name, text = name.strip(), text.strip()
        if not separator or not name:
            raise UsageError(f"--set takes NAME=VALUE, not {assignment!r}; {valid}")
        if name not in shipped:
            raise UsageError(f"unknown policy name {name!r}; {valid}")
        kind = type(shipped[name])
        try:
            if kind is int:
                values[name] = int(text)
            else:
                Decimal(text)  # a share must be an exact decimal number, e.g. 0.2
                if not Decimal(text).is_finite():
                    raise InvalidOperation
                values[name] = float(text) if kind is float else int(text)
        except (ValueError, InvalidOperation):
            expected = "a whole number" if kind is int else "a decimal number"
            raise UsageError(f"{name} takes {expected}, not {text!r}; {valid}") from None
    if not values:
        raise UsageError(f"give at least one --set NAME=VALUE; {valid}")
    problems = policy_problems(values)
    if problems:
        raise UsageError(f"{'; '.join(problems)}; {valid}")
    return values


@dataclass(frozen=True)
class Comparison:
    night: date
    settings: dict[str, int | float]
    baseline: str  # where "before" comes from
    matrix: list[tuple[str, str, int]]  # level now, simulated level, members
    measures: list[tuple[str, int, int]]  # measure, before, after

    @property
    def has_difference(self) -> bool:
        return any(before != after for _, before, after in self.measures) or any(
            now != simulated for now, simulated, _ in self.matrix
        )


def member_levels(database: Path) -> dict[str, str]:
    connection = connect(database, read_only=True)
    try:
        return dict(connection.execute("select member_id, level from marts.dim_members").fetchall())
    finally:
        connection.close()


def welcome_pack_ledger(ledger: Path) -> set[str]:
    """Members with a welcome pack in the published ledger, whatever night it was due (once per member, ever).

    "Newly due" is Silver or above with no pack in the ledger: what a policy would send beyond the packs
    already sent. For the published night itself the baseline is 0 (its Silver members have theirs).
    """
    connection = connect(ledger, read_only=True)
    try:
        rows = connection.execute("select member_id from marts.rpt_welcome_packs")
        return {member_id for (member_id,) in rows.fetchall()}
    finally:
        connection.close()


def night_figures(database: Path, night: date, levels: dict[str, str], packed: set[str]) -> dict[str, int]:
    """The compared measures of night `night` built in `database` (levels read from it already)."""
    figures = {f"members {level}": 0 for level in level_order()}
    for level in levels.values():
        figures[f"members {level}"] += 1
    figures["welcome packs newly due"] = sum(
        1 for member_id, level in levels.items() if level != "Red" and member_id not in packed
    )
    connection = connect(database, read_only=True)
    try:
        figures["invitations"] = int(
            connection.execute("select count(*) from marts.rpt_invitations where as_of_date = ?", [night]).fetchone()[0]
        )
        jobs, loans = connection.execute(
            "select count(*) filter (where fast_track), count(*) filter (where loan_owed) from marts.fct_service_jobs"
        ).fetchone()
    finally:
        connection.close()
    figures["Fast Track jobs"] = int(jobs)
    figures["loans owed"] = int(loans)
    return figures


def level_matrix(before: dict[str, str], after: dict[str, str]) -> list[tuple[str, str, int]]:
    """Members by (level now, simulated level), for every member in both nights."""
    levels = level_order()
    counts: dict[tuple[str, str], int] = {}
    for member_id, level in before.items():
        if member_id in after:
            key = (level, after[member_id])
            counts[key] = counts.get(key, 0) + 1
    return [
        (now, simulated, counts[(now, simulated)])
        for now, simulated in sorted(counts, key=lambda key: (levels.index(key[0]), levels.index(key[1])))
    ]


def build_night(source: Path, scratch_dir: Path, night: date, settings: dict[str, Any]) -> Path:
    """Night `night` built by dbt in a copy of `source`, with `settings` as its policy values."""
    invocation = scratch_invocation(source, scratch_dir, night, policy_overrides=settings)
    run_dbt(invocation, ("run", "--quiet"))
    return invocation.database


def archived_night(warehouse: Path, night: date) -> Path | None:
    archive = archive_path(warehouse, night)
    return archive if archive.is_file() else None


def simulate(settings: Settings, assignments: list[str], as_of: date | None) -> Comparison:
    """Build night D under the changed policy aside and compare it with the published night D."""
    values = parse_settings(assignments)
    warehouse = settings.warehouse
    if not warehouse.exists():
        raise UsageError(f"no warehouse at {warehouse}: run `cps nightly` first (or set --warehouse)")
    current = published_night(warehouse)
    if current is None:
        raise CpsError(f"the warehouse {warehouse} has no published night yet: run `cps nightly` first")
    night = as_of or current
    with tempfile.TemporaryDirectory(prefix=".cps-simulate-", dir=warehouse.parent) as scratch_root:
        scratch_root_path = Path(scratch_root)
        if night == current:
            baseline, origin = warehouse, f"published night {night}"
        elif (archive := archived_night(warehouse, night)) is not None:
            baseline, origin = archive, f"archived night {night}"
        else:
            baseline = build_night(warehouse, scratch_root_path / "shipped", night, {})
            origin = f"night {night} rebuilt under the shipped policy"
        simulated = build_night(warehouse, scratch_root_path / "simulated", night, values)
        packed = welcome_pack_ledger(warehouse)
        levels_before, levels_after = member_levels(baseline), member_levels(simulated)
        before = night_figures(baseline, night, levels_before, packed)
        after = night_figures(simulated, night, levels_after, packed)
        matrix = level_matrix(levels_before, levels_after)
    measures = [(name, before[name], after[name]) for name in before]
    return Comparison(night=night, settings=values, baseline=origin, matrix=matrix, measures=measures)


def render_comparison(comparison: Comparison, console: Any) -> None:
    """The comparison as terminal tables (rich)."""
    from rich.table import Table

    changed = ", ".join(f"{name}={value}" for name, value in comparison.settings.items())
    matrix = Table(title=f"Level migration, night {comparison.night} with {changed} (vs {comparison.baseline})")
    matrix.add_column("level now \\ simulated")
    levels = level_order()
    for level in levels:
        matrix.add_column(level, justify="right")
    cells = {(now, simulated): members for now, simulated, members in comparison.matrix}
    for now in levels:
        matrix.add_row(now, *(f"{cells.get((now, simulated), 0):,}" for simulated in levels))
    console.print(matrix)
    table = Table(title="Before / after / difference")
    for column in ("measure", "before", "after", "difference"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for name, before, after in comparison.measures:
        table.add_row(name, f"{before:,}", f"{after:,}", f"{after - before:+,}")
    console.print(table)
    if not comparison.has_difference:
        console.print("No difference from the compared night.")
