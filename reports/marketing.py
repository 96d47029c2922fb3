"""Tonight's marketing exports (CSV files) and the page that describes them, without any personal data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.core.policy import policy
from reports import charts
from reports.datasets import DataFolder
from reports.exports import MarketingExport, completion_export, invitation_export, write_safe_csv
from reports.marts import MartsReader
from reports.views import LEVEL_ORDER, Column, Figure, Page, Section, TableView, format_value


def write_exports(marts: MartsReader, night_dir: Path) -> list[MarketingExport]:
    exports = [invitation_export(marts), completion_export(marts)]
    for export in exports:
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
    invitations, completion = exports
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
    return page
