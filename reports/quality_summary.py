"""A short summary of tonight's quality checks, when the warehouse has quality.validation_results."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from reports.marts import MartsReader


@dataclass(frozen=True)
class QualitySummary:
    checks: int
    failed: int
    failed_by_severity: dict[str, int]
    failures: pd.DataFrame


def _first(columns: set[str], *candidates: str) -> str | None:
    return next((name for name in candidates if name in columns), None)


def read_quality_summary(marts: MartsReader) -> QualitySummary | None:
    """None when there is no results table, or it has no pass/fail column this summary understands."""
    if not marts.exists("validation_results", schema="quality"):
        return None
    columns = marts.columns("validation_results", schema="quality")
    success = _first(columns, "success", "passed")
    if success is None:
        return None
    night = _first(columns, "as_of_date", "as_of", "run_date")
    where = f"where {night} = ?" if night else ""
    frame = marts.frame(f"select * from quality.validation_results {where}", [marts.as_of] if night else [])
    failed = frame[~frame[success].astype(bool)]
    severity = _first(columns, "severity")
    by_severity = failed[severity].value_counts().to_dict() if severity else {"failed": len(failed)}
    shown = [
        c
        for c in (
            _first(columns, "suite"),
            _first(columns, "expectation", "name", "expectation_name"),
            severity,
            _first(columns, "description"),
        )
        if c
    ]
    return QualitySummary(
        len(frame), len(failed), {str(k): int(v) for k, v in by_severity.items()}, failed[shown].reset_index(drop=True)
    )
