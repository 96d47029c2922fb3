"""The order in which dbt starts the nodes that are ready: the longest remaining chain first.

dbt starts ready nodes by their depth in the graph, shallowest first. With two threads, a night's
small tests of early models then went ahead of a model at the head of the longest chain still to run
(at a million members the points forecast waited ~0.6 s for tests with nothing after them, and the
marketing exports at the end waited again). Here a node's priority is the time of the longest chain
of nodes from it to the end of the build, each node timed as in the previous run of this artifacts
folder (its run_results.json), an untimed node counting as UNTIMED_SECONDS: the critical path first.

dbt has no setting for this; its queue's scoring method is replaced for the runs of this process.
dbt-core is pinned in uv.lock, and tests/test_dbt_schedule.py checks that the method is still there
and still used. What dbt runs, and what each node waits for, is unchanged: only the order among the
nodes that are ready.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

UNTIMED_SECONDS = 0.1


def node_seconds(run_results: Path) -> dict[str, float]:
    """Each node's execution time in one dbt run_results.json (raises if it cannot be read)."""
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    return {str(result["unique_id"]): float(result.get("execution_time") or 0.0) for result in results}


def previous_node_seconds(target_dir: Path) -> dict[str, float]:
    """Each node's execution time in the last run written to target_dir (empty if none or unreadable)."""
    try:
        return node_seconds(target_dir / "run_results.json")
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def critical_path_scores(graph: Any, seconds: Mapping[str, float]) -> dict[str, int]:
    """A score per node of `graph` (a networkx DiGraph, edges towards dependants): lower runs first.

    The ranking by the longest chain from the node to the end (its own time included), longest first;
    ties keep the topological order."""
    import networkx  # dbt's graph library (imported by dbt itself, in the night's parse thread)

    order = list(networkx.topological_sort(graph))
    remaining: dict[str, float] = {}
    for node in reversed(order):
        after = max((remaining[child] for child in graph.successors(node)), default=0.0)
        remaining[node] = seconds.get(node, UNTIMED_SECONDS) + after
    position = {node: index for index, node in enumerate(order)}
    ranked = sorted(order, key=lambda node: (-remaining[node], position[node]))
    return {node: rank for rank, node in enumerate(ranked)}


def schedule_by_critical_path(target_dir: Path) -> None:
    """Make dbt's runs in this process start ready nodes longest-remaining-chain first, timed by the
    previous run in target_dir. If dbt's queue has no such method any more, dbt's own order stays."""
    try:
        from dbt.graph.queue import GraphQueue
    except ImportError:
        return
    if not callable(getattr(GraphQueue, "_get_scores", None)):
        logging.getLogger(__name__).info("dbt's GraphQueue has no _get_scores: dbt's own node order is kept")
        return
    seconds = previous_node_seconds(target_dir)

    def scores(_queue: Any, graph: Any) -> dict[str, int]:
        return critical_path_scores(graph, seconds)

    GraphQueue._get_scores = scores  # type: ignore[method-assign]
