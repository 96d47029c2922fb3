"""Process environment for an offline run: telemetry off, Prefect kept local to the project."""

from __future__ import annotations

import gc
import os
from pathlib import Path

# Python's cyclic garbage collector runs every 700 new objects and now and then walks every object
# alive: with Prefect, dbt, GX and dbt's manifest loaded that is ~3-4 s of CPU a night (measured with
# gc.callbacks at 10,000 members). Collections every 50,000 new objects, and the libraries' own
# objects frozen out of the walk once imported, cost about a third less. The gate's worker too:
# importing Great Expectations, 2.6-3.5 -> 2.3-3.0 CPU-s.
NIGHT_GC_THRESHOLDS = (50_000, 20, 100)

# Every tool this platform drives would otherwise phone home at start-up.
TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
}


def apply_offline_environment(prefect_home: Path | None = None) -> None:
    """Switch telemetry off and give Prefect a home of its own, before Prefect is imported.

    Values already set by the caller (for example a test harness) are kept.
    """
    for name, value in TELEMETRY_OFF.items():
        os.environ[name] = value
    if prefect_home is not None and "PREFECT_HOME" not in os.environ:
        prefect_home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(prefect_home)
    # Run logs go to the Prefect API (and its UI) in full; the terminal shows only the platform's
    # own progress lines and one-line errors, not Prefect's tracebacks.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    # dbt's worker pool leaves semaphores for multiprocessing's tracker process, which warns about
    # them when the command exits; the tracker is a child process, so it reads this variable.
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning:multiprocessing.resource_tracker")


def collect_garbage_less_often() -> None:
    """For a night's processes, which create millions of objects that live as long as they do."""
    gc.set_threshold(*NIGHT_GC_THRESHOLDS)


def freeze_loaded_objects() -> None:
    """What is loaded so far lives as long as the process: no collection need walk it again."""
    gc.freeze()
