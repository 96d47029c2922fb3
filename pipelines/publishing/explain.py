"""`cps explain MEMBER_ID`: a member's points product by product, in words, as a table (rich)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from pipelines.core.errors import CpsError, UsageError, first_line
from pipelines.core.policy import level_ladder, policy
from pipelines.core.settings import Settings
from pipelines.core.warehouse import connect
from pipelines.transformation.dbt_runner import run_dbt, scratch_invocation

# The models a member's explanation reads; rebuilt in a scratch copy for another night.
EXPLAIN_MODELS = "+dim_members +fct_registrations +dim_products +rpt_action_required"


@dataclass(frozen=True)
class RegistrationLine:
    product_sku: str
    product_name: str
    launch_date: date | None
    base_points: int | None
    age_years: int | None
    is_superseded: bool | None
    is_service_ended: bool | None
    product_points: int | None
    status: str
    reasons: str
    effective_points: int
    pending_points: int
    registration_id: str
    explanation: str | None


def published_night(warehouse: Path) -> date | None:
    connection = connect(warehouse, read_only=True)
    try:
        row = connection.execute("select max(as_of_date) from marts.dim_members").fetchone()
        return row[0] if row else None
    except duckdb.CatalogException:
        return None
    finally:
        connection.close()


def require_published_night(warehouse: Path) -> date:
    """The published night, or one line saying why there is none (a wrong --warehouse is a usage error)."""
    if not warehouse.exists():
        raise UsageError(f"no warehouse at {warehouse}: run `cps nightly` first (or set --warehouse)")
    night = published_night(warehouse)
    if night is None:
        raise CpsError(f"the warehouse {warehouse} has no published night yet: run `cps nightly` first")
    return night


def build_scratch_night(warehouse: Path, as_of: date, scratch_dir: Path) -> Path:
    """Another night's numbers, computed by the same dbt models in a throw-away copy."""
    invocation = scratch_invocation(warehouse, scratch_dir, as_of)
    run_dbt(invocation, ("run", "--select", EXPLAIN_MODELS, "--quiet"))
    return invocation.database


def read_member(database: Path, member_id: str) -> tuple[dict[str, object], list[RegistrationLine]]:
    connection = connect(database, read_only=True)
    try:
        member_cursor = connection.execute("select * from marts.dim_members where member_id = ?", [member_id])
        row = member_cursor.fetchone()
        if row is None:
            raise CpsError(f"unknown member {member_id!r} (not in marts.dim_members)")
        member = dict(zip([column[0] for column in member_cursor.description], row, strict=True))
        lines = connection.execute(
            """
            select r.product_sku, coalesce(p.product_name, '(not in the catalogue)'), p.launch_date,
                   p.base_points, p.age_years, p.is_superseded, p.is_service_ended, p.effective_points,
                   r.status, coalesce(r.reasons, ''), r.effective_points, r.pending_points,
                   r.registration_id, a.explanation
            from marts.fct_registrations as r
            left join marts.dim_products as p using (product_sku)
            left join (
                select registration_id, string_agg(explanation, '; ') as explanation
                from marts.rpt_action_required group by registration_id
            ) as a using (registration_id)
            where r.member_id = ?
            order by r.effective_points desc, r.pending_points desc, r.product_sku
            """,
            [member_id],
        ).fetchall()
        return member, [RegistrationLine(*line) for line in lines]
    except duckdb.CatalogException as error:
        raise CpsError(f"the warehouse has no published night to explain ({first_line(error)})") from None
    finally:
        connection.close()


def describe_points(line: RegistrationLine) -> str:
    if line.base_points is None:
        return "unknown product: no points"
    values = policy()
    notes = [f"age {line.age_years}y"]
    if line.age_years is not None and line.age_years >= int(values["grace_years"]):
        notes.append("decaying")
    if line.is_superseded:
        notes.append(f"superseded (at most {float(values['superseded_factor_cap']):.0%})")
    if line.is_service_ended:
        notes.append(f"service ended ({float(values['floor_share']):.0%})")
    return f"{line.base_points} base -> {line.product_points} now ({', '.join(notes)})"


def registrations_table(lines: list[RegistrationLine]) -> Table:
    """One row per registration: full product name, its registration id, points and status, wrapped."""
    table = Table(box=box.SIMPLE_HEAD, show_lines=False, expand=False, pad_edge=False)
    table.add_column("product", overflow="fold", min_width=20)
    table.add_column("registration", no_wrap=True)
    table.add_column("points (base -> as of the night)", overflow="fold", min_width=20)
    table.add_column("status", overflow="fold", min_width=10)
    table.add_column("adds", justify="right", no_wrap=True)
    table.add_column("pending", justify="right", no_wrap=True)
    for line in lines:
        status = line.status + (f" ({line.reasons})" if line.reasons else "")
        table.add_row(
            Text(f"{line.product_name} [{line.product_sku}]"),
            Text(line.registration_id),
            Text(describe_points(line)),
            Text(status),
            f"{line.effective_points:,}",
            f"{line.pending_points:,}",
        )
    return table


def render(member: dict[str, object], lines: list[RegistrationLine], night: date) -> Group:
    """The explanation for the console: a heading, the registrations table, what reaches the next level."""
    heading = Text(
        f"Member {member['member_id']} as of {night}: {member['level']}, "
        f"{member['validated_points']} validated points, {member['pending_points']} pending"
    )
    body: Table | Text = registrations_table(lines) if lines else Text("(no products registered)")
    return Group(heading, body, Text("\n".join(next_steps(member, lines))))


def next_steps(member: dict[str, object], lines: list[RegistrationLine]) -> list[str]:
    to_fix = [line for line in lines if line.explanation]
    steps = []
    if member.get("next_level") is None:
        steps.append(f"Top level reached ({level_ladder()[-1].level}).")
    else:
        needed = int(member["points_to_next_level"])
        steps.append(f"{needed} more points reach {member['next_level']}.")
        pending = sum(line.pending_points for line in to_fix)
        if pending:
            verdict = "enough" if pending >= needed else "not enough on its own"
            steps.append(f"Fixing the registrations below would add {pending} points ({verdict}).")
    for line in to_fix:
        steps.append(f"  - {line.product_name} ({line.registration_id}): {line.explanation}")
    return steps


def explain_member(settings: Settings, member_id: str, as_of: date | None = None) -> Group:
    """Explain from the published night, or (with as_of) rebuild another night aside to explain it."""
    warehouse = settings.warehouse
    night = require_published_night(warehouse)
    if as_of is None or as_of == night:
        member, lines = read_member(warehouse, member_id)
        return render(member, lines, night)
    with tempfile.TemporaryDirectory(prefix="cps-explain-") as scratch_dir:
        scratch = build_scratch_night(warehouse, as_of, Path(scratch_dir))
        member, lines = read_member(scratch, member_id)
        return render(member, lines, as_of)
