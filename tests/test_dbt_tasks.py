"""Each dbt node as its own Prefect task: real dbt on DuckDB inside a real flow run."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from prefect import flow

from pipelines.core.errors import CpsError
from pipelines.transformation.dbt_runner import DbtInvocation
from pipelines.transformation.dbt_tasks import run_dbt_as_prefect_tasks
from tests.dbt_fixtures import create_raw_schema

NIGHT = date(2026, 11, 23)
# cautious: only the tests of these two models, not relationship tests that also need a mart.
SELECTION = (
    "build", "--select", "stg_members", "stg_service_centres", "--exclude", "test_type:unit",
    "--indirect-selection", "cautious",
)  # fmt: skip


@flow
def build_in_flow(database: str, artifacts: str) -> UUID:
    from prefect.runtime import flow_run

    invocation = DbtInvocation(database=Path(database), as_of=NIGHT, artifacts_dir=Path(artifacts))
    try:
        run_dbt_as_prefect_tasks(invocation, SELECTION)
    except CpsError as error:
        raise CpsError(f"{flow_run.id}|{error}") from error
    return UUID(flow_run.id)


def task_run_states(flow_run_id: UUID) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200
        )
    return {task_run.name: task_run.state_type.value for task_run in task_runs}


def test_every_model_and_test_is_a_completed_task(prefect_harness: None, tmp_path: Path) -> None:
    database = tmp_path / "cps.duckdb"
    create_raw_schema(database)

    flow_run_id = build_in_flow(str(database), str(tmp_path / "dbt"))

    # Prefect records a task's final state from its events, a moment after the flow returns: on a loaded
    # machine the last ones may still read RUNNING, so read again until none does (or 60 s have passed).
    deadline = time.monotonic() + 60
    states = task_run_states(flow_run_id)
    while "RUNNING" in states.values() and time.monotonic() < deadline:
        time.sleep(1)
        states = task_run_states(flow_run_id)
    assert states["stg_members"] == "COMPLETED"
    assert states["stg_service_centres"] == "COMPLETED"
    assert "checks_stg_service_centres" in states
    assert set(states.values()) == {"COMPLETED"}


def test_a_failing_model_fails_its_task_and_the_build(prefect_harness: None, tmp_path: Path) -> None:
    database = tmp_path / "empty.duckdb"  # no raw tables: the staging models cannot be built

    with pytest.raises(CpsError, match="dbt build .* failed: stg_") as raised:
        build_in_flow(str(database), str(tmp_path / "dbt"))

    flow_run_id = UUID(str(raised.value).split("|", 1)[0])
    states = task_run_states(flow_run_id)
    assert states["stg_members"] == "FAILED"
    assert states["stg_service_centres"] == "FAILED"
    # dbt starts the tests of a failed model too, and skips them: their tasks are no second failure.
    assert states["checks_stg_service_centres"] == "COMPLETED"
    assert "does not exist" in str(raised.value)
