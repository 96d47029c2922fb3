"""A real Prefect server on loopback, started once per test run and shared by its tests (tests/conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SERVER_START_SECONDS = 180  # a new server migrates its database first: ~20 s here, more on a busy machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def launch_server(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`prefect server start` on a free loopback port, not waited for: the process and its API URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=(home / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return server, f"http://127.0.0.1:{port}/api"


def healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_healthy(api: str, seconds: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Whether the server at `api` answers within `seconds` (False at once if `alive` says it ended)."""
    deadline = time.monotonic() + seconds
    while alive() and time.monotonic() < deadline:
        if healthy(api):
            return True
        time.sleep(0.5)
    return False


def start_server(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`prefect server start` on a free loopback port, up and healthy; the process and its API URL.

    Two test workers may be handed the same free port between asking and binding: a server that
    exits at start-up is tried again on another port.
    """
    for _attempt in range(3):
        server, api = launch_server(home, env)
        if wait_until_healthy(api, SERVER_START_SECONDS, alive=lambda server=server: server.poll() is None):
            return server, api
        timed_out = server.poll() is None
        stop(server)
        if timed_out:
            break
    raise AssertionError("the Prefect server did not start:\n" + (home / "server.log").read_text())


def server_environment(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CPS_", "PREFECT_API"))}
    env["PREFECT_HOME"] = str(home)
    return env


@contextmanager
def running_prefect_server(home: Path) -> Iterator[str]:
    """Start `prefect server start` on a free loopback port; yield its API URL; stop it after."""
    home.mkdir(parents=True, exist_ok=True)
    server, api = start_server(home, server_environment(home))
    try:
        yield api
    finally:
        stop(server)


def flow_run_tree(flow_run_id: str) -> tuple[list[str], set[str]]:
    """The names of a flow run's subflows and of the task runs of it and its subflows. Read by flow run:
    the server is shared by the test run's workers, which record their own runs on it too."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId

    with get_client(sync_client=True) as client:
        subflows = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
        )
        runs = [flow_run_id, *(subflow.id for subflow in subflows)]
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=runs)), limit=200)
        return [client.read_flow(subflow.flow_id).name for subflow in subflows], {run.name for run in task_runs}
