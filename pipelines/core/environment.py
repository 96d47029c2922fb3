"""Process environment for an offline run: telemetry off, Prefect kept local to the project."""

from __future__ import annotations

import os
from pathlib import Path

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
