"""dbt's debug events, dropped before they are formatted when nothing reads them.

dbt fires a debug event for each SQL statement, cache action, connection and node step: dozens a
node. dbt-common turns every one into a message (its text, a timestamp, a protobuf copy of the
event), hands it to each callback, and has each log file format its line (secrets scrubbed with
regexes) before Python's logging drops it below the file's level. The platform's dbt log keeps
warnings and errors, and its callbacks name the debug events they read (`debug_events`: DbtProgress
reads NodeFinished, the Prefect node tasks NodeStart too). A debug event that no log file takes and
no callback reads is dropped first; a callback that names none gets every event, as before. dbt's
own callback (tracking behaviour-change warnings) reads warnings only. ~0.3 s less in each small
night's dbt build, ~7% of it; nothing any reader sees changes.

An event is also built lazily: dbt-common parses its fields into a protobuf message when it is made
(~0.1 ms an event, ~2,800 a night, 0.35 s), before anyone knows whether it will be dropped; here the
message is parsed when first read (by the event manager, a callback or a log), with dbt-common's own
code, so a dropped event never pays for it.
"""

from __future__ import annotations

import logging
from typing import Any

from dbt_common.events.base_types import BaseEvent, EventLevel
from dbt_common.events.event_manager import EventManager

from pipelines.transformation.dbt_adjustments import original, replace_once


def _a_log_takes_debug(manager: Any) -> bool:
    for logger in manager.loggers:
        python_logger = getattr(logger, "_python_logger", None)
        if python_logger is None or python_logger.isEnabledFor(logging.DEBUG):
            return True
    return False


def _debug_events_read(manager: Any) -> frozenset[str] | None:
    """The debug events the manager's callbacks read; None when one may read any."""
    read: set[str] = set()
    for callback in manager.callbacks:
        if getattr(callback, "__module__", "") == "dbt.tracking" and callback.__name__ == "track_behavior_change_warn":
            continue  # dbt's own: behaviour-change warnings only
        names = getattr(callback, "debug_events", None)
        if names is None:
            return None
        read.update(names)
    return frozenset(read)


def fire_read_events(
    manager: Any, event: Any, level: Any = None, node: Any = None, force_warn_or_error_handling: bool = False
) -> None:
    """dbt-common's EventManager.fire_event, but for a debug event nothing reads."""
    if (
        not force_warn_or_error_handling
        and (level or event.level_tag()) == EventLevel.DEBUG
        and not _a_log_takes_debug(manager)
        and (read := _debug_events_read(manager)) is not None
        and type(event).__name__ not in read
    ):
        return
    own_fire_event = original(EventManager, "fire_event")
    own_fire_event(manager, event, level=level, node=node, force_warn_or_error_handling=force_warn_or_error_handling)


_PENDING = "_cps_pending_fields"  # an event's fields until its message is parsed


def _keep_fields(event: Any, *args: Any, **kwargs: Any) -> None:
    """BaseEvent.__init__, deferred: the fields are kept, the message is parsed when first read."""
    object.__setattr__(event, _PENDING, (args, kwargs))


def _message(event: Any) -> Any:
    """The event's protobuf message, parsed by dbt-common's own __init__ the first time."""
    pending = event.__dict__.pop(_PENDING, None)
    if pending is not None:
        original(BaseEvent, "__init__")(event, *pending[0], **pending[1])
    return object.__getattribute__(event, "pb_msg")


def _read_field(event: Any, key: str) -> Any:
    """BaseEvent.__getattr__ (only called for what the event itself lacks): a field of the message."""
    message = _message(event)
    return message if key == "pb_msg" else getattr(message, key)


def _write_field(event: Any, key: str, value: Any) -> None:
    if key == "pb_msg":
        event.__dict__.pop(_PENDING, None)
        object.__setattr__(event, key, value)
    else:
        setattr(_message(event), key, value)


def drop_unread_debug_events() -> None:
    """Make dbt-common's event manager skip the debug events nothing reads, and events parse their
    message only when it is read; idempotent."""
    replace_once(EventManager, "fire_event", fire_read_events)
    replace_once(BaseEvent, "__init__", _keep_fields)
    replace_once(BaseEvent, "__getattr__", _read_field)
    replace_once(BaseEvent, "__setattr__", _write_field)
