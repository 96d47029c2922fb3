"""The membership overview page, described as data (models of dbt/models/reporting/marts)."""

from __future__ import annotations

from reports.charts import ACCENT, DIRECTION_COLOURS, LEVEL_COLOURS, STATUS_COLOURS
from reports.layout import ChartSpec, FigureSpec, PageSpec, SectionSpec
from reports.views import Column, columns

LEVEL_SERIES = (("red", "Red"), ("silver", "Silver"), ("gold", "Gold"), ("platinum", "Platinum"))

OVERVIEW = PageSpec(
    file_name="overview.html",
    title="Membership overview",
    intro="Members, points and registrations as published for the night of {as_of:%d %B %Y}.",
    figures_model="agg_overview_figures",
    figures=(
        FigureSpec("members", "Members", detail="{members_silver_or_above:,} Silver or above"),
        FigureSpec("validated_points", "Validated points", detail="{pending_points:,} pending"),
        FigureSpec(
            "level_changes",
            "Level changes tonight",
            detail="▲ {level_ups:,} up, ▼ {level_downs:,} down; {welcome_packs_due:,} welcome packs due",
        ),
        FigureSpec(
            "needing_action_share",
            "Needing action",
            "pct",
            "{registrations_needing_action:,} of {registrations_in_kitbags:,} registrations in kitbags",
        ),
        FigureSpec(
            "points_lost_share",
            "Points lost to age and successors",
            "pct",
            "{points_lost:,} of {base_points:,} base points",
        ),
    ),
    sections=(
        SectionSpec(
            "members_by_level",
            "Members by level",
            "Each member's level comes from validated points (counted registrations only).",
            "agg_members_by_level",
            columns(
                "level:Level",
                "members:Members:int",
                "share_of_members:Share:pct",
                "validated_points:Validated points:int",
                "average_points:Average:decimal",
                "pending_points:Pending points:int",
            ),
            ChartSpec(
                "bars", "level", (("members", "members"),), colour_by=("level", LEVEL_COLOURS), value_title="members"
            ),
            data_description="Members, validated and pending points per level",
        ),
        SectionSpec(
            "points_by_level",
            "Validated points by level",
            "Pending points are what members' incomplete or invalid registrations would add once fixed.",
            "agg_members_by_level",
            chart=ChartSpec(
                "bars",
                "level",
                (("validated_points", "validated"), ("pending_points", "pending")),
                {"validated": ACCENT, "pending": "#a9b8cc"},
                stacked=False,
                value_title="points",
            ),
            data_description="Validated and pending points per level",
        ),
        SectionSpec(
            "members_by_country",
            "Members by country of residence",
            "The largest countries one by one; the others are summed in the last row.",
            "agg_members_by_country",
            (
                Column("country", "Country"),
                Column("members", "Members", "int"),
                *(Column(column, label, "int") for column, label in LEVEL_SERIES),
                Column("validated_points", "Validated points", "int"),
            ),
            ChartSpec("bars", "country", LEVEL_SERIES, LEVEL_COLOURS, value_title="members"),
            data_description="Members per country and level, validated points",
        ),
        SectionSpec(
            "level_changes",
            "Level changes tonight",
            "Members whose level differs from their previous recorded night (a member's first night is not a change).",
            "agg_level_changes",
            columns("previous_level:From", "level:To", "direction:Direction", "members:Members:int"),
            ChartSpec(
                "hbars",
                "change",
                (("members", "members"),),
                colour_by=("direction", DIRECTION_COLOURS),
                value_title="members",
            ),
            empty="No level changes tonight",
            data_description="Tonight's level changes by from/to level",
        ),
        SectionSpec(
            "points_lost",
            "Points lost to decay and supersession",
            "Over counted registrations: base points minus the points they carry tonight. Decay is what age alone "
            "takes; supersession and end of service are what a successor or the end of Canon's service takes on top "
            "of that.",
            "agg_points_lost",
            columns(
                "category:Category",
                "counted_registrations:Counted registrations:int",
                "base_points:Base points:int",
                "effective_points:Points tonight:int",
                "lost_to_decay:Lost to decay:int",
                "lost_to_supersession:To supersession:int",
                "lost_to_service_end:To end of service:int",
                "points_lost:Total lost:int",
            ),
            ChartSpec(
                "hbars",
                "category",
                (
                    ("lost_to_decay", "decay (age)"),
                    ("lost_to_supersession", "supersession"),
                    ("lost_to_service_end", "end of service"),
                ),
                {"decay (age)": "#8da0b6", "supersession": "#d4a72c", "end of service": "#c8102e"},
                value_title="points",
            ),
            data_description="Points lost per category: decay, supersession, end of service",
        ),
        SectionSpec(
            "registrations_by_status",
            "Registrations by status",
            "Incomplete, invalid and duplicate-serial registrations need the member's action (the blue dot).",
            "agg_registrations_by_status",
            columns(
                "status_label:Status",
                "registrations:Registrations:int",
                "share:Share:pct",
                "needs_action:Needs action:bool",
            ),
            ChartSpec(
                "donut", "status_label", (("registrations", "registrations"),), colour_by=("status", STATUS_COLOURS)
            ),
            data_description="Registrations per status",
        ),
        SectionSpec(
            "action_reasons",
            "Why registrations need action",
            "A registration can have several reasons, so the counts add up to more than the registrations.",
            "agg_action_reasons",
            columns("reason_label:Reason", "status_label:Status", "registrations:Registrations:int"),
            ChartSpec("hbars", "reason_label", (("registrations", "registrations"),), value_title="registrations"),
            empty="Nothing needs action",
            data_description="Registrations needing action per reason",
        ),
    ),
)
