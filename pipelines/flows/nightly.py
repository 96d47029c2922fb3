"""The nightly run: one Prefect flow of named steps, published only when every step passed.

No postponed annotations here: Prefect builds the flow's parameter model from them, also when a
served deployment loads this file by path.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, get_run_logger, task

from pipelines.core.errors import CpsError, QualityGateFailed
from pipelines.core.runlog import PROGRESS, show_progress, start_run_log
from pipelines.core.settings import Settings, check_inputs
from pipelines.flows.artifacts import attach_summary_artifacts
from pipelines.publishing.publish import prepare_build_copy, publish_build, warehouse_lock
from pipelines.publishing.summary import NightSummary, read_published_figures
from pipelines.transformation.dbt_docs import build_static_docs
from pipelines.transformation.dbt_runner import DbtInvocation, run_dbt
from pipelines.transformation.dbt_tasks import run_dbt_as_prefect_tasks

T = TypeVar("T")


@dataclass
class StepTimer:
    """Wall time of each named step, for the run summary; each step is announced as it starts."""

    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, step: Callable[[], T]) -> T:
        PROGRESS.info("%s ...", name)
        started = time.perf_counter()
        try:
            return step()
        finally:
            self.seconds[name] = time.perf_counter() - started
            PROGRESS.info("%s done in %.1fs", name, self.seconds[name])


@task(name="prepare build copy", retries=2, retry_delay_seconds=2)
def prepare_step(warehouse: Path, build_dir: Path) -> Path:
    return prepare_build_copy(warehouse, build_dir)


@task(name="publish", retries=2, retry_delay_seconds=2)
def publish_step(build_path: Path, warehouse: Path) -> None:
    publish_build(build_path, warehouse)


@task(name="quality gate")
def quality_step(database: Path, as_of: date, data_docs_dir: Path) -> Any:
    from pipelines.quality.gate import run_quality_gate

    return run_quality_gate(database, as_of, data_docs_dir)


@task(name="reports", retries=1, retry_delay_seconds=2)
def reports_step(warehouse: Path, as_of: date, reports_dir: Path) -> Path:
    from reports.render import render_reports

    return render_reports(warehouse, as_of, reports_dir)


def dbt_build_step(database: Path, as_of: date, artifacts_dir: Path, node_tasks: bool) -> None:
    """dbt build; with node_tasks, each model and test is its own Prefect task under this flow run.

    Unit tests check the SQL's logic, not the night's data: they run in the test suite, not here.
    """
    invocation = DbtInvocation(database=database, as_of=as_of, artifacts_dir=artifacts_dir)
    command = ("build", "--exclude", "test_type:unit")
    if node_tasks:
        run_dbt_as_prefect_tasks(invocation, command)
    else:
        run_dbt(invocation, (*command, "--quiet"))


def docs_step(build_path: Path, night: date, artifacts_dir: Path, night_reports: Path) -> None:
    """The night's dbt docs (one static page), from the build copy and the manifest dbt build just wrote.

    Documentation only: if it cannot be built, the night is still published, with a warning.
    """
    try:
        build_static_docs(build_path, night, artifacts_dir, night_reports / "docs", compile_=False)
    except CpsError as error:
        PROGRESS.warning("dbt docs not built: %s", error)


@flow(name="cps-nightly", log_prints=True)
def nightly_flow(settings: Settings | None = None, as_of: date | None = None) -> NightSummary:
    """Ingest, dbt build, quality gate, publish, reports — for one run date.

    `settings` is the typed Settings object itself (Prefect validates it as a pydantic model); without
    it, the CPS_* variables and defaults. `as_of` picks another night than the settings' one (a run
    triggered by hand on a deployment, whose stored settings leave the date to the day of the run).
    """
    from pipelines.ingestion.ingest import ingest_all

    settings = (settings or Settings()).resolved()
    if as_of is not None:
        settings = settings.with_overrides(as_of=as_of)
    logger = get_run_logger()
    show_progress()
    start_run_log("nightly", settings.logs.resolve())  # served runs; `cps nightly` opened it already
    check_inputs(settings)
    night = settings.as_of
    night_reports = settings.reports / night.isoformat()
    timer = StepTimer()

    with warehouse_lock(settings.lock_file, settings.lock_wait_seconds):
        build_path = timer.run("prepare", lambda: prepare_step(settings.warehouse, settings.build_dir))
        ingest_summary = timer.run(
            "ingest",
            lambda: ingest_all(
                inbox=settings.inbox,
                catalog=settings.catalog,
                database=build_path,
                as_of=night,
                accept_rejected=settings.accept_rejected,
            ),
        )
        logger.info("ingested: %s", ingest_summary.render())
        timer.run(
            "dbt build",
            lambda: dbt_build_step(build_path, night, settings.dbt_artifacts_dir, settings.dbt_node_tasks),
        )
        gate = timer.run("quality gate", lambda: quality_step(build_path, night, night_reports / "quality"))
        if not gate.passed:
            raise QualityGateFailed(
                f"quality gate failed for {night}: {'; '.join(gate.critical_failures[:3])}"
                + (f" (+{len(gate.critical_failures) - 3} more)" if len(gate.critical_failures) > 3 else "")
                + "; the previous night stays published"
            )
        timer.run("dbt docs", lambda: docs_step(build_path, night, settings.dbt_artifacts_dir, night_reports))
        timer.run("publish", lambda: publish_step(build_path, settings.warehouse))

    report_dir = timer.run("reports", lambda: reports_step(settings.warehouse, night, settings.reports))
    summary = NightSummary(
        as_of=night,
        warehouse=settings.warehouse,
        reports_dir=report_dir,
        ingest=ingest_summary,
        gate=gate,
        step_seconds=timer.seconds,
        figures=read_published_figures(settings.warehouse, night),
    )
    logger.info(summary.render())
    attach_summary_artifacts(summary)
    return summary


def run_nightly(settings: Settings) -> NightSummary:
    """Run the nightly flow for the settings' paths and date (the `cps nightly` command)."""
    show_progress()
    start_run_log("nightly", settings.logs.resolve())
    check_inputs(settings)
    return nightly_flow(settings=settings.resolved())
