"""Steps: Prefect tasks (and subflows) inside a Prefect flow run, the plain functions outside one.

Inside a flow run they report to the session's real Prefect server (prefect_harness); outside one,
Prefect is not involved at all. Both must give the same results and errors.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest

from pipelines.core.errors import CpsError
from pipelines.core.orchestration import DIRECT_LOGGER, in_prefect_run, run_logger, step, subflow, wait_all

attempts: list[str] = []


@step(name="flaky copy", retries=2, retry_delay_seconds=0)
def flaky_copy(failures: int, error: type[Exception]) -> str:
    """Fails `failures` times with `error`, then succeeds."""
    attempts.append("try")
    if len(attempts) <= failures:
        raise error("disk hiccup")
    return f"copied after {len(attempts)}"


@step(name="whose thread", task_run_name="thread of {label}")
def whose_thread(label: str, pause: float = 0.0) -> str:
    time.sleep(pause)
    return f"{label} on {threading.current_thread().name}"


@subflow(workers=2, name="two at a time")
def two_at_a_time(labels: list[str]) -> list[str]:
    futures = [whose_thread.submit(label, 0.3) for label in labels]
    wait_all(futures)
    return [future.result() for future in futures]


@pytest.fixture(autouse=True)
def _no_attempts_yet() -> None:
    attempts.clear()


def test_outside_a_flow_run_a_step_is_its_function_with_retries_on_file_system_errors_only() -> None:
    assert not in_prefect_run()
    assert run_logger() is DIRECT_LOGGER
    assert flaky_copy(2, OSError) == "copied after 3"

    attempts.clear()
    with pytest.raises(OSError):
        flaky_copy(3, OSError)  # retries=2: three tries in all
    assert len(attempts) == 3

    attempts.clear()
    with pytest.raises(CpsError):
        flaky_copy(1, CpsError)  # not a file-system error: no second try
    assert attempts == ["try"]


def test_outside_a_flow_run_a_subflow_runs_its_submitted_steps_on_its_own_pool() -> None:
    started = time.perf_counter()
    results = two_at_a_time(["a", "b"])
    assert [result.split(" on ")[0] for result in results] == ["a", "b"]
    assert all(" on cps-step" in result for result in results)
    assert time.perf_counter() - started < 0.55  # two 0.3 s steps side by side, not one after the other
    # Submitted outside any subflow: run at once, a finished future.
    future = whose_thread.submit("alone")
    assert isinstance(future, Future) and future.done()
    assert future.result() == f"alone on {threading.current_thread().name}"


def test_inside_a_flow_run_steps_are_task_runs_and_subflows_flow_runs(prefect_harness: None) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    from tests.prefect_server import flow_run_tree

    @flow(name="orchestration-probe")
    def probe() -> tuple[str, list[str], bool, str]:
        copied = flaky_copy(1, OSError)  # Prefect's own retries
        return copied, two_at_a_time(["c", "d"]), in_prefect_run(), flow_run.id

    copied, results, inside, run_id = probe()
    assert copied == "copied after 2" and inside
    assert [result.split(" on ")[0] for result in results] == ["c", "d"]
    flow_names, task_names = flow_run_tree(run_id)
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run_id).state_type.value == "COMPLETED"
    assert "two at a time" in flow_names  # the subflow
    assert {"thread of c", "thread of d"} <= task_names
    assert any(name.startswith("flaky copy") for name in task_names)
