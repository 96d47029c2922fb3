"""The temporary Prefect API a run starts for itself when no Prefect server is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from pipelines.core.settings import Settings
from pipelines.flows.prefect_api import start_temporary_api, temporary_api_in_use

PROJECT_ROOT = Path(__file__).resolve().parents[1]

RUN_A_FLOW = """
import os, sys
from pipelines.core.environment import apply_offline_environment
from pathlib import Path
apply_offline_environment(Path(sys.argv[1]))
from pipelines.core.settings import Settings
from pipelines.flows.prefect_api import start_temporary_api, temporary_api_in_use
api = start_temporary_api()
print("server-pid", api.process.pid, flush=True)
from prefect import flow
from prefect.client.orchestration import get_client
api.wait_until_ready()

@flow(name="probe")
def probe() -> str:
    from prefect.runtime import flow_run
    return flow_run.id

run_id = probe()
with get_client(sync_client=True) as client:
    print("api", client.api_url, os.environ["PREFECT_API_URL"], flush=True)
    print("state", client.read_flow_run(run_id).state_type.value, flush=True)
from pipelines.core.settings import Settings
from pipelines.flows.nightly import dbt_node_tasks
print("node-tasks", dbt_node_tasks(Settings()), dbt_node_tasks(Settings(dbt_node_tasks=True)), flush=True)
"""


def test_a_run_without_a_server_gets_its_own_api_and_stops_it_at_exit(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    result = subprocess.run(
        [sys.executable, "-c", RUN_A_FLOW, str(tmp_path / "prefect")],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    client_url, configured_url = lines["api"].split()
    assert client_url.rstrip("/") == configured_url.rstrip("/")
    assert configured_url.startswith("http://127.0.0.1:")
    assert lines["state"] == "COMPLETED"
    # Nobody sees a temporary API's UI: dbt runs as one step unless CPS_DBT_NODE_TASKS asks for tasks.
    assert lines["node-tasks"] == "False True"
    assert (tmp_path / "prefect" / "prefect.db").is_file()
    server_pid = int(lines["server-pid"])
    assert not psutil.pid_exists(server_pid) or psutil.Process(server_pid).status() == psutil.STATUS_ZOMBIE


def test_a_configured_api_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert start_temporary_api() is None
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    assert not temporary_api_in_use()
    from pipelines.flows.nightly import dbt_node_tasks

    # A server's UI shows every dbt model and test as a task of the run, unless turned off.
    assert dbt_node_tasks(Settings()) is True
    assert dbt_node_tasks(Settings(dbt_node_tasks=False)) is False
