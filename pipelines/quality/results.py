"""One row per expectation per night: read out of GX results, kept in quality.validation_results."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.core.errors import CpsError, first_line
from pipelines.core.warehouse import connect
from pipelines.quality.suites import ExpectationSpec, Severity

if TYPE_CHECKING:  # this module stays free of Great Expectations: the gate's result returns from its worker
    from pipelines.quality.gx import GroupValidation

RESULTS_TABLE = "quality.validation_results"
RESULTS_COLUMNS = {
    "as_of_date": "DATE",
    "run_at": "TIMESTAMP",
    "suite": "VARCHAR",
    "expectation": "VARCHAR",  # the suite's name for it (stable id)
    "expectation_type": "VARCHAR",  # the GX expectation
    "target": "VARCHAR",  # schema.table or schema.table.column
    "severity": "VARCHAR",
    "success": "BOOLEAN",  # false also when it could not be evaluated
    "evaluated": "BOOLEAN",  # false: GX raised (see details.error)
    "observed_value": "VARCHAR",
    "unexpected_count": "BIGINT",
    "unexpected_percent": "DOUBLE",
    "details": "VARCHAR",  # JSON: description, sample of unexpected values or rows, error
}
SAMPLE_SIZE = 10
NOT_EVALUATED = "could not evaluate"


@dataclass(frozen=True)
class ExpectationOutcome:
    suite: str
    spec: ExpectationSpec
    success: bool
    error: str | None = None
    observed_value: str | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample: tuple[Any, ...] = ()

    @property
    def evaluated(self) -> bool:
        return self.error is None

    @property
    def failed(self) -> bool:
        return not self.success or not self.evaluated

    def reason(self) -> str:
        """One line for the operator: which check, what it means, what was seen."""
        where = f"{self.suite}.{self.spec.name} ({self.spec.target})"
        if not self.evaluated:
            return f"{where}: {NOT_EVALUATED}: {self.error}"
        seen = [f"observed {self.observed_value}"] if self.observed_value is not None else []
        if self.sample:
            seen.append("e.g. " + json.dumps(list(self.sample[:3]), default=str))
        return f"{where}: {self.spec.description}" + (f" — {'; '.join(seen)}" if seen else "")

    def details(self) -> str:
        return json.dumps(
            {
                "description": self.spec.description,
                "kwargs": dict(self.spec.kwargs),
                "sample": list(self.sample),
                "error": self.error,
            },
            default=str,
        )


def outcomes_of(validations: Iterable[GroupValidation]) -> list[ExpectationOutcome]:
    """Every expectation of every suite exactly once; one GX never reported on counts as not evaluated."""
    outcomes: list[ExpectationOutcome] = []
    for validation in validations:
        suite = validation.group.suite
        specs = validation.group.specs
        by_name: dict[str, Any] = {}
        if validation.result is not None:
            for result in validation.result.results:
                by_name[str(result.expectation_config.meta.get("name"))] = result
        for spec in specs:
            result = by_name.get(spec.name)
            if result is None:
                error = validation.error or "no result from Great Expectations"
                outcomes.append(ExpectationOutcome(suite.name, spec, success=False, error=error))
            else:
                outcomes.append(_outcome(suite.name, spec, result))
    return outcomes


def _outcome(suite: str, spec: ExpectationSpec, result: Any) -> ExpectationOutcome:
    error = exception_message(result.exception_info)
    details: Mapping[str, Any] = result.result or {}
    observed = details.get("observed_value")
    unexpected_count = details.get("unexpected_count")
    if observed is None and unexpected_count is not None:
        observed = f"{unexpected_count} of {details.get('element_count')} unexpected"
    sample = details.get("partial_unexpected_list") or (details.get("details") or {}).get("unexpected_rows") or []
    # DuckDB returns the rows in no fixed order (parallel scans): sorted, the same failure reads the same
    sample = sorted(sample, key=lambda row: json.dumps(row, sort_keys=True, default=str))
    return ExpectationOutcome(
        suite=suite,
        spec=spec,
        success=bool(result.success) and error is None,
        error=error,
        observed_value=None if observed is None else str(observed),
        unexpected_count=unexpected_count if unexpected_count is not None else _row_count(spec, observed),
        unexpected_percent=details.get("unexpected_percent"),
        sample=tuple(sample[:SAMPLE_SIZE]),
    )


def _row_count(spec: ExpectationSpec, observed: Any) -> int | None:
    # UnexpectedRowsExpectation observes the number of offending rows.
    return observed if spec.type == "unexpected_rows" and isinstance(observed, int) else None


def exception_message(exception_info: Any) -> str | None:
    """GX hides metric errors in exception_info, either flat or keyed by metric: find any of them."""
    if not exception_info:
        return None
    if isinstance(exception_info, Mapping) and "raised_exception" in exception_info:
        if exception_info.get("raised_exception") or exception_info.get("exception_message"):
            return " ".join(str(exception_info.get("exception_message") or "error").split())[:300]
        return None
    if isinstance(exception_info, Mapping):
        for value in exception_info.values():
            message = exception_message(value if isinstance(value, Mapping) else _as_mapping(value))
            if message:
                return message
    return None


def _as_mapping(value: Any) -> Mapping[str, Any]:
    if hasattr(value, "to_json_dict"):
        return value.to_json_dict()
    return {"raised_exception": True, "exception_message": str(value)}


def store_gate_result(database: Path, result: GateResult) -> None:
    """Keep the night's results in the warehouse (quality.validation_results)."""
    try:
        run_at = result.run_at or datetime.now(UTC).replace(tzinfo=None)
        store_outcomes(database, result.as_of, run_at, result.outcomes)
    except Exception as error:
        # DuckDB's own message (a full disk, a read-only folder) says why; the line also says what to do
        raise CpsError(
            f"quality gate: cannot store validation results in {database}: {first_line(error)}; check that "
            f"{database.parent} is writable and has space, then run again"
        ) from error


def store_outcomes(database: Path, as_of: date, run_at: datetime, outcomes: Iterable[ExpectationOutcome]) -> None:
    """Append tonight's results; a re-run of the same night replaces that night's rows."""
    rows = [
        (
            as_of,
            run_at,
            outcome.suite,
            outcome.spec.name,
            outcome.spec.type,
            outcome.spec.target,
            str(outcome.spec.severity),
            outcome.success and outcome.evaluated,
            outcome.evaluated,
            outcome.observed_value,
            outcome.unexpected_count,
            outcome.unexpected_percent,
            outcome.details(),
        )
        for outcome in outcomes
    ]
    definition = ", ".join(f"{name} {sql_type}" for name, sql_type in RESULTS_COLUMNS.items())
    connection = connect(database)
    try:
        connection.execute("create schema if not exists quality")
        connection.execute(f"create table if not exists {RESULTS_TABLE} ({definition})")
        connection.execute("begin transaction")
        connection.execute(f"delete from {RESULTS_TABLE} where as_of_date = ?", [as_of])
        if rows:
            placeholders = ", ".join("?" for _ in RESULTS_COLUMNS)
            connection.executemany(f"insert into {RESULTS_TABLE} values ({placeholders})", rows)
        connection.execute("commit")
    finally:
        connection.close()


def is_critical(outcome: ExpectationOutcome) -> bool:
    return outcome.spec.severity is Severity.CRITICAL


@dataclass
class GateResult:
    as_of: date
    outcomes: list[ExpectationOutcome]
    data_docs_index: Path | None = None
    critical_failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    run_at: datetime | None = None  # when the validation began (UTC); stored with the results

    @classmethod
    def from_outcomes(
        cls, as_of: date, outcomes: list[ExpectationOutcome], index: Path | None, run_at: datetime
    ) -> GateResult:
        # An expectation that could not be evaluated fails the gate whatever its severity: no result is
        # not a passed check.
        critical = [o.reason() for o in outcomes if o.failed and (is_critical(o) or not o.evaluated)]
        warnings = [o.reason() for o in outcomes if o.failed and not is_critical(o) and o.evaluated]
        return cls(as_of, outcomes, index, critical, warnings, run_at)

    @property
    def passed(self) -> bool:
        return not self.critical_failures

    def render(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        lines = [
            f"quality gate {verdict} for {self.as_of}: {len(self.outcomes)} expectations, "
            f"{len(self.critical_failures)} critical failures, {len(self.warnings)} warnings"
        ]
        lines += [f"  critical: {reason}" for reason in self.critical_failures]
        lines += [f"  warning: {reason}" for reason in self.warnings]
        if self.data_docs_index is not None:
            lines.append(f"  data docs: {self.data_docs_index}")
        return "\n".join(lines)
