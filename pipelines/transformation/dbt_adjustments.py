"""The platform's small adjustments to dbt, made once per process before dbt first runs.

Each replaces one attribute of dbt (or dbt-common, dbt-duckdb) and keeps the original, which the
replacement may call and the tests compare with; each module says why it is needed:
- dbt_flag_source: the source of a behaviour flag found cheaply (same answer);
- dbt_parse_key: dbt's saved parse kept wherever the DuckDB file is;
- dbt_events: debug events nothing reads dropped before they are formatted;
- dbt_templates: each Jinja source (node, test argument, macro) compiled once, kept between processes.
"""

from __future__ import annotations

from typing import Any

_originals: dict[tuple[object, str], Any] = {}


def replace_once(owner: object, name: str, replacement: Any) -> Any:
    """Set `owner.name` to `replacement` the first time only; the original (as `owner` holds it)."""
    key = (owner, name)
    if key not in _originals:
        _originals[key] = vars(owner)[name]
        setattr(owner, name, replacement)
    return _originals[key]


def original(owner: object, name: str) -> Any:
    """`owner.name` as dbt had it, whether replaced yet or not."""
    return _originals.get((owner, name), vars(owner)[name])


def adjust_dbt() -> None:
    """Make every adjustment; idempotent."""
    from pipelines.transformation.dbt_events import drop_unread_debug_events
    from pipelines.transformation.dbt_flag_source import use_cheap_flag_source
    from pipelines.transformation.dbt_parse_key import parse_independent_of_the_path
    from pipelines.transformation.dbt_templates import compile_node_templates_once

    use_cheap_flag_source()
    parse_independent_of_the_path()
    drop_unread_debug_events()
    compile_node_templates_once()
