"""The nightly run: named steps, published only when every step passed.

With a Prefect server to report to, the night is a Prefect flow run (pipelines/flows/nightly_flow.py)
and its steps are tasks of it; without one, `run_nightly` calls the same steps directly and Prefect
is not started (see pipelines.core.orchestration).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pipelines.core.build_plan import BuildPlan, plan_build
from pipelines.core.errors import CpsError, QualityGateFailed, file_system_problem, naming_path
from pipelines.core.nights import NightKind, archive_path, check_usage, classify, current_night
from pipelines.core.orchestration import in_prefect_run, run_logger, step
from pipelines.core.policy import night_policy
from pipelines.core.runlog import DETAIL, PROGRESS, show_progress, start_run_log
from pipelines.core.settings import Settings
from pipelines.core.warehouse import apply_memory_limit
from pipelines.flows.artifacts import attach_summary_artifacts
from pipelines.flows.prefect_api import check_prefect_usage, prefect_api_configured, temporary_api_in_use
from pipelines.publishing.journal import PlannedSwap, PublishJournal, journal_path, recover_publishing
from pipelines.publishing.nights import (
    FilesKept,
    Swap,
    add_backfilled_ledger_rows,
    apply_retention,
    publish_archive,
    publish_reports,
    record_night,
    staging_reports_root,
    write_archive,
)
from pipelines.publishing.publish import (
    build_copy_path,
    prepare_build_copy,
    publish_build,
    seal_build,
    warehouse_lock,
)
from pipelines.publishing.summary import NightSummary, read_published_figures
from pipelines.quality.results import GateResult, store_gate_result
from pipelines.quality.worker import PendingGate, start_gate, stop_gate_worker
from pipelines.transformation.dbt_docs import build_static_docs
from pipelines.transformation.dbt_runner import (
    DbtInvocation,
    apply_dbt_threads,
    compiled_manifest,
    parse_in_background,
    run_dbt,
)

if TYPE_CHECKING:
    from pipelines.publishing.consent import WithdrawnConsent
    from reports.render import RenderedNight

T = TypeVar("T")


@dataclass
class StepTimer:
    """Wall time of each named step, for the run summary; each step is announced as it starts. A step
    run in parts (the reports: pages beside the gate, the index after it) adds up its parts' times."""

    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, step: Callable[[], T], part: str = "") -> T:
        detail = f" ({part})" if part else ""
        PROGRESS.info("%s ...%s", name, detail)
        started = time.perf_counter()
        outcome = "stopped after"  # a step that raised (or was interrupted) is not "done"
        try:
            result = step()
            outcome = "done in"
            return result
        finally:
            took = time.perf_counter() - started
            self.seconds[name] = self.seconds.get(name, 0.0) + took
            PROGRESS.info("%s %s %.1fs%s", name, outcome, took, detail)


@step(name="prepare build copy", retries=2, retry_delay_seconds=2)
def prepare_step(warehouse: Path, build_dir: Path) -> Path:
    return prepare_build_copy(warehouse, build_dir)


@step(name="publish", retries=2, retry_delay_seconds=2)
def publish_step(build_path: Path, warehouse: Path) -> None:
    publish_build(build_path, warehouse)


def recover_stopped_publishing(settings: Settings) -> str:
    """A run killed while it published (its reports in place, its warehouse not) is undone first, or
    finished if its warehouse was renamed (pipelines/publishing/journal.py); what was done, or ""."""
    outcome = recover_publishing(settings.warehouse, lambda: render_landing(settings.reports)) or ""
    if outcome:
        PROGRESS.warning("%s", outcome)  # the run log, the console; and the night's summary
    return outcome


@step(name="quality gate")
def quality_step(database: Path, pending: PendingGate) -> GateResult:
    """The gate's result once its validation is done (it began beside the reports), stored in the warehouse."""
    result = pending.wait()
    store_gate_result(database, result)
    return result


def landing_pages(reports: Path) -> tuple[Path, ...]:
    from reports.landing import LATEST_PAGE

    return reports / "index.html", reports / LATEST_PAGE


def render_landing(reports: Path) -> Path:
    """The landing page of every published night (reports are rendered aside, then moved in)."""
    from reports.render import render_landing as write_landing

    with naming_path(reports):
        return write_landing(reports)


def put_back(swaps: list[Swap], landing: FilesKept) -> None:
    """Undo the swaps of a night that failed to publish and write the landing pages back as they were;
    each part is tried even if another fails (the failure being raised says what went wrong)."""
    for swap in reversed(swaps):
        try:
            swap.undo()
        except OSError as error:
            run_logger().error("could not put back %s: %s", swap.target, error)
    try:
        landing.put_back()
    except OSError as error:
        run_logger().error("could not put the landing pages back: %s", error)


@step(name="reports")
def reports_step(database: Path, as_of: date, staging_root: Path, consent_database: Path | None) -> RenderedNight:
    """The night's pages, lists and chart data (read-only: the gate validates the same file meanwhile)."""
    from reports.render import render_pages

    with naming_path(staging_root):
        return render_pages(database, as_of, staging_root, consent_database)


def consent_step(
    build: Path,
    night: date,
    rendered: RenderedNight,
    reports: Path,
    staging_root: Path,
    reference: date,
    retention: int,
) -> WithdrawnConsent:
    """Tonight's exported keys recorded in the build, and the earlier lists holding someone whose consent
    is gone tonight written again (staged; put in place as the night publishes)."""
    from pipelines.publishing.consent import plan_consent_purge, stage_purged_lists

    purges = plan_consent_purge(build, night, rendered.lists, reference, retention)
    with naming_path(staging_root):
        return stage_purged_lists(build, reports, purges, staging_root / "withdrawn-consent")


@step(name="reports index")
def reports_index_step(database: Path, rendered: RenderedNight) -> Path:
    """The night's index page, with the gate's results: after the gate."""
    from reports.render import render_index

    with naming_path(rendered.night_dir):
        return render_index(database, rendered)


def build_invocation(
    database: Path,
    as_of: date,
    artifacts_dir: Path,
    policy_overrides: dict[str, Any] | None,
    current: date | None = None,
    plan: BuildPlan | None = None,
) -> DbtInvocation:
    """The night's dbt build: also what its parse ahead is made with (the same arguments, or dbt
    would not reuse the parse). Without a plan, a full rebuild."""
    plan = plan or BuildPlan(incremental_since=None, reason="no plan given")
    return DbtInvocation(
        database=database,
        as_of=as_of,
        artifacts_dir=artifacts_dir,
        current_night=current,
        full_refresh=not plan.incremental,
        incremental_since=plan.incremental_since,
        files_after=plan.files_after,
        policy_overrides=dict(policy_overrides or {}),
    )


def dbt_build_step(
    database: Path,
    as_of: date,
    artifacts_dir: Path,
    node_tasks: bool,
    current: date | None = None,
    plan: BuildPlan | None = None,
    policy_overrides: dict[str, Any] | None = None,
    data_tests: bool = True,
) -> None:
    """dbt build; with node_tasks, each model and test is its own Prefect task under this flow run.

    Unit tests check the SQL's logic, not the night's data: they run in the test suite, not here.
    data_tests=False builds the models only (a reference build that is compared, never published).
    current: the night the published warehouse shows, so that the ledgers know a backfill from a re-run.
    policy_overrides: policy values other than dbt_project.yml's, for this night (none on an ordinary night).
    plan: incremental since the current night, or a full rebuild (dbt --full-refresh; the ledgers
    are never rebuilt: they are configured full_refresh=false). None: a full rebuild.
    """
    invocation = build_invocation(database, as_of, artifacts_dir, policy_overrides, current, plan)
    excluded = ("test_type:unit",) if data_tests else ("resource_type:test", "resource_type:unit_test")
    if plan is not None and plan.incremental:
        # The seeds are part of the project's hash: on an incremental night they are the tables stored
        # already, and loading them again (a node, a table written) would change nothing.
        excluded = (*excluded, "resource_type:seed")
    command = ("build", "--exclude", *excluded)
    if node_tasks:
        from pipelines.transformation.dbt_tasks import run_dbt_as_prefect_tasks

        run_dbt_as_prefect_tasks(invocation, command)
    else:
        run_dbt(invocation, (*command, "--quiet"))


def dbt_node_tasks(settings: Settings) -> bool:
    """Each dbt node as a Prefect task: for a server's UI, so only inside a flow run. A run's own
    temporary API has no one watching, and its ~200 task runs (models and data tests) would cost more
    than the models do."""
    if not in_prefect_run():
        return False
    if settings.dbt_node_tasks is not None:
        return settings.dbt_node_tasks
    return not temporary_api_in_use()


def docs_step(
    database: Path, night: date, artifacts_dir: Path, night_reports: Path, manifest: Any | None = None
) -> None:
    """The night's dbt docs (one static page), from its database and the manifest dbt build just wrote.
    manifest: the build's, as dbt holds it: dbt then reads the database read-only (beside the gate).

    Documentation only: if it cannot be built, the night is still published, with a warning.
    """
    try:
        with naming_path(night_reports):
            build_static_docs(database, night, artifacts_dir, night_reports / "docs", compile_=False, manifest=manifest)
    except CpsError as error:
        PROGRESS.warning("dbt docs not built: %s", error)


def run_night(settings: Settings) -> NightSummary:
    """The night's steps under the warehouse lock; nothing is published unless every step passed.

    A new night or a re-run is built in a copy of the warehouse. A backfill is built in a second copy
    (after the new inbox files were loaded into the first), whose marts become the night's archive
    file; the first copy, the current night, only gains the backfilled night's ledger rows.
    Reports are rendered into a staging folder and published together with the warehouse.
    """
    night = settings.as_of
    timer = StepTimer()
    apply_memory_limit(settings.duckdb_memory_limit)  # every DuckDB database of the night, dbt's included
    apply_dbt_threads(settings.dbt_threads)

    with warehouse_lock(settings.lock_file, settings.lock_wait_seconds):
        recovered = recover_stopped_publishing(settings)
        current = current_night(settings.warehouse)
        kind = classify(night, current)
        PROGRESS.info("night %s: %s (current night: %s)", night, kind.value, current or "none yet")
        staging_root = staging_reports_root(settings.reports)
        if staging_root.exists():
            shutil.rmtree(staging_root)
        staging_root.mkdir(parents=True)  # a read-only reports folder fails here, before any work
        try:
            return build_and_publish(settings, night, current, kind, staging_root, timer, recovered)
        except QualityGateFailed as error:
            # what failed is in the night as built: the next run discards it, until then it can be read
            raise QualityGateFailed(
                f"{error}; the night as built is in {settings.build_dir} until the next run"
            ) from error
        finally:
            stop_gate_worker()  # a night that stopped before its gate
            shutil.rmtree(staging_root, ignore_errors=True)


def ingest_and_plan(
    settings: Settings,
    night: date,
    current: date | None,
    kind: NightKind,
    build_path: Path,
    timer: StepTimer | None = None,
) -> tuple[Any, BuildPlan]:
    """Tonight's inbox into the build copy, then the plan: incremental since the current night, or a
    full rebuild and why. The night's policy (overrides included) sets the share of quarantined rows
    a file may have. Returns the IngestSummary and the BuildPlan."""
    from pipelines.ingestion.ingest import ingest_all

    values = night_policy(settings.policy_overrides)

    def ingest() -> Any:
        return ingest_all(
            inbox=settings.inbox,
            catalog=settings.catalog,
            database=build_path,
            as_of=night,
            accept_rejected=settings.accept_rejected,
            max_quarantined_share=float(values["max_quarantined_share"]),
        )

    ingest_summary = timer.run("ingest", ingest) if timer else ingest()
    plan = plan_build(
        build_path, night, current, kind, settings.full_refresh, settings.catalog, settings.policy_overrides
    )
    return ingest_summary, plan


def build_and_publish(
    settings: Settings,
    night: date,
    current: date | None,
    kind: NightKind,
    staging_root: Path,
    timer: StepTimer,
    recovered: str = "",
) -> NightSummary:
    logger = run_logger()
    values = night_policy(settings.policy_overrides)  # what dbt gets as vars, for the Python steps too
    night_path = build_copy_path(settings.warehouse, settings.build_dir)
    if kind is NightKind.BACKFILL:
        night_path = settings.build_dir / "backfill" / night_path.name  # same name: same DuckDB catalog
    # dbt's parse reads only the project (the profile names the night's file; nothing opens it): it
    # begins before the copy, and has the copy and the ingestion to finish in
    parsed_for = build_invocation(night_path, night, settings.dbt_artifacts_dir, settings.policy_overrides)
    parse_in_background(parsed_for)
    build_path = timer.run("prepare", lambda: prepare_step(settings.warehouse, settings.build_dir))
    ingest_summary, plan = ingest_and_plan(settings, night, current, kind, build_path, timer)
    logger.info("ingested: %s", ingest_summary.render())
    PROGRESS.info("night %s: %s", night, plan.describe())
    logger.info("night %s: %s", night, plan.describe())
    if kind is NightKind.BACKFILL:
        night_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(build_path, night_path)
    timer.run(
        "dbt build",
        lambda: dbt_build_step(
            night_path,
            night,
            settings.dbt_artifacts_dir,
            dbt_node_tasks(settings),
            current,
            plan,
            settings.policy_overrides,
        ),
    )
    # The gate validates in its worker (read-only) while this process renders the reports' pages and lists
    # from the same file; the index, which shows the gate's results, comes after it. A failed gate
    # publishes nothing: the staged reports are discarded with the staging folder.
    pending = start_gate(night_path, night, staging_root / night.isoformat() / "quality", values)
    consent_database = build_path if kind is NightKind.BACKFILL else None
    if kind is NightKind.BACKFILL:
        # into the current warehouse's copy (published only if the gate passes), before the night's lists
        # are exported from those ledgers
        gained = add_backfilled_ledger_rows(build_path, night_path, night)
        logger.info("backfill %s: the current night's ledgers gained %s", night, gained)
    rendered = timer.run(
        "reports", lambda: reports_step(night_path, night, staging_root, consent_database), part="pages and lists"
    )
    # dbt docs only read the database: with the manifest the build compiled at hand, dbt reads it
    # read-only, beside the gate; without it (dbt run as Prefect tasks), dbt would open the file for
    # writing, which must wait until the gate has let go of it.
    night_reports = staging_root / night.isoformat()
    built = compiled_manifest(parsed_for)
    if built is not None:
        timer.run("dbt docs", lambda: docs_step(night_path, night, settings.dbt_artifacts_dir, night_reports, built))
    gate = timer.run("quality gate", lambda: quality_step(night_path, pending))
    if not gate.passed:
        raise QualityGateFailed(
            f"quality gate failed for {night}: {'; '.join(gate.critical_failures[:3])}"
            + (f" (+{len(gate.critical_failures) - 3} more)" if len(gate.critical_failures) > 3 else "")
            + "; nothing was published, the previous night stays"
        )
    if built is None:
        timer.run("dbt docs", lambda: docs_step(night_path, night, settings.dbt_artifacts_dir, night_reports))
    staged_archive: Path | None = None
    if kind is NightKind.BACKFILL:
        staged_archive = write_archive(night_path, settings.build_dir / "archive" / f"{night.isoformat()}.duckdb")
    record_night(build_path, night, kind, settings.catalog, plan.project_digest, settings.policy_overrides)
    reference = max(night, current) if current else night
    retention_days = int(values["retention_days"])
    withdrawn = timer.run(
        "consent",
        lambda: consent_step(build_path, night, rendered, settings.reports, staging_root, reference, retention_days),
    )
    # the gate's Data Docs, built by its worker meanwhile: the index links them
    timer.run("quality gate", pending.wait_for_data_docs, part="Data Docs")
    staged_reports = timer.run("reports", lambda: reports_index_step(night_path, rendered), part="index")

    def publish() -> Path:
        seal_build(build_path)  # first: then only the warehouse's rename is left after the reports' swap
        with naming_path(settings.reports):
            # earlier lists without tonight's withdrawn consents first: a run stopped after this has only
            # removed rows whose consent its inputs withdrew
            for purged in withdrawn.staged:
                for staged, target in purged.files:
                    os.replace(staged, target)
        # The reports and the archive go in place first, each keeping what it replaced aside, and the
        # warehouse last, in one rename: a failure before that rename puts everything back, so that a
        # night that exits non-zero has published nothing.
        swaps: list[Swap] = []
        landing = FilesKept.of(*landing_pages(settings.reports))
        published = settings.warehouse
        night_folder = settings.reports / night.isoformat()
        # written down first: a run killed before the rename is taken back by the next one
        planned = [PlannedSwap.of(staged_reports, night_folder)]
        if staged_archive is not None:
            planned.append(PlannedSwap.of(staged_archive, archive_path(settings.warehouse, night)))
        journal = PublishJournal(journal_path(settings.warehouse), build_path, tuple(planned))
        journal.write()
        try:
            with naming_path(settings.reports):
                swaps.append(publish_reports(staged_reports, night_folder))
                render_landing(settings.reports)
            if staged_archive is not None:
                swaps.append(publish_archive(staged_archive, settings.warehouse, night))
                published = swaps[-1].target
            publish_step(build_path, settings.warehouse)
        except BaseException:
            put_back(swaps, landing)
            journal.remove()
            raise
        for swap in swaps:  # published: what the swaps replaced goes
            with contextlib.suppress(OSError):
                swap.finish()
        journal.remove()
        shutil.rmtree(staging_root, ignore_errors=True)
        return published

    published = timer.run("publish", publish)
    if withdrawn.lists:
        logger.info("consent withdrawn: %d row(s) removed from %d earlier list(s)", withdrawn.rows, withdrawn.lists)
    retention = apply_retention(settings.warehouse, settings.reports, reference, retention_days)
    if retention.archives or retention.exports:
        logger.info(
            "retention: deleted %d archived night(s) and %d exported list(s)",
            len(retention.archives),
            len(retention.exports),
        )
    after_publish_warnings = tuple(f"retention could not delete {failure}" for failure in retention.failures)
    for warning in after_publish_warnings:
        PROGRESS.warning("%s", warning)

    summary = NightSummary(
        as_of=night,
        warehouse=published,
        reports_dir=settings.reports / night.isoformat(),
        ingest=ingest_summary,
        gate=gate,
        step_seconds=timer.seconds,
        figures=read_published_figures(published, night),
        kind=kind.value,
        build=plan.describe(),
        current_night=max(night, current) if current else night,
        consent_withdrawn=(withdrawn.rows, withdrawn.lists),
        after_publish_warnings=after_publish_warnings,
        recovered_publishing=recovered,
    )
    logger.info(summary.render())
    if in_prefect_run():
        attach_summary_artifacts(summary)
    return summary


def run_nightly(settings: Settings, prefect: bool | None = None) -> NightSummary:
    """The night for the settings' paths and date (the `cps nightly` command): a Prefect flow run when a
    Prefect server is configured (PREFECT_API_URL, or the run's temporary one), else the steps directly.
    `prefect` decides it instead (tests of what a night computes run it directly)."""
    show_progress(settings.progress)
    start_run_log("nightly", settings.logs.resolve())
    check_usage(settings, settings.allow_future)
    check_prefect_usage(settings.dbt_node_tasks, settings.prefect_temporary_server)
    if prefect_api_configured() if prefect is None else prefect:
        from pipelines.flows.nightly_flow import nightly_flow

        api_url = os.environ.get("PREFECT_API_URL", "unset")
        DETAIL.info("the night reports to Prefect (PREFECT_API_URL %s)", api_url)
        try:
            return nightly_flow(settings=settings.resolved())  # type: ignore[no-any-return]
        except RuntimeError as error:
            if "Failed to reach API" not in str(error):
                raise
            raise CpsError(
                f"cannot reach the Prefect server at PREFECT_API_URL={api_url}: start it (or `prefect server "
                "start`), or unset PREFECT_API_URL to run the night without Prefect; nothing was published"
            ) from error
    DETAIL.info("no Prefect server configured: the night runs its steps directly, without Prefect")
    return run_night_steps(settings.resolved())


def run_night_steps(settings: Settings) -> NightSummary:
    """The night itself, for resolved settings: the flow run's body, and the whole night without Prefect."""
    try:
        return run_night(settings)
    except OSError as error:
        raise CpsError(file_system_problem(error)) from None
