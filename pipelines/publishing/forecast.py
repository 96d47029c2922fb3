"""`cps forecast`: who is at risk of a lower level, and the level drops week by week.

Reads the published night (read-only). Another date is built aside in a throw-away copy by the
same dbt models (like `cps explain --as-of`); the published warehouse is never written.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from pipelines.core.errors import CpsError, UsageError, first_line
from pipelines.core.policy import level_order, policy
from pipelines.core.settings import Settings
from pipelines.core.warehouse import connect
from pipelines.publishing.explain import require_published_night
from pipelines.transformation.dbt_runner import run_dbt, scratch_invocation

FORECAST_MODELS = "+rpt_level_at_risk +fct_points_forecast"


def level_rank(column: str) -> str:
    """SQL: the level's place on the ladder (Red 0 .. Platinum 3)."""
    ranks = " ".join(f"when '{level}' then {rank}" for rank, level in enumerate(level_order()))
    return f"case {column} {ranks} end"


@dataclass(frozen=True)
class ForecastView:
    night: date
    days: int
    at_risk_days: int
    at_risk: list[tuple[str, str, int, int]]  # level, level_after, members, with consent
    weekly_drops: list[tuple[date, int, int]]  # week starting, members whose level drops, points lost


def read_forecast(database: Path, night: date, days: int) -> ForecastView:
    """The at-risk summary (rpt_level_at_risk) and the level drops per week within `days` days."""
    connection = connect(database, read_only=True)
    try:
        at_risk = connection.execute(
            f"""
            select level, level_after, count(*), count(email)
            from marts.rpt_level_at_risk
            group by level, level_after
            order by {level_rank("level")} desc, {level_rank("level_after")} desc
            """
        ).fetchall()
        weekly = connection.execute(
            f"""
            with steps as (
                select
                    f.member_id,
                    f.change_on,
                    f.validated_points
                    - coalesce(lag(f.validated_points) over w, m.validated_points) as points_change,
                    {level_rank("f.level")}
                    < coalesce(lag({level_rank("f.level")}) over w, {level_rank("m.level")}) as level_drops
                from marts.fct_points_forecast as f
                inner join marts.dim_members as m using (member_id)
                window w as (partition by f.member_id order by f.change_on)
            )
            select
                date_trunc('week', change_on)::date as week,
                count(distinct member_id) filter (where level_drops),
                -sum(points_change) filter (where points_change < 0)
            from steps
            where change_on <= ?::date
            group by week
            order by week
            """,
            [night + timedelta(days=days)],
        ).fetchall()
    except duckdb.CatalogException as error:
        raise CpsError(f"the warehouse has no published forecast ({first_line(error)})") from None
    finally:
        connection.close()
    return ForecastView(
        night=night,
        days=days,
        at_risk_days=int(policy()["at_risk_days"]),
        at_risk=[(level, after, int(n), int(consent)) for level, after, n, consent in at_risk],
        weekly_drops=[(week, int(members or 0), int(points or 0)) for week, members, points in weekly],
    )


def render_forecast(view: ForecastView, console: Console) -> None:
    at_risk_date = view.night + timedelta(days=view.at_risk_days)
    total = sum(row[2] for row in view.at_risk)
    summary = Table(title=f"Members at risk of a lower level by {at_risk_date} (night {view.night})")
    for column in ("level tonight", "level then", "members", "with marketing consent"):
        summary.add_column(column, justify="right" if column[0] in "mw" else "left")
    for level, after, members, consent in view.at_risk:
        summary.add_row(level, after, f"{members:,}", f"{consent:,}")
    summary.add_section()
    summary.add_row("total", "", f"{total:,}", f"{sum(row[3] for row in view.at_risk):,}")
    console.print(summary)

    weekly = Table(
        title=f"Level drops per week, {view.night + timedelta(days=1)} to {view.night + timedelta(days=view.days)}"
    )
    weekly.add_column("week of")
    weekly.add_column("members whose level drops", justify="right")
    weekly.add_column("points lost", justify="right")
    for week, members, points in view.weekly_drops:
        weekly.add_row(week.isoformat(), f"{members:,}", f"{points:,}")
    if not view.weekly_drops:
        weekly.add_row("(no change)", "0", "0")
    console.print(weekly)


def forecast(settings: Settings, as_of: date | None, days: int | None, console: Console) -> ForecastView:
    """Print the forecast of the published night, or of night `as_of` built aside."""
    horizon = int(policy()["forecast_horizon_days"])
    days = int(policy()["at_risk_days"]) if days is None else days
    if not 1 <= days <= horizon:
        raise UsageError(f"--days must be between 1 and the forecast horizon ({horizon} days), not {days}")
    warehouse = settings.warehouse
    night = require_published_night(warehouse)
    if as_of is None or as_of == night:
        view = read_forecast(warehouse, night, days)
    else:
        with tempfile.TemporaryDirectory(prefix="cps-forecast-") as scratch_dir:
            invocation = scratch_invocation(warehouse, Path(scratch_dir), as_of)
            run_dbt(invocation, ("run", "--select", FORECAST_MODELS, "--quiet"))
            view = read_forecast(invocation.database, as_of, days)
    render_forecast(view, console)
    return view
