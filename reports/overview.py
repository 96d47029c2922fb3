"""The membership overview: members and points by level and country, tonight's level changes,
points lost to decay and supersession, and the registrations that need the member's action."""

from __future__ import annotations

import pandas as pd

from pipelines.core.policy import policy
from reports import charts
from reports.datasets import DataFolder
from reports.marts import MartsReader
from reports.views import LEVEL_ORDER, Column, Figure, Page, Section, TableView, format_value

TOP_COUNTRIES = 15
NEEDS_ACTION = ("incomplete", "invalid", "duplicate_serial")
STATUS_ORDER = ("counted", "incomplete", "invalid", "duplicate_serial", "unknown_product", "removed")


def _level_sort(frame: pd.DataFrame, column: str = "level") -> pd.DataFrame:
    rank = {level: index for index, level in enumerate(LEVEL_ORDER)}
    return frame.sort_values(column, key=lambda levels: levels.map(lambda level: rank.get(level, len(rank))))


def members_by_level(marts: MartsReader) -> pd.DataFrame:
    frame = marts.frame(
        """
        select level, count(*)::bigint as members, sum(validated_points)::bigint as validated_points,
               sum(pending_points)::bigint as pending_points, avg(validated_points) as average_points
        from marts.dim_members group by level
        """
    )
    present = set(frame["level"])
    missing = [
        {"level": level, "members": 0, "validated_points": 0, "pending_points": 0, "average_points": None}
        for level in LEVEL_ORDER
        if level not in present
    ]
    if missing:
        frame = pd.concat([frame, pd.DataFrame(missing)], ignore_index=True)
    frame = _level_sort(frame).reset_index(drop=True)
    total = frame["members"].sum()
    frame["share_of_members"] = frame["members"] / total if total else 0.0
    return frame


def members_by_country(marts: MartsReader) -> pd.DataFrame:
    """One row per country (the largest ones; the rest summed as 'Other'), members per level as columns."""
    frame = marts.frame(
        """
        select country,
               count(*)::bigint as members,
               count(*) filter (where level = 'Red')::bigint as "Red",
               count(*) filter (where level = 'Silver')::bigint as "Silver",
               count(*) filter (where level = 'Gold')::bigint as "Gold",
               count(*) filter (where level = 'Platinum')::bigint as "Platinum",
               sum(validated_points)::bigint as validated_points
        from marts.dim_members group by country order by members desc, country
        """
    )
    if len(frame) > TOP_COUNTRIES:
        rest = frame.iloc[TOP_COUNTRIES:].drop(columns="country").sum()
        other = pd.DataFrame([{"country": f"Other ({len(frame) - TOP_COUNTRIES} countries)", **rest.to_dict()}])
        frame = pd.concat([frame.iloc[:TOP_COUNTRIES], other], ignore_index=True)
    return frame


def level_changes(marts: MartsReader) -> pd.DataFrame:
    return marts.frame(
        """
        select previous_level, level, direction, count(*)::bigint as members
        from marts.fct_level_changes where as_of_date = ?
        group by all order by direction desc, members desc, previous_level, level
        """,
        [marts.as_of],
    )


def points_lost(marts: MartsReader) -> pd.DataFrame:
    """Per category, the base points of counted registrations and what decay and supersession take away.

    The age-only points (decay alone, as if the product were neither superseded nor out of service)
    split the loss: base - age-only is decay, age-only - effective is what the successor or the end of
    service took on top. Products with neither flag lose to decay only, so the parts always add up.
    """
    values = policy()
    return marts.frame(
        """
        with counted as (
            select p.category, p.base_points, r.effective_points, p.age_years, p.is_superseded, p.is_service_ended
            from marts.fct_registrations as r
            inner join marts.dim_products as p on r.product_sku = p.product_sku
            where r.status = 'counted'
        ),
        aged as (
            select *,
                case when base_points > 0 then greatest(1, floor(base_points::decimal(18, 0) * greatest(
                    1 - ?::decimal(18, 6) * greatest(0, age_years - ? + 1), ?::decimal(18, 6)) + 0.5))
                else 0 end::bigint as age_only_points
            from counted
        )
        select category,
            count(*)::bigint as counted_registrations,
            sum(base_points)::bigint as base_points,
            sum(effective_points)::bigint as effective_points,
            sum(base_points - effective_points)::bigint as points_lost,
            sum(case when is_superseded or is_service_ended then base_points - age_only_points
                     else base_points - effective_points end)::bigint as lost_to_decay,
            sum(case when is_service_ended then 0
                     when is_superseded then age_only_points - effective_points else 0 end)::bigint
                as lost_to_supersession,
            sum(case when is_service_ended then age_only_points - effective_points else 0 end)::bigint
                as lost_to_service_end
        from aged group by category order by points_lost desc, category
        """,
        [str(values["decay_per_year"]), int(values["grace_years"]), str(values["floor_share"])],
    )


def registrations_by_status(marts: MartsReader) -> pd.DataFrame:
    frame = marts.frame("select status, count(*)::bigint as registrations from marts.fct_registrations group by 1")
    rank = {status: index for index, status in enumerate(STATUS_ORDER)}
    frame = frame.sort_values("status", key=lambda s: s.map(lambda v: rank.get(v, len(rank)))).reset_index(drop=True)
    total = frame["registrations"].sum()
    frame["share"] = frame["registrations"] / total if total else 0.0
    frame["needs_action"] = frame["status"].isin(NEEDS_ACTION)
    return frame


def action_reasons(marts: MartsReader) -> pd.DataFrame:
    """Registrations needing action by reason (one registration may have several reasons)."""
    frame = marts.frame(
        f"""
        select status, case when status = 'duplicate_serial' and coalesce(reasons, '') = ''
                            then 'duplicate_serial' else trim(reason) end as reason,
               count(*)::bigint as registrations
        from marts.fct_registrations,
             unnest(string_split(case when coalesce(reasons, '') = '' then status else reasons end, ',')) as t(reason)
        where status in {NEEDS_ACTION}
        group by all order by registrations desc, reason
        """
    )
    return frame


def build_overview(marts: MartsReader, data: DataFolder) -> Page:
    page = Page(
        "overview.html",
        "Membership overview",
        f"Members, points and registrations as published for the night of {marts.as_of:%d %B %Y}.",
    )
    levels = members_by_level(marts)
    countries = members_by_country(marts)
    changes = level_changes(marts)
    losses = points_lost(marts)
    statuses = registrations_by_status(marts)
    reasons = action_reasons(marts)
    welcome_packs = int(marts.scalar("select count(*) from marts.rpt_welcome_packs where due_on = ?", [marts.as_of]))

    members = int(levels["members"].sum())
    paid = int(levels.loc[levels["level"] != "Red", "members"].sum())
    up = int(changes.loc[changes["direction"] == "up", "members"].sum())
    down = int(changes.loc[changes["direction"] == "down", "members"].sum())
    active = statuses.loc[statuses["status"] != "removed", "registrations"].sum()
    needing = int(statuses.loc[statuses["needs_action"], "registrations"].sum())
    lost = int(losses["points_lost"].sum())
    base = int(losses["base_points"].sum())
    page.figures = [
        Figure("Members", format_value(members, "int"), f"{format_value(paid, 'int')} Silver or above"),
        Figure(
            "Validated points",
            format_value(int(levels["validated_points"].sum()), "int"),
            f"{format_value(int(levels['pending_points'].sum()), 'int')} pending",
        ),
        Figure("Level changes tonight", f"▲ {up:,}  ▼ {down:,}", f"{welcome_packs:,} welcome packs due"),
        Figure(
            "Needing action",
            format_value(needing / active if active else 0, "pct"),
            f"{needing:,} of {int(active):,} registrations in kitbags",
        ),
        Figure(
            "Points lost to age and successors",
            format_value(lost / base if base else 0, "pct"),
            f"{lost:,} of {base:,} base points",
        ),
    ]

    level_file = data.save("members_by_level", levels, "Members, validated and pending points per level")
    level_colours = [charts.LEVEL_COLOURS[level] for level in levels["level"]]
    page.sections.append(
        Section(
            "Members by level",
            "Each member's level comes from validated points (counted registrations only).",
            chart=charts.bars(
                "chart-members-level",
                "Members by level",
                levels["level"].tolist(),
                {"members": levels["members"].tolist()},
                bar_colours=level_colours,
                value_title="members",
            ),
            table=TableView.of(
                levels,
                [
                    Column("level", "Level"),
                    Column("members", "Members", "int"),
                    Column("share_of_members", "Share", "pct"),
                    Column("validated_points", "Validated points", "int"),
                    Column("average_points", "Average", "decimal"),
                    Column("pending_points", "Pending points", "int"),
                ],
            ),
            data_file=level_file,
        )
    )
    page.sections.append(
        Section(
            "Validated points by level",
            "Pending points are what members' incomplete or invalid registrations would add once fixed.",
            chart=charts.bars(
                "chart-points-level",
                "Points by level",
                levels["level"].tolist(),
                {"validated": levels["validated_points"].tolist(), "pending": levels["pending_points"].tolist()},
                {"validated": charts.ACCENT, "pending": "#a9b8cc"},
                stacked=False,
                value_title="points",
            ),
            data_file=level_file,
        )
    )

    country_columns = [Column("country", "Country"), Column("members", "Members", "int")]
    country_columns += [Column(level, level, "int") for level in LEVEL_ORDER]
    country_columns.append(Column("validated_points", "Validated points", "int"))
    page.sections.append(
        Section(
            "Members by country of residence",
            f"The {TOP_COUNTRIES} largest countries; the others are summed in the last row.",
            chart=charts.bars(
                "chart-members-country",
                "Members by country and level",
                countries["country"].tolist(),
                {level: countries[level].tolist() for level in LEVEL_ORDER},
                charts.LEVEL_COLOURS,
                value_title="members",
                height=420,
            ),
            table=TableView.of(countries, country_columns),
            data_file=data.save("members_by_country", countries, "Members per country and level, validated points"),
        )
    )

    change_labels = [f"{row.previous_level} → {row.level}" for row in changes.itertuples()]
    page.sections.append(
        Section(
            "Level changes tonight",
            "Members whose level differs from their previous recorded night (a member's first night is not a change).",
            chart=charts.bars(
                "chart-level-changes",
                "Level changes tonight",
                change_labels,
                {"members": changes["members"].tolist()},
                horizontal=True,
                value_title="members",
                bar_colours=["#2e8540" if d == "up" else "#c8102e" for d in changes["direction"]],
                height=max(260, 60 + 36 * len(changes)),
            )
            if len(changes)
            else charts.empty_chart("chart-level-changes", "Level changes tonight", "No level changes tonight"),
            table=TableView.of(
                changes,
                [
                    Column("previous_level", "From"),
                    Column("level", "To"),
                    Column("direction", "Direction"),
                    Column("members", "Members", "int"),
                ],
            ),
            data_file=data.save("level_changes", changes, "Tonight's level changes by from/to level"),
        )
    )

    loss_series = {
        "decay (age)": losses["lost_to_decay"].tolist(),
        "supersession": losses["lost_to_supersession"].tolist(),
        "end of service": losses["lost_to_service_end"].tolist(),
    }
    page.sections.append(
        Section(
            "Points lost to decay and supersession",
            "Over counted registrations: base points minus the points they carry tonight. Decay is what age alone "
            "takes; supersession and end of service are what a successor or the end of Canon's service takes on top "
            "of that (the policy's cap and floor share).",
            chart=charts.bars(
                "chart-points-lost",
                "Points lost by product category",
                losses["category"].tolist(),
                loss_series,
                {"decay (age)": "#8da0b6", "supersession": "#d4a72c", "end of service": "#c8102e"},
                horizontal=True,
                value_title="points",
                height=max(300, 80 + 36 * len(losses)),
            ),
            table=TableView.of(
                losses,
                [
                    Column("category", "Category"),
                    Column("counted_registrations", "Counted registrations", "int"),
                    Column("base_points", "Base points", "int"),
                    Column("effective_points", "Points tonight", "int"),
                    Column("lost_to_decay", "Lost to decay", "int"),
                    Column("lost_to_supersession", "To supersession", "int"),
                    Column("lost_to_service_end", "To end of service", "int"),
                    Column("points_lost", "Total lost", "int"),
                ],
            ),
            data_file=data.save("points_lost", losses, "Points lost per category: decay, supersession, end of service"),
        )
    )

    status_colours = {
        "counted": "#2e8540",
        "incomplete": "#e8871e",
        "invalid": "#c8102e",
        "duplicate_serial": "#8e44ad",
        "unknown_product": "#9aa5b1",
        "removed": "#d0d4d9",
    }
    page.sections.append(
        Section(
            "Registrations by status",
            "Incomplete, invalid and duplicate-serial registrations need the member's action (the blue dot).",
            chart=charts.donut(
                "chart-registration-status",
                "Registrations by status",
                statuses["status"].tolist(),
                statuses["registrations"].tolist(),
                [status_colours.get(s, "#666") for s in statuses["status"]],
            ),
            table=TableView.of(
                statuses,
                [
                    Column("status", "Status"),
                    Column("registrations", "Registrations", "int"),
                    Column("share", "Share", "pct"),
                    Column("needs_action", "Needs action", "bool"),
                ],
            ),
            data_file=data.save("registrations_by_status", statuses, "Registrations per status"),
        )
    )
    page.sections.append(
        Section(
            "Why registrations need action",
            "A registration can have several reasons, so the counts add up to more than the registrations.",
            chart=charts.bars(
                "chart-action-reasons",
                "Reasons for action",
                reasons["reason"].tolist(),
                {"registrations": reasons["registrations"].tolist()},
                horizontal=True,
                value_title="registrations",
                height=max(260, 60 + 32 * len(reasons)),
            )
            if len(reasons)
            else charts.empty_chart("chart-action-reasons", "Reasons for action", "Nothing needs action"),
            table=TableView.of(
                reasons,
                [
                    Column("status", "Status"),
                    Column("reason", "Reason"),
                    Column("registrations", "Registrations", "int"),
                ],
            ),
            data_file=data.save("action_reasons", reasons, "Registrations needing action per status and reason"),
        )
    )
    return page
