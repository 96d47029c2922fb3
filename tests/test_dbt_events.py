"""dbt's debug events are dropped before they are formatted when no log file and no callback reads them;
an event's message is parsed only when it is read."""

from __future__ import annotations

import io
from typing import Any

import pytest
from dbt.adapters.events.types import SQLQuery
from dbt.events.types import ConcurrencyLine, NodeFinished
from dbt.tracking import track_behavior_change_warn
from dbt_common.events.base_types import EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.logger import LineFormat, LoggerConfig

from pipelines.transformation import dbt_events
from pipelines.transformation.dbt_adjustments import original
from pipelines.transformation.dbt_progress import DbtProgress


class Reader:
    """A callback that names the debug events it reads, as DbtProgress does."""

    debug_events = DbtProgress.debug_events

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, message: Any) -> None:
        self.seen.append(message.info.name)


@pytest.fixture
def manager() -> EventManager:
    dbt_events.drop_unread_debug_events()
    manager = EventManager()
    manager.add_callback(track_behavior_change_warn)  # as dbt adds it to every invocation
    return manager


def fire_three(manager: EventManager) -> None:
    """A debug event nobody names, an info event, and the debug event DbtProgress reads."""
    manager.fire_event(SQLQuery(conn_name="night", sql="select 1", node_info={}))
    manager.fire_event(ConcurrencyLine(num_threads=2, target_name="warehouse", node_count=3))
    manager.fire_event(NodeFinished(node_info={}, run_result={}))


def test_a_debug_event_nothing_reads_is_dropped_and_the_read_ones_arrive(manager: EventManager) -> None:
    reader = Reader()
    manager.add_callback(reader)
    fire_three(manager)
    assert reader.seen == ["ConcurrencyLine", "NodeFinished"]


def test_with_dbt_commons_own_fire_event_every_event_arrives(manager: EventManager) -> None:
    reader = Reader()
    manager.add_callback(reader)
    manager.fire_event = original(EventManager, "fire_event").__get__(manager)  # type: ignore[method-assign]
    fire_three(manager)
    assert reader.seen == ["SQLQuery", "ConcurrencyLine", "NodeFinished"]


def test_a_callback_that_names_no_debug_events_gets_every_event(manager: EventManager) -> None:
    reader, seen = Reader(), []
    manager.add_callback(reader)
    manager.add_callback(lambda message: seen.append(message.info.name))
    fire_three(manager)
    assert reader.seen == seen == ["SQLQuery", "ConcurrencyLine", "NodeFinished"]


@pytest.mark.parametrize(("level", "sql_logged"), [(EventLevel.DEBUG, True), (EventLevel.WARN, False)])
def test_a_log_at_debug_level_still_gets_every_debug_event(
    manager: EventManager, level: EventLevel, sql_logged: bool
) -> None:
    stream, reader = io.StringIO(), Reader()
    manager.add_logger(LoggerConfig(name="probe", level=level, line_format=LineFormat.DebugText, output_stream=stream))
    manager.add_callback(reader)
    fire_three(manager)
    assert ("SQLQuery" in reader.seen) is sql_logged
    assert ("select 1" in stream.getvalue()) is sql_logged


def test_an_event_parses_its_message_only_when_read_and_reads_as_dbt_commons_own(
    manager: EventManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dbt_common.events.base_types as base_types

    parsed: list[str] = []
    real_parse = base_types.ParseDict

    def counted_parse(fields: dict[str, Any], message: Any) -> Any:
        parsed.append(type(message).__name__)
        return real_parse(fields, message)

    monkeypatch.setattr(base_types, "ParseDict", counted_parse)
    reader = Reader()
    manager.add_callback(reader)
    fire_three(manager)
    events = [name for name in parsed if not name.endswith("Msg")]  # the manager's own envelopes left out
    assert events == ["ConcurrencyLine", "NodeFinished"]  # the dropped SQLQuery was never parsed

    lazy = SQLQuery(conn_name="night", sql="select 1", node_info={})
    eager = SQLQuery.__new__(SQLQuery)
    original(base_types.BaseEvent, "__init__")(eager, conn_name="night", sql="select 1", node_info={})
    assert lazy.to_dict() == eager.to_dict() and lazy.message() == eager.message()
    lazy.sql = "select 2"  # written into the message, as dbt-common's own __setattr__ does
    assert lazy.pb_msg.sql == "select 2" and lazy.sql == "select 2"
