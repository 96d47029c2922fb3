"""dbt inside a Prefect flow: every model, seed and test that dbt runs shows as its own Prefect task.

dbt runs in a worker thread; its NodeStart and NodeFinished events come back to the flow's thread,
which submits one Prefect task per node. The task waits for its node and ends in the node's state
(failed when the model errors or the test fails), so the flow run's UI lists the nodes live, with
their timing, as dbt works through them.

Why not prefect-dbt's PrefectDbtRunner: it rebuilds Prefect's settings several times per node (and
once per log line it forwards), about 0.2 s of CPU a node, 30 s for this project's ~160 nodes on
every night whatever the data size. A submitted task costs about 0.01 s.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.utilities.annotations import quote

from pipelines.transformation.dbt_progress import DbtProgress
from pipelines.transformation.dbt_runner import (
    DbtInvocation,
    dbt_environment,
    prepare_run,
    raise_for_failure,
    release_dbt_database,
)

NODE_EVENTS = frozenset({"NodeStart", "NodeFinished"})
FAILED_STATUSES = frozenset({"error", "fail", "runtimeerror"})
NODE_WAIT_SECONDS = 6 * 3600.0  # a node's task gives up only if dbt never reports the node finished


@dataclass(frozen=True)
class NodeEvent:
    kind: str  # NodeStart or NodeFinished
    unique_id: str
    resource_type: str
    name: str
    status: str
    message: str


@dataclass
class NodeOutcomes:
    """What dbt reported for each node, shared between dbt's threads and the node tasks."""

    finished: dict[str, threading.Event] = field(default_factory=dict)
    outcome: dict[str, tuple[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def event_for(self, unique_id: str) -> threading.Event:
        with self.lock:
            return self.finished.setdefault(unique_id, threading.Event())

    def record(self, unique_id: str, status: str, message: str) -> None:
        self.outcome[unique_id] = (status, message)
        self.event_for(unique_id).set()

    def wait(self, unique_id: str) -> tuple[str, str]:
        if not self.event_for(unique_id).wait(NODE_WAIT_SECONDS):
            return "error", "dbt did not report this node as finished"
        return self.outcome[unique_id]


@task(name="dbt node", cache_policy=NO_CACHE)
def dbt_node(outcomes: NodeOutcomes, unique_id: str) -> str:
    """Ends when dbt has finished the node; fails when the model errored or the test failed."""
    status, message = outcomes.wait(unique_id)
    if status in FAILED_STATUSES:
        raise RuntimeError(f"{unique_id} {status}: {message}")
    return status


def node_event(event: Any) -> NodeEvent | None:
    """The part of a dbt event the flow needs, or None for the events it ignores (log lines)."""
    if event.info.name not in NODE_EVENTS:
        return None
    node_info = event.data.node_info
    run_result = getattr(event.data, "run_result", None)
    return NodeEvent(
        kind=event.info.name,
        unique_id=node_info.unique_id,
        resource_type=node_info.resource_type,
        name=node_info.node_name,
        status=str(node_info.node_status).lower(),
        message=(getattr(run_result, "message", "") or event.info.msg).strip(),
    )


def run_dbt_as_prefect_tasks(invocation: DbtInvocation, command: Sequence[str] = ("build",)) -> Any:
    """Like run_dbt, inside a flow: each dbt node that runs is a Prefect task of the flow run."""
    from dbt.cli.main import dbtRunner

    prepare_run(invocation)
    events: queue.Queue[NodeEvent | None] = queue.Queue()
    outcome: dict[str, Any] = {}

    progress = DbtProgress(f"dbt {command[0]}")

    def forward(event: Any) -> None:
        progress(event)
        if (node := node_event(event)) is not None:
            events.put(node)

    forward.debug_events = progress.debug_events | NODE_EVENTS  # type: ignore[attr-defined]

    def invoke() -> None:
        try:
            with dbt_environment(invocation.database):
                outcome["result"] = dbtRunner(callbacks=[forward]).invoke(invocation.cli_args((*command, "--quiet")))
        except BaseException as error:  # handed to the flow's thread below
            outcome["error"] = error
        finally:
            events.put(None)

    outcomes = NodeOutcomes()
    futures = []
    worker = threading.Thread(target=invoke, name="dbt", daemon=True)
    try:
        worker.start()
        while (node := events.get()) is not None:
            if node.kind == "NodeStart":
                node_task = dbt_node.with_options(name=f"dbt {node.resource_type}", task_run_name=node.name)
                futures.append(node_task.submit(quote(outcomes), node.unique_id))  # quote: not an input to inspect
            else:
                outcomes.record(node.unique_id, node.status, node.message)
        worker.join()
        wait(futures)
    finally:
        release_dbt_database()
    if "error" in outcome:
        raise outcome["error"]
    raise_for_failure(outcome["result"], command, invocation.database)
    return outcome["result"]
