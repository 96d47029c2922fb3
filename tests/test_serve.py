"""`cps serve` against a real local Prefect server: the deployment is registered and a run completes."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx

from pipelines.core.settings import PROJECT_ROOT
from tests.nightly_helpers import check_night_artifacts, cli_environment
from tests.prefect_server import stop

NIGHT = "2026-11-20"


def test_deployment_on_a_real_prefect_api_runs_to_completion(prefect_api: str, tmp_path: Path) -> None:
    from tools.synthetic.generate import generate_inbox

    inbox = tmp_path / "inbox"
    generate_inbox(
        out=inbox, members=150, seed=5, as_of=date.fromisoformat(NIGHT), catalog_dir=PROJECT_ROOT / "catalog"
    )
    env = cli_environment(tmp_path / "serve-home", dbt_node_tasks=True)
    env.update(
        PREFECT_API_URL=prefect_api,
        CPS_INBOX=str(inbox),
        CPS_WAREHOUSE=str(tmp_path / "warehouse" / "cps.duckdb"),
        CPS_REPORTS=str(tmp_path / "reports"),
    )
    serving = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve", "--cron", "0 2 * * *", "--timezone", "Europe/Paris"],
        env=env,
        cwd=tmp_path,
        stdout=(tmp_path / "serve.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with httpx.Client(base_url=prefect_api, timeout=10) as api:
            deployment = None
            deadline = time.monotonic() + 180
            while deployment is None and time.monotonic() < deadline:
                response = api.get("/deployments/name/cps-nightly/nightly")
                if response.status_code == 200:
                    deployment = response.json()
                else:
                    assert serving.poll() is None, (tmp_path / "serve.log").read_text()
                    time.sleep(1)
            assert deployment is not None, (tmp_path / "serve.log").read_text()
            schedules = [entry["schedule"] for entry in deployment["schedules"]]
            assert {"cron": "0 2 * * *", "timezone": "Europe/Paris"}.items() <= schedules[0].items()

            for _attempt in range(5):  # a loaded machine's SQLite server may answer 5xx for a moment
                created = api.post(
                    f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": {"as_of": NIGHT}}
                )
                if created.status_code < 500:
                    break
                time.sleep(3)
            assert created.status_code == 201, created.text
            run = created.json()
            state: dict = {}
            deadline = time.monotonic() + 420
            while time.monotonic() < deadline:
                try:
                    response = api.get(f"/flow_runs/{run['id']}")
                except httpx.TimeoutException:  # the server busy with the run's own requests: ask again
                    continue
                if response.status_code >= 500:  # loaded, as above: ask again
                    time.sleep(2)
                    continue
                state = response.json()["state"]
                if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
                    break
                time.sleep(2)
            logs = api.post("/logs/filter", json={"logs": {"flow_run_id": {"any_": [run["id"]]}}}).json()
            log_text = "\n".join(entry["message"][:500] for entry in logs[-15:])
            assert state.get("type") == "COMPLETED", f"{state.get('message')}\n{log_text}"
            task_runs = api.post("/task_runs/filter", json={"flow_runs": {"id": {"any_": [run["id"]]}}}).json()
            names = {task_run["name"] for task_run in task_runs}
            assert any(name.startswith("publish") for name in names)
            assert len(names) > 20, "every dbt model and test should be its own task"
        assert (tmp_path / "warehouse" / "cps.duckdb").is_file()
        assert (tmp_path / "reports" / NIGHT / "index.html").is_file()
        check_night_artifacts(prefect_api, tmp_path)  # the night's summary on its flow run
    finally:
        stop(serving)
    console = (tmp_path / "serve.log").read_text(encoding="utf-8", errors="replace")
    assert "nanobind" not in console and "Error logging to API" not in console, console[-3000:]
