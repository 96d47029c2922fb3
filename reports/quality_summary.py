"""A short summary of tonight's quality checks, when the warehouse has quality.validation_results."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from reports.marts import MartsReader

SEVERITY_ORDER = {"critical": 0, "warning": 1}


@dataclass(frozen=True)
class QualitySummary:
    checks: int
    failed: int
    failed_by_severity: dict[str, int]
    failures: pd.DataFrame  # suite, expectation, severity, unexpected_count, description


def _description(details: object) -> str:
    """The plain-words description kept in the details JSON (empty when there is none)."""
    try:
        parsed = json.loads(details) if isinstance(details, str) else {}
    except json.JSONDecodeError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    return str(parsed.get("description") or parsed.get("error") or "")


def read_quality_summary(marts: MartsReader) -> QualitySummary | None:
    """None when tonight has no quality results (a warehouse built without the gate)."""
    if not marts.exists("validation_results", schema="quality"):
        return None
    frame = marts.frame(
        "select suite, expectation, severity, success, unexpected_count, details"
        " from quality.validation_results where as_of_date = ?",
        [marts.as_of],
    )
    if frame.empty:
        return None
    failed = frame[~frame["success"].astype(bool)].copy()
    failed["description"] = failed["details"].map(_description)
    failed["rank"] = failed["severity"].map(lambda v: SEVERITY_ORDER.get(v, 2))
    failures = failed.sort_values(["rank", "suite", "expectation"])[
        ["suite", "expectation", "severity", "unexpected_count", "description"]
    ]
    by_severity = failed["severity"].value_counts().to_dict()
    return QualitySummary(
        len(frame), len(failed), {str(k): int(v) for k, v in by_severity.items()}, failures.reset_index(drop=True)
    )
