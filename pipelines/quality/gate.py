"""The night's quality gate: validate the expectation suites on the warehouse, store results, build Data Docs.

Critical expectations that fail (or cannot be evaluated) fail the gate: the nightly flow then does not
publish. Warnings are stored and reported. Failed expectations never raise; only real errors (suites
unreadable, warehouse missing, results not writable) raise CpsError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipelines.core.errors import CpsError
from pipelines.core.settings import EXPECTATIONS_DIR
from pipelines.quality.docs import DATA_DOCS_INDEX, build_data_docs
from pipelines.quality.gx import duckdb_datasource, new_context, validate_suites
from pipelines.quality.results import GateResult, outcomes_of, store_gate_result
from pipelines.quality.suites import load_suites

DATASOURCE_NAME = "cps_warehouse"


def run_quality_gate(
    database: Path,
    as_of: date,
    data_docs_dir: Path,
    expectations_dir: Path = EXPECTATIONS_DIR,
    policy_values: Mapping[str, Any] | None = None,
    store: bool = True,
    on_validated: Callable[[GateResult], None] | None = None,
) -> GateResult:
    """Validate every suite on `database` for night `as_of`, build Data Docs, and store the results.

    The validation opens the warehouse read-only, so that the nightly run can render its reports from
    the same file meanwhile; with store=False (the night's worker) nothing is written into it, and the
    caller stores the results afterwards (store_gate_result). on_validated: given the result as soon as
    the suites are validated, before the Data Docs are built (the night's worker sends it on then).
    policy_values: the night's policy, overrides included (the project's vars if None)."""
    database, data_docs_dir = database.resolve(), data_docs_dir.resolve()  # GX's site store wants absolute paths
    if not database.is_file():
        raise CpsError(f"quality gate: warehouse not found: {database}")
    suites = load_suites(as_of, expectations_dir, policy_values)
    run_at = datetime.now(UTC).replace(tzinfo=None)
    context = new_context()
    try:
        with duckdb_datasource(context, DATASOURCE_NAME, database) as datasource:
            validations = validate_suites(context, datasource, suites)
    except CpsError:
        raise
    except Exception as error:
        raise CpsError(f"quality gate: Great Expectations could not run on {database}: {error}") from error
    outcomes = outcomes_of(validations)
    result = GateResult.from_outcomes(as_of, outcomes, data_docs_dir / DATA_DOCS_INDEX, run_at)
    if on_validated is not None:
        on_validated(result)
    try:
        build_data_docs(context, data_docs_dir, as_of, run_at, outcomes)
    except OSError as error:
        raise CpsError(f"quality gate: cannot write Data Docs to {data_docs_dir}: {error}") from error
    if store:
        store_gate_result(database, result)
    return result
