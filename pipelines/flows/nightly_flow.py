"""The nightly run as a Prefect flow: what a Prefect server runs (`cps serve`) and shows in its UI.

No postponed annotations here: Prefect builds the flow's parameter model from them, also when a
served deployment loads this file by path.
"""

from datetime import date

from prefect import flow

from pipelines.core.nights import check_usage
from pipelines.core.runlog import show_progress, start_run_log
from pipelines.core.settings import Settings
from pipelines.flows.nightly import run_night_steps
from pipelines.flows.quiet_exit import leave_quietly_if_served
from pipelines.publishing.summary import NightSummary


@flow(name="cps-nightly", log_prints=True)
def nightly_flow(settings: Settings | None = None, as_of: date | None = None) -> NightSummary:
    """Ingest, dbt build, quality gate, reports, publish — for one run date.

    `settings` is the typed Settings object itself (Prefect validates it as a pydantic model); without
    it, the CPS_* variables and defaults. `as_of` picks another night than the settings' one (a run
    triggered by hand on a deployment, whose stored settings leave the date to the day of the run).
    """
    settings = (settings or Settings()).resolved()
    if as_of is not None:
        settings = settings.with_overrides(as_of=as_of)
    show_progress(settings.progress)
    start_run_log("nightly", settings.logs)  # served runs; `cps nightly` opened it already
    check_usage(settings, settings.allow_future)
    try:
        summary = run_night_steps(settings)
    except BaseException:
        leave_quietly_if_served(succeeded=False)
        raise
    leave_quietly_if_served(succeeded=True)
    return summary
