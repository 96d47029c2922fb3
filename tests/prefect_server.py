"""A real Prefect server on loopback, started once and shared by the tests that run `cps` as a process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


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


def start_server(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`prefect server start` on a free loopback port, up and healthy; the process and its API URL.

    Two test workers may be handed the same free port between asking and binding: a server that
    exits at start-up is tried again on another port.
    """
    log = home / "server.log"
    for _attempt in range(3):
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        api = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 180
        while server.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    return server, api
            except httpx.HTTPError:
                pass
            time.sleep(1)
        timed_out = server.poll() is None
        stop(server)
        if timed_out:
            break
    raise AssertionError("the Prefect server did not start:\n" + log.read_text())


@contextmanager
def running_prefect_server(home: Path) -> Iterator[str]:
    """Start `prefect server start` on a free loopback port; yield its API URL; stop it after."""
    home.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CPS_", "PREFECT_API"))}
    env["PREFECT_HOME"] = str(home)
    server, api = start_server(home, env)
    try:
        yield api
    finally:
        stop(server)
