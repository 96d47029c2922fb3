"""A served flow run's process ends without DuckDB's shutdown noise in the `cps serve` console.

`cps serve` runs each flow run in a spawned child process. That process ends with the interpreter's
full clean-up, where DuckDB 2.0's bindings print pages of harmless "nanobind: leaked ..." lines
(`cps` itself avoids them the same way: pipelines.core.runlog.exit_without_cleanup).
"""

from __future__ import annotations

import atexit
import multiprocessing

from pipelines.core.runlog import exit_without_cleanup

_exit_code = 1  # until the flow body reports success


def leave_quietly_if_served(succeeded: bool) -> None:
    """In a spawned flow-run process, end it after the exit handlers, skipping the final clean-up."""
    global _exit_code
    if multiprocessing.parent_process() is None:  # `cps nightly` and the tests: not a spawned run
        return
    _exit_code = 0 if succeeded else 1
    atexit.unregister(_leave)  # registered once, however many times the flow body ends
    atexit.register(_leave)


def _leave() -> None:
    atexit.unregister(_leave)
    exit_without_cleanup(_exit_code)  # the other handlers first: Prefect sends its last logs there
