"""The trends page: figures over the latest recorded nights, read from the ledgers (agg_night_trends)."""

from __future__ import annotations

from reports.charts import LEVEL_COLOURS
from reports.layout import ChartSpec, PageSpec, SectionSpec
from reports.views import Column

NIGHT = Column("as_of_date", "Night", "date")


def trend(
    key: str,
    chart: str,
    title: str,
    note: str,
    value_title: str,
    kind: str = "int",
    colours: dict[str, str] | None = None,
) -> SectionSpec:
    return SectionSpec(
        key,
        title,
        note,
        "agg_night_trends",
        (NIGHT,),
        ChartSpec("lines", "as_of_date", colours=colours or {}, value_title=value_title),
        where={"chart": chart},
        pivot=("as_of_date", "series", "value"),
        value_kind=kind,
        empty="No recorded nights yet",
        data_description=f"{title}, one row per night",
    )


TRENDS = PageSpec(
    file_name="trends.html",
    title="Trends",
    intro="The latest recorded nights up to {as_of:%d %B %Y} (at most the policy's trend_nights), read from the "
    "ledgers: each night's figures as published that night, never recomputed.",
    figures_model="agg_sla_figures",  # the met-rate target line of the SLA trend
    sections=(
        trend(
            "trend_members_by_level",
            "members_by_level",
            "Members by level",
            "Members per level on each recorded night (level history).",
            "members",
            colours=LEVEL_COLOURS,
        ),
        trend(
            "trend_points",
            "points",
            "Points held, gained and lost to decay",
            "Validated points of all members, their net change since the previous night, and the points counted "
            "registrations had lost to decay (age) that night.",
            "points",
        ),
        trend("trend_invitations", "invitations", "Invitations", "Members on each night's invitation list.", "members"),
        trend(
            "trend_sla_met_rate",
            "sla_met_rate",
            "SLA met rate: Fast Track and standard",
            "Met rate of decided jobs per night, against the target (dashed).",
            "met rate",
            "pct",
        ),
    ),
)
