"""Tonight's marketing exports: consenting members only, minimal columns, safe to open in a spreadsheet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.core.policy import policy
from reports.marts import MartsReader

# A spreadsheet treats a cell starting with one of these as a formula (or a field separator).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading quote; other values are unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_safe_csv(frame: pd.DataFrame, path: Path) -> Path:
    """CSV with every text cell neutralised (numbers stay numbers, so a negative number is not altered)."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]) and not pd.api.types.is_bool_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_cell, na_action="ignore")
    safe.columns = [neutralise_cell(str(name)) for name in safe.columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    # CRLF line ends (RFC 4180) also make the writer quote any cell holding a bare CR or LF.
    safe.to_csv(path, index=False, lineterminator="\r\n")
    return path


@dataclass(frozen=True)
class MarketingExport:
    """One campaign list: the rows to send, and how many rows the consent check removed (should be 0)."""

    name: str
    rows: pd.DataFrame
    dropped_without_consent: int
    as_of: date

    @property
    def file_name(self) -> str:
        """Dated, so that every night keeps its own list and a later run never overwrites it."""
        return f"{self.name}_{self.as_of.isoformat()}.csv"


def invitation_export(marts: MartsReader) -> MarketingExport:
    """The night's invitation list, re-checked against each member's consent in the current night."""
    sql = f"""
        select i.member_id, i.email, m.language, m.country, i.level, i.eligible_tiers
        from marts.rpt_invitations as i
        inner join marts.dim_members as m on i.member_id = m.member_id
        inner join {marts.consent_table} as consent on i.member_id = consent.member_id
        where i.as_of_date = ? and consent.marketing_opt_in
        order by i.member_id
    """
    rows = marts.frame(sql, [marts.as_of])
    total = marts.scalar("select count(*) from marts.rpt_invitations where as_of_date = ?", [marts.as_of])
    return MarketingExport("invitations", rows, int(total) - len(rows), marts.as_of)


def completion_export(marts: MartsReader) -> MarketingExport:
    """The night's completion campaign: consenting members who would qualify by fixing their registrations."""
    threshold = int(policy()["invitation_points"])
    sql = f"""
        select c.member_id, c.email, m.language, c.validated_points, c.pending_points,
               greatest(0, ? - c.validated_points)::bigint as points_needed, c.action_required_count
        from marts.rpt_completion_campaign as c
        inner join marts.dim_members as m on c.member_id = m.member_id
        inner join {marts.consent_table} as consent on c.member_id = consent.member_id
        where c.as_of_date = ? and consent.marketing_opt_in
        order by c.member_id
    """
    rows = marts.frame(sql, [threshold, marts.as_of])
    total = marts.scalar("select count(*) from marts.rpt_completion_campaign where as_of_date = ?", [marts.as_of])
    return MarketingExport("completion_campaign", rows, int(total) - len(rows), marts.as_of)


def level_at_risk_export(marts: MartsReader) -> MarketingExport:
    """Consenting members whose level would drop within the at-risk window (rpt_level_at_risk)."""
    if not marts.exists("rpt_level_at_risk"):
        return MarketingExport("level_at_risk", pd.DataFrame(), 0, marts.as_of)
    sql = f"""
        select r.member_id, r.email, m.language, r.level, r.level_after, r.drop_on,
               r.points_to_keep_level, r.pending_points
        from marts.rpt_level_at_risk as r
        inner join marts.dim_members as m on r.member_id = m.member_id
        inner join {marts.consent_table} as consent on r.member_id = consent.member_id
        where consent.marketing_opt_in and r.email is not null
        order by r.drop_on, r.member_id
    """
    rows = marts.frame(sql)
    total = marts.scalar("select count(*) from marts.rpt_level_at_risk where email is not null")
    return MarketingExport("level_at_risk", rows, int(total) - len(rows), marts.as_of)


def come_back_export(marts: MartsReader) -> MarketingExport:
    """Owners of old CPS accounts not migrated yet who consented to marketing (rpt_come_back)."""
    if not marts.exists("rpt_come_back"):
        return MarketingExport("come_back", pd.DataFrame(), 0, marts.as_of)
    rows = marts.frame("select email, old_level, member_since from marts.rpt_come_back order by email")
    return MarketingExport("come_back", rows, 0, marts.as_of)
