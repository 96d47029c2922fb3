"""Whether a run reports to Prefect, and a temporary Prefect API for a run that asks for one.

A night reports to Prefect when PREFECT_API_URL names a server (or the test harness set one); without
one it runs its steps directly (pipelines.core.orchestration). CPS_PREFECT_TEMPORARY_SERVER=true asks
for a flow run all the same, on a temporary server that records it in PREFECT_HOME's database.

Prefect would start the same server by itself when the first flow starts, then wait for it: about
18 s on this project's machine (the server imports and migrates its database), during which the run
does nothing. Started here, before the run imports Prefect, dbt and Great Expectations, the server
comes up on one core while those imports take the other; and the run's own process never imports
Prefect's server code (7 s), as it finds PREFECT_API_URL set.

When PREFECT_API_URL is already set (a real server, a test harness), nothing is started.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.environment import collect_garbage_less_often, freeze_loaded_objects
from pipelines.core.errors import CpsError, UsageError

READY_TIMEOUT_SECONDS = 120.0
PORT_IN_USE_EXIT_CODE = 3  # uvicorn's exit code when the port was taken between probe and start
SERVER_ENVIRONMENT = {
    # As Prefect sets them for its own temporary server: no UI, ephemeral mode.
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prefect_package_parent() -> Path:
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise CpsError("Prefect is not installed in this environment (run scripts/setup)")
    return Path(spec.origin).parent.parent


@dataclass
class TemporaryPrefectApi:
    """A Prefect API server process owned by this run; stopped when the run's process exits."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @classmethod
    def start(cls) -> TemporaryPrefectApi:
        port = free_port()
        command = [
            sys.executable, "-m", "uvicorn",
            "--app-dir", str(prefect_package_parent()),
            "--factory", "prefect.server.api.server:create_app",
            "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "error", "--lifespan", "on",
        ]  # fmt: skip
        process = subprocess.Popen(command, env={**os.environ, **SERVER_ENVIRONMENT})
        api = cls(port=port, process=process)
        atexit.register(api.stop)
        return api

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def wait_until_ready(self, timeout_seconds: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.is_ready():
                return
            if self.process.poll() is not None:
                reason = "its port was taken" if self.process.returncode == PORT_IN_USE_EXIT_CODE else "see above"
                raise CpsError(
                    f"the temporary Prefect server stopped at start-up ({reason}, exit code "
                    f"{self.process.returncode}); run again, or set PREFECT_API_URL to a running Prefect server"
                )
            time.sleep(0.1)
        raise CpsError(f"the temporary Prefect server did not answer within {timeout_seconds:.0f} s")

    def stop(self) -> None:
        # The run's last log lines and events go out while the server still answers: left for the
        # interpreter's exit, Prefect's log shipper waited ~5 s for a server already stopped.
        if "prefect.logging.handlers" in sys.modules:
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=5)
        if "prefect.events.worker" in sys.modules:
            from prefect.events.worker import EventsWorker

            EventsWorker.drain_all(timeout=5)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_started: list[TemporaryPrefectApi] = []


def temporary_api_in_use() -> bool:
    """True when this process reports to the temporary API it started (nobody watches its UI)."""
    return bool(_started) and os.environ.get("PREFECT_API_URL") == _started[0].url


def prefect_api_configured() -> bool:
    """A Prefect API to report to: PREFECT_API_URL in the environment (a server, the run's temporary
    one), or in Prefect's settings once Prefect is loaded (the test harness sets it there)."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    if "prefect.settings" in sys.modules:
        from prefect.settings import PREFECT_API_URL

        return bool(PREFECT_API_URL.value())
    return False


def reports_to_prefect(temporary_server: bool) -> bool:
    """Whether a night runs as a Prefect flow run: a server is configured, or a temporary one asked for."""
    return temporary_server or prefect_api_configured()


def check_prefect_usage(dbt_node_tasks: bool | None, temporary_server: bool) -> None:
    """dbt's nodes as Prefect tasks need a flow run to belong to: wrong usage without any server."""
    if dbt_node_tasks and not reports_to_prefect(temporary_server):
        raise UsageError(
            "CPS_DBT_NODE_TASKS=true shows dbt's nodes in a Prefect server's UI: set PREFECT_API_URL to a "
            "running server, or CPS_PREFECT_TEMPORARY_SERVER=true"
        )


def start_temporary_api() -> TemporaryPrefectApi | None:
    """Start a temporary API and point this process (and its children) at it, unless one is configured.

    Call before Prefect is imported: Prefect reads PREFECT_API_URL when it loads its settings.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    api = TemporaryPrefectApi.start()
    os.environ["PREFECT_API_URL"] = api.url
    _started.append(api)
    return api


def import_step_libraries() -> None:
    """dbt, needed by the dbt step: ~2-3 s of imports (Great Expectations loads in the gate's worker)."""
    import dbt.cli.main  # noqa: F401

    freeze_loaded_objects()


def prepare_nightly_process(temporary_server: bool, run_log: Path | None) -> None:
    """For a process about to run a night: its libraries load while something else waits.

    The quality gate's worker process starts first and imports Great Expectations on the other core
    (pipelines.quality.worker). dbt (~2-3 s of imports) is first needed after ingestion: a background
    thread imports it while the night ingests (DuckDB's work leaves the interpreter mostly idle); the
    dbt step, if it comes first, simply waits for the import to finish (Python's import lock). With
    `temporary_server` (and no PREFECT_API_URL), a temporary Prefect API starts too.
    """
    from pipelines.quality.worker import start_gate_worker

    collect_garbage_less_often()
    start_gate_worker(run_log)
    api = start_temporary_api() if temporary_server else None
    import pipelines.flows.nightly  # noqa: F401, I001

    if prefect_api_configured():
        # Prefect first: it sets up its logging on import, before the others can touch the root logger.
        import pipelines.flows.nightly_flow  # noqa: F401

    threading.Thread(target=import_step_libraries, name="cps-imports", daemon=True).start()
    if api is not None:
        api.wait_until_ready()
