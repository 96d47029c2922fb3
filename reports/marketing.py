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

# Migration comparison: better (green), unchanged (grey), worse (the accent), no equivalent (purple).
MIGRATION_COLOURS = {"Higher now": "#2e7d32", "Same": "#90a4ae", "Lower now": ACCENT, "Video": "#6a1b9a"}

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
    MarketingList(
        "level_at_risk",
        "Level at risk",
        "exp_level_at_risk",
        "members whose level would be lower in {at_risk_days} days (member_id, email, language, level, level_after, "
        "drop_on, points_to_keep_level, pending_points)",
    ),
    MarketingList(
        "come_back",
        "Come back",
        "exp_come_back",
        "old CPS accounts not migrated yet whose owner agreed to marketing (email, old_level, member_since); "
        "empty when no old accounts were loaded",
        key_column="email",
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
        FigureSpec(
            "level_at_risk_exported",
            "Level at risk",
            detail="on the list, of {level_at_risk:,} members whose level would drop within {at_risk_days} days",
        ),
        FigureSpec("come_back", "Come back", detail="old CPS accounts not migrated yet, of {legacy_accounts:,} loaded"),
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
        SectionSpec(
            "level_at_risk_by_week",
            "Level at risk by week of the drop",
            "Members whose level {at_risk_days} days from tonight would be lower than tonight's, as the points "
            "forecast computes from the ageing of their products (a drop that recovers within the window is not "
            "counted), by the week the level would first drop and by level tonight. Only those with marketing "
            "consent are on the list ({level_at_risk_exported:,} of {level_at_risk:,}).",
            "agg_level_at_risk_by_week",
            columns(
                "drop_week:Week of the drop (Monday):date",
                "members:Members:int",
                "exported:On the list:int",
                "silver:Silver:int",
                "gold:Gold:int",
                "platinum:Platinum:int",
                "points_to_keep_level:Points to keep the level:int",
            ),
            ChartSpec(
                "bars",
                "week_label",
                (("silver", "Silver"), ("gold", "Gold"), ("platinum", "Platinum")),
                LEVEL_COLOURS,
                value_title="members",
            ),
            empty="No member at risk tonight",
            data_description="Members at risk of a lower level per week of the drop and level tonight",
        ),
        SectionSpec(
            "migration_by_old_level",
            "Migration from the old CPS",
            "Accounts of the old programme ({legacy_accounts:,} loaded) by their old status, and the level tonight of "
            "the member who claimed each: higher, same or lower (the old video status has no rung on the new ladder). "
            "Accounts not migrated yet whose owner agreed to marketing are the come-back list ({come_back:,}).",
            "agg_migration_by_old_level",
            columns(
                "old_level:Old status",
                "accounts:Accounts:int",
                "migrated:Migrated:int",
                "higher:Higher now:int",
                "same:Same:int",
                "lower:Lower now:int",
                "video:Video (no equivalent):int",
                "points_to_old_level:Points to old status (lower):int",
            ),
            ChartSpec(
                "bars",
                "old_level",
                (("higher", "Higher now"), ("same", "Same"), ("lower", "Lower now"), ("video", "Video")),
                MIGRATION_COLOURS,
                value_title="accounts",
            ),
            empty="No old CPS accounts loaded",
            data_description="Old CPS accounts by old status and how the claiming member's level compares",
        ),
    ),
    lists=MARKETING_LISTS,
    lists_note="Each list as CSV (UTF-8 with a byte-order mark, so Excel shows accented names correctly) and as an "
    "Excel workbook; the file names carry the night's date, and every night keeps its own files.",
)
