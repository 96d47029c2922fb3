"""dbt's order among ready nodes: the longest remaining chain first (pipelines/transformation/dbt_schedule.py)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import networkx as nx

from pipelines.transformation.dbt_schedule import critical_path_scores, previous_node_seconds


def night_like_graph() -> nx.DiGraph:
    """Two models ready together: a test with nothing after it, and the head of a chain of three."""
    graph = nx.DiGraph()
    graph.add_edges_from(
        [
            ("model.status", "test.checks_status"),
            ("model.status", "model.forecast"),
            ("model.forecast", "model.summary"),
            ("model.summary", "model.at_risk"),
        ]
    )
    return graph


def test_the_head_of_the_longest_chain_goes_before_a_ready_test_with_nothing_after_it() -> None:
    scores = critical_path_scores(night_like_graph(), {})

    assert scores["model.status"] == 0  # everything waits for it
    assert scores["model.forecast"] < scores["test.checks_status"]
    assert sorted(scores.values()) == list(range(5))


def test_timings_of_the_previous_run_outweigh_the_number_of_nodes_after_it() -> None:
    graph = night_like_graph()
    graph.add_edge("model.status", "test.slow_relationships")

    scores = critical_path_scores(graph, {"test.slow_relationships": 5.0, "model.forecast": 0.5})

    # 5 s alone against 0.5 s + two untimed nodes after the forecast
    assert scores["test.slow_relationships"] < scores["model.forecast"]


def test_a_dependant_never_ranks_before_what_it_waits_for() -> None:
    graph = night_like_graph()
    scores = critical_path_scores(graph, {"model.at_risk": 9.0})

    for parent, child in graph.edges:
        assert scores[parent] < scores[child]


def test_node_times_come_from_the_last_run_results(tmp_path: Path) -> None:
    results = {"results": [{"unique_id": "model.cps.a", "execution_time": 1.5}, {"unique_id": "test.cps.b"}]}
    (tmp_path / "run_results.json").write_text(json.dumps(results), encoding="utf-8")

    assert previous_node_seconds(tmp_path) == {"model.cps.a": 1.5, "test.cps.b": 0.0}
    assert previous_node_seconds(tmp_path / "absent") == {}


def test_dbt_still_orders_its_queue_by_the_method_the_platform_replaces() -> None:
    from dbt.graph.queue import GraphQueue

    # if dbt renames or stops calling it, the platform's order silently stops applying: fail here instead
    assert callable(GraphQueue._get_scores)
    assert "self._get_scores(" in inspect.getsource(GraphQueue.__init__)
