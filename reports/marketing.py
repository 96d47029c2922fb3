"""Tonight's marketing exports (CSV files) and the page that describes them, without any personal data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.core.policy import policy
from reports import charts
from reports.datasets import DataFolder
from reports.exports import (
    MarketingExport,
    come_back_export,
    completion_export,
    invitation_export,
    level_at_risk_export,
    write_safe_csv,
)
from reports.marts import MartsReader
from reports.views import LEVEL_ORDER, Column, Figure, Page, Section, TableView, format_value


def write_exports(marts: MartsReader, night_dir: Path) -> list[MarketingExport]:
    exports = [invitation_export(marts), completion_export(marts), level_at_risk_export(marts), come_back_export(marts)]
    for export in exports:
        if len(export.rows.columns):  # a list whose table the warehouse does not have yet is not written
            write_safe_csv(export.rows, night_dir / export.file_name)
    return exports


def _consent_warning(export: MarketingExport) -> str | None:
    if export.dropped_without_consent:
        return (
            f"{export.dropped_without_consent:,} row(s) of the published list had no marketing consent "
            "(or no member record) tonight and were left out of the export: tell the data team."
        )
    return None


def build_marketing(marts: MartsReader, data: DataFolder, exports: list[MarketingExport]) -> Page:
    invitations, completion, at_risk, come_back = exports
    threshold = int(policy()["invitation_points"])
    page = Page(
        "marketing.html",
        "Marketing exports",
        f"Tonight's lists ({marts.as_of:%d %B %Y}) for the marketing team. Only members with marketing "
        "consent are exported; the files hold just what the campaigns need and are safe to open in a "
        "spreadsheet (a cell that would start a formula begins with a quote).",
    )
    page.figures = [
        Figure("Invitations", format_value(len(invitations.rows), "int"), "first-time invitations tonight"),
        Figure(
            "Completion campaign",
            format_value(len(completion.rows), "int"),
            f"members who would reach {threshold:,} points by completing registrations",
        ),
    ]

    invited = invitations.rows
    by_country_level = (
        invited.groupby(["country", "level"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=list(LEVEL_ORDER), fill_value=0)
        if len(invited)
        else pd.DataFrame(columns=list(LEVEL_ORDER))
    )
    by_country_level.insert(0, "invitations", by_country_level.sum(axis=1))
    by_country_level = by_country_level.sort_values("invitations", ascending=False).reset_index()
    by_country_level = by_country_level.rename(columns={"index": "country"})
    page.sections.append(
        Section(
            "Invitations by country and level",
            "Members invited for the first time tonight (validated points at or above the invitation threshold, "
            f"marketing consent, never on another night's list). File: {invitations.file_name} with member_id, email, "
            "language, country, level, eligible_tiers.",
            chart=charts.bars(
                "chart-invitations",
                "Invitations by country",
                by_country_level["country"].tolist(),
                {level: by_country_level[level].tolist() for level in LEVEL_ORDER if level != "Red"},
                charts.LEVEL_COLOURS,
                value_title="members",
            )
            if len(by_country_level)
            else charts.empty_chart("chart-invitations", "Invitations by country", "No invitations tonight"),
            table=TableView.of(
                by_country_level,
                [
                    Column("country", "Country"),
                    Column("invitations", "Invitations", "int"),
                    *[Column(level, level, "int") for level in LEVEL_ORDER[1:]],
                ],
            ),
            data_file=data.save(
                "invitations_by_country", by_country_level, "Tonight's invitations per country and level"
            ),
            warning=_consent_warning(invitations),
        )
    )

    needed = completion.rows
    bands = pd.cut(
        needed["points_needed"],
        bins=[0, 50, 100, 200, 300, 400, threshold],
        labels=["1–50", "51–100", "101–200", "201–300", "301–400", f"401–{threshold}"],
        include_lowest=True,
    )
    by_band = (
        needed.assign(points_needed_band=bands)
        .groupby("points_needed_band", observed=False)
        .agg(members=("member_id", "count"), pending_points=("pending_points", "sum"))
        .reset_index()
    )
    by_band["points_needed_band"] = by_band["points_needed_band"].astype(str)
    page.sections.append(
        Section(
            "Completion campaign by points still needed",
            f"Members with consent below {threshold:,} validated points whose pending points (incomplete or invalid "
            f"registrations) would take them over the threshold. File: {completion.file_name} with member_id, email, "
            "language, validated_points, pending_points, points_needed, action_required_count.",
            chart=charts.bars(
                "chart-completion",
                "Members by points needed to qualify",
                by_band["points_needed_band"].tolist(),
                {"members": by_band["members"].tolist()},
                {"members": charts.ACCENT},
                value_title="members",
            ),
            table=TableView.of(
                by_band,
                [
                    Column("points_needed_band", "Points needed"),
                    Column("members", "Members", "int"),
                    Column("pending_points", "Pending points", "int"),
                ],
            ),
            data_file=data.save(
                "completion_by_points_needed", by_band, "Completion campaign per band of points needed"
            ),
            warning=_consent_warning(completion),
        )
    )
    page.sections.append(level_at_risk_section(marts, data, at_risk))
    if marts.exists("rpt_migration"):
        page.sections.append(migration_section(marts, data, come_back))
    page.figures.append(
        Figure("Level at risk", format_value(len(at_risk.rows), "int"), "consenting members whose level would drop")
    )
    if come_back.rows is not None and len(come_back.rows.columns):
        page.figures.append(
            Figure("Come back", format_value(len(come_back.rows), "int"), "old CPS accounts not migrated yet")
        )
    return page


def level_at_risk_section(marts: MartsReader, data: DataFolder, export: MarketingExport) -> Section:
    """Members at risk of a lower level, by level and month of the drop; the file holds the consenting ones."""
    days = int(policy()["at_risk_days"])
    if marts.exists("rpt_level_at_risk"):
        summary = marts.frame(
            """
            select level, level_after, strftime(drop_on, '%Y-%m') as drop_month, count(*) as members,
                   count(email) as with_consent, sum(points_to_keep_level) as points_to_keep,
                   sum(pending_points) as pending_points
            from marts.rpt_level_at_risk
            group by all
            order by drop_month, level, level_after
            """
        )
    else:
        summary = pd.DataFrame(
            columns=[
                "level",
                "level_after",
                "drop_month",
                "members",
                "with_consent",
                "points_to_keep",
                "pending_points",
            ]
        )
    return Section(
        "Level at risk",
        f"Members whose level {days} days from tonight would be lower than tonight's, as the points forecast "
        "computes from the ageing of their products (a drop that recovers within the window is not listed). "
        "File: level_at_risk_<date>.csv with member_id, email, language, level, level_after, drop_on, "
        "points_to_keep_level, pending_points (consenting members only).",
        chart=charts.bars(
            "chart-level-at-risk",
            "Members at risk by month of the drop",
            summary["drop_month"].tolist(),
            {"members": summary["members"].tolist()},
            {"members": charts.ACCENT},
            value_title="members",
        )
        if len(summary)
        else charts.empty_chart("chart-level-at-risk", "Members at risk", "No member at risk tonight"),
        table=TableView.of(
            summary,
            [
                Column("drop_month", "Drop in"),
                Column("level", "Level tonight"),
                Column("level_after", "Level then"),
                Column("members", "Members", "int"),
                Column("with_consent", "With consent", "int"),
                Column("points_to_keep", "Points to keep the level", "int"),
                Column("pending_points", "Pending points", "int"),
            ],
        ),
        data_file=data.save(
            "level_at_risk_by_month", summary, "Members at risk of a lower level per month of the drop"
        ),
        warning=_consent_warning(export),
    )


def migration_section(marts: MartsReader, data: DataFolder, come_back: MarketingExport) -> Section:
    """Old CPS accounts by old status and how the claiming member's level tonight compares."""
    summary = marts.frame(
        """
        select old_level,
               count(*) as accounts,
               count(member_id) as migrated,
               count(*) filter (where comparison = 'higher') as higher,
               count(*) filter (where comparison = 'same') as same,
               count(*) filter (where comparison = 'lower') as lower,
               count(*) filter (where comparison = 'video') as video,
               coalesce(sum(points_to_old_level) filter (where comparison = 'lower'), 0) as points_to_old_level
        from marts.rpt_migration
        group by old_level
        order by case old_level when 'Silver' then 1 when 'Gold' then 2 when 'Platinum' then 3 else 4 end
        """
    )
    return Section(
        "Migration from the old CPS",
        "Accounts of the old programme by their old status, and the level tonight of the member who claimed each "
        "(higher, same or lower; the old separate video status has no place on the new ladder). Accounts not "
        f"migrated yet whose owner consented are the come-back list: come_back_<date>.csv ({len(come_back.rows):,} "
        "addresses: email, old_level, member_since).",
        chart=charts.bars(
            "chart-migration",
            "Old accounts by old status",
            summary["old_level"].tolist(),
            {name: summary[name].tolist() for name in ("higher", "same", "lower", "video")},
            {"higher": "#2e7d32", "same": "#90a4ae", "lower": charts.ACCENT, "video": "#6a1b9a"},
            value_title="accounts",
        )
        if len(summary)
        else charts.empty_chart("chart-migration", "Old accounts", "No old CPS accounts loaded"),
        table=TableView.of(
            summary,
            [
                Column("old_level", "Old status"),
                Column("accounts", "Accounts", "int"),
                Column("migrated", "Migrated", "int"),
                Column("higher", "Higher now", "int"),
                Column("same", "Same", "int"),
                Column("lower", "Lower now", "int"),
                Column("video", "Video (no equivalent)", "int"),
                Column("points_to_old_level", "Points to old level (lower)", "int"),
            ],
        ),
        data_file=data.save("migration_by_old_level", summary, "Old CPS accounts by old status and comparison"),
    )
