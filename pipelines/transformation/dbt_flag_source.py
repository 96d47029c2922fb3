"""A cheaper way for dbt to name where an adapter's behaviour flag comes from (same answer).

dbt-common (1.39, the newest) gives each behaviour flag a default source, the module that created it,
and computes it even for flags that name their own: `inspect.stack()` reads the source lines of every
frame and `inspect.getmodule` resolves the path of every loaded module. With Prefect, Great
Expectations and pandas loaded that is ~0.4 s per flag, ~4 s each time dbt creates its adapter
(py-spy, 10,000-member night). The module name of each frame is in the frame itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from pipelines.transformation.dbt_adjustments import original, replace_once


def first_calling_module() -> str:
    """The name of the first module on the call stack that is not dbt-common's behavior_flags."""
    from dbt_common import behavior_flags

    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if name and name != behavior_flags.__name__ and name in sys.modules:
            return str(name)
        frame = frame.f_back  # type: ignore[assignment]
    return "Unknown"


def use_cheap_flag_source() -> None:
    """Make dbt-common name a flag's source from the frames' module names; idempotent."""
    from dbt_common.behavior_flags import BehaviorFlagRendered

    replace_once(BehaviorFlagRendered, "_default_source", staticmethod(first_calling_module))


def dbt_commons_own_source() -> Callable[[], str]:
    """dbt-common's own way (before or after the replacement)."""
    from dbt_common.behavior_flags import BehaviorFlagRendered

    return original(BehaviorFlagRendered, "_default_source").__func__
