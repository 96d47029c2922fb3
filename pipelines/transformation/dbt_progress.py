"""dbt's progress, node by node, for the operator's console and the run log.

A dbt callback: counts the nodes as they finish ("dbt 87/161 fct_registrations 4.2 s") and hands
dbt's own messages to the run log (not the console).
"""

from __future__ import annotations

import logging
from typing import Any

from pipelines.core.runlog import DETAIL, PROGRESS

DBT_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


class DbtProgress:
    """Call with each dbt event (dbtRunner(callbacks=[progress]))."""

    debug_events = frozenset({"NodeFinished"})  # the debug-level events it reads (dbt_events)

    def __init__(self, label: str = "dbt") -> None:
        self.label = label
        self.total = 0
        self.finished = 0

    def __call__(self, event: Any) -> None:
        name = event.info.name
        if name == "ConcurrencyLine":
            self.total = int(event.data.node_count)
        elif name == "NodeFinished":
            self.finished += 1
            node_info = event.data.node_info
            status = str(node_info.node_status).lower()
            seconds = float(getattr(event.data.run_result, "execution_time", 0.0) or 0.0)
            PROGRESS.info(
                "%s %d/%d %s %s %.1f s",
                self.label,
                self.finished,
                max(self.total, self.finished),
                node_info.node_name,
                status,
                seconds,
            )
        level = DBT_LEVELS.get(str(event.info.level), logging.INFO)
        if level >= logging.INFO and event.info.msg.strip():
            DETAIL.log(level, "dbt: %s", event.info.msg)
