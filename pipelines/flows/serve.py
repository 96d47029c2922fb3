"""`cps serve`: the nightly deployment on a Prefect server, on a cron schedule."""

from __future__ import annotations

from typing import Any

from pipelines.core.errors import CpsError
from pipelines.core.settings import Settings

DEPLOYMENT_NAME = "nightly"


def deployment_parameters(settings: Settings) -> dict[str, Any]:
    """The flow's Settings with absolute paths, so scheduled runs do not depend on the server's folder.

    as_of is left out: each scheduled run's Settings computes the night of the day it starts (UTC).
    """
    return {"settings": settings.resolved().model_dump(mode="json", exclude={"as_of"})}


def serve_nightly(settings: Settings, limit: int | None = 1) -> None:
    """Register the deployment and run its scheduled (or manually triggered) flow runs until stopped."""
    from prefect.schedules import Cron
    from prefect.settings import PREFECT_API_URL

    from pipelines.flows.nightly_flow import nightly_flow

    if not PREFECT_API_URL.value():
        raise CpsError(
            "no Prefect server configured: start one with `uv run prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    nightly_flow.serve(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(settings.schedule_cron, timezone=settings.schedule_timezone)],
        parameters=deployment_parameters(settings),
        description="CPS nightly run: ingest, dbt build, quality gate, publish, reports.",
        tags=["cps", "nightly"],
        limit=limit,
    )
