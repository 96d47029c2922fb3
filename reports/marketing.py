"""The marketing page and its lists, described as data (models of dbt/models/reporting/marts).

A new list is one more MarketingList in MARKETING_LISTS (its export model, a title and a description);
a new block on the page is one more SectionSpec.
"""

from __future__ import annotations

from reports.charts import ACCENT, LEVEL_COLOURS
from reports.exports import MarketingList
from reports.layout import ChartSpec, FigureSpec, PageSpec, SectionSpec
from reports.views import columns

CONSENT_WARNING = (
    "{count} row(s) of the published list had no marketing consent (or no member record) tonight and were left out "
    "of the export: tell the data team."
)

MARKETING_LISTS = (
    MarketingList(
        "invitations",
        "Invitations",
        "exp_invitations",
        "members invited for the first time tonight (member_id, email, language, country, level, eligible_tiers)",
    ),
    MarketingList(
        "completion_campaign",
        "Completion campaign",
        "exp_completion_campaign",
        "members who would reach {invitation_points:,} points by completing their registrations (member_id, email, "
        "language, validated_points, pending_points, points_needed, action_required_count)",
    ),
)

MARKETING = PageSpec(
    file_name="marketing.html",
    title="Marketing exports",
    intro="Tonight's lists ({as_of:%d %B %Y}) for the marketing team. Only members with marketing consent are "
    "exported; the files hold just what the campaigns need and are safe to open in a spreadsheet (a cell that would "
    "start a formula begins with a quote).",
    figures_model="agg_marketing_figures",
    figures=(
        FigureSpec("invitations", "Invitations", detail="first-time invitations tonight"),
        FigureSpec(
            "completion_campaign",
            "Completion campaign",
            detail="members who would reach {invitation_points:,} points by completing registrations",
        ),
    ),
    sections=(
        SectionSpec(
            "invitations_by_country",
            "Invitations by country and level",
            "Members invited for the first time tonight (validated points at or above {invitation_points:,}, "
            "marketing consent, never on an earlier night's list).",
            "agg_invitations_by_country",
            columns(
                "country:Country",
                "invitations:Invitations:int",
                "silver:Silver:int",
                "gold:Gold:int",
                "platinum:Platinum:int",
            ),
            ChartSpec(
                "bars",
                "country",
                (("silver", "Silver"), ("gold", "Gold"), ("platinum", "Platinum")),
                LEVEL_COLOURS,
                value_title="members",
            ),
            empty="No invitations tonight",
            data_description="Tonight's invitations per country and level",
            warning=(
                "invitations_without_consent",
                CONSENT_WARNING.replace("{count}", "{invitations_without_consent:,}"),
            ),
        ),
        SectionSpec(
            "completion_by_points_needed",
            "Completion campaign by points still needed",
            "Members with consent below {invitation_points:,} validated points whose pending points (incomplete or "
            "invalid registrations) would take them over the threshold.",
            "agg_completion_by_points_needed",
            columns("points_needed_band:Points needed", "members:Members:int", "pending_points:Pending points:int"),
            ChartSpec(
                "bars", "points_needed_band", (("members", "members"),), {"members": ACCENT}, value_title="members"
            ),
            data_description="Completion campaign per band of points needed",
            warning=(
                "completion_without_consent",
                CONSENT_WARNING.replace("{count}", "{completion_without_consent:,}"),
            ),
        ),
    ),
    lists=MARKETING_LISTS,
    lists_note="Each list as CSV (UTF-8 with a byte-order mark, so Excel shows accented names correctly) and as an "
    "Excel workbook; the file names carry the night's date, and every night keeps its own files.",
)
