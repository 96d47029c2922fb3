"""Shared test set-up: an isolated, offline Prefect for the whole session, and one tiny built night.

What other test modules can use (all real components, built once per session):
- `prefect_api`: the URL of one real Prefect server, shared by the run's workers; give it to `cps`
  subprocesses (run_cli's api_url).
- `prefect_harness`: this process's flows talk to that same server (no second server is started).
- `tiny_inbox`: a generated inbox of 200 members as of TINY_NIGHT. Read-only: copy it to change it.
- `tiny_night`: that inbox run once through `cps nightly` (dbt nodes as Prefect tasks), published.
  Both are built once per run, by the first test worker that asks (`built_once_per_run`).
  Read-only too; `tiny_night_copy` hands each test its own copy of the published warehouse (and its
  dbt artifacts, so dbt's parse is re-used), to run later nights, backfills or failures on.
- `run_night_in_process` (tests/nightly_helpers.py): a night through the nightly flow in this
  process, for tests about what a night computes rather than about the `cps` process.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipelines.core.environment import apply_offline_environment
from tests.nightly_helpers import NightPaths, PublishedNight, night_paths, run_cli, table_fingerprints

if TYPE_CHECKING:
    import subprocess

_SESSION_HOME = Path(os.environ.get("CPS_TEST_HOME", "/tmp")) / f"cps-tests-{os.getpid()}"
os.environ["PREFECT_HOME"] = str(_SESSION_HOME / "prefect")
(_SESSION_HOME / "prefect").mkdir(parents=True, exist_ok=True)
apply_offline_environment(_SESSION_HOME / "prefect")
# Nights run in this process write their run logs here, never into the checkout's data/logs.
os.environ["CPS_LOGS"] = str(_SESSION_HOME / "logs")
# dbt's parse kept for new warehouses (dbt_parse_cache.py): one cache per test run, not the checkout's.
# Set by the first process (xdist's controller), so that its workers share it.
os.environ.setdefault("CPS_DBT_PARSE_CACHE", str(_SESSION_HOME / "dbt-parse"))

TINY_NIGHT = date(2026, 11, 20)
TINY_MEMBERS = 200
TINY_SEED = 11


# The suite runs on three workers (scripts/test; pytest-xdist, --dist loadfile: a module stays on one
# worker, so its module fixtures are built once). A worker takes the next module in collection order
# when it is nearly done: the longest go first, so that the workers finish together (as measured, in
# seconds on one worker of three: a 60 s module left last kept one worker busy alone for a minute).
LONGEST_MODULES = (
    "test_nightly.py",  # 366
    "test_incremental_equality.py",  # 212
    "test_readme.py",  # 182
    "test_dbt_models.py",  # 165
    "test_nights.py",  # 137
    "test_incremental.py",  # 115
    "test_reports.py",  # 108
    "test_bench.py",  # 100
    "test_faults_inputs.py",  # 98
    "test_dbt_materializations.py",  # 75
    "test_quality.py",  # 60
    "test_prefect_api.py",  # 52
    "test_foresight.py",  # 45
    "test_dbt_parse.py",  # 42
    "test_serve.py",  # 39
    "test_dbt_service_models.py",  # 37
    "test_simulate.py",  # 35
    "test_ingest.py",  # 15
    "test_dbt_tasks.py",  # 13
    "test_ingest_parallel.py",  # 9
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_MODULES.index(name) if name in LONGEST_MODULES else len(LONGEST_MODULES)

    items.sort(key=rank)  # stable: within a module, and among the shorter ones, the order stays


@pytest.fixture(autouse=True)
def _one_run_log_per_test() -> Iterator[None]:
    """A run log is per process and run; a night run in-process by one test must not lend it to the next."""
    yield
    from pipelines.core.runlog import stop_run_log

    stop_run_log()


# Under pytest-xdist the run's controller starts one Prefect server for all its workers, as the run
# begins (it migrates its new database while the workers start and collect), and stops it once they
# have all finished: a server costs ~15 CPU-s to start and ~1.7 CPU-s a minute idle, once per run
# instead of once per worker. Its URL reaches the workers in their environment.
SHARED_PREFECT_API = "CPS_TEST_SHARED_PREFECT_API"


def _is_xdist_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def pytest_sessionstart(session: pytest.Session) -> None:
    """The controller starts the shared server before xdist starts its workers (its hook runs last)."""
    if not _is_xdist_controller(session.config):
        return
    from tests.prefect_server import launch_server, server_environment

    home = _SESSION_HOME / "prefect-server"
    home.mkdir(parents=True, exist_ok=True)
    server, api = launch_server(home, server_environment(home))
    _controller_servers.append(server)
    os.environ[SHARED_PREFECT_API] = api


def pytest_unconfigure(config: pytest.Config) -> None:
    from tests.prefect_server import stop

    while _controller_servers:
        stop(_controller_servers.pop())


_controller_servers: list[subprocess.Popen[bytes]] = []


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Prefect server for every `cps` process and flow the tests run: the run's shared one
    (under xdist), else one of this process's own."""
    from tests.prefect_server import SERVER_START_SECONDS, running_prefect_server, wait_until_healthy

    shared = os.environ.get(SHARED_PREFECT_API)
    if shared and wait_until_healthy(shared, SERVER_START_SECONDS):
        yield shared
        return
    with running_prefect_server(tmp_path_factory.mktemp("prefect-server")) as api:
        yield api


@pytest.fixture(scope="session")
def prefect_harness(prefect_api: str) -> Iterator[None]:
    """The flows this process runs report to the session's Prefect server (real API, no mock)."""
    import prefect.context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        # Also as the process-wide settings, for threads started from a context copied earlier.
        global_settings = prefect.context._temporary_global_settings_context(prefect.context.get_settings_context())
        with global_settings:
            yield
            # Send the last run logs while the server still runs (it stops right after this fixture).
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=5)


@contextmanager
def built_once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[Path, bool]]:
    """A folder shared by the run's test workers, held under a lock: (folder, already built).

    Session fixtures are per worker process (pytest-xdist); what every worker would build alike is
    built by the first that asks, the others wait for it and read it. The caller writes BUILT_MARK
    into the folder when done; a failed build leaves no mark, and the next worker tries again.
    """
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / f"shared-{name}"
    shared.mkdir(parents=True, exist_ok=True)
    with (shared.parent / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield shared, (shared / BUILT_MARK).is_file()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


BUILT_MARK = "built"


@pytest.fixture(scope="session")
def tiny_inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipelines.core.settings import PROJECT_ROOT
    from tools.synthetic.generate import generate_inbox

    with built_once_per_run(tmp_path_factory, "tiny-inbox") as (shared, built):
        out = shared / "inbox"
        if not built:
            shutil.rmtree(out, ignore_errors=True)
            catalog = PROJECT_ROOT / "catalog"
            generate_inbox(out=out, members=TINY_MEMBERS, seed=TINY_SEED, as_of=TINY_NIGHT, catalog_dir=catalog)
            (shared / BUILT_MARK).touch()
    return out


@pytest.fixture(scope="session")
def tiny_night(tiny_inbox: Path, tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> PublishedNight:
    """One clean, uninterrupted `cps nightly` of the tiny inbox (dbt nodes as Prefect tasks).

    Built once per run (the first worker that needs it; read-only for every test)."""
    with built_once_per_run(tmp_path_factory, "tiny-night") as (shared, built):
        if built:
            return pickle.loads((shared / "published.pickle").read_bytes())
        shutil.rmtree(shared / "night", ignore_errors=True)
        paths = night_paths(shared / "night", tiny_inbox)
        args = paths.cli_args(TINY_NIGHT.isoformat())
        result = run_cli(args, paths.prefect_home, dbt_node_tasks=True, api_url=prefect_api)
        assert result.returncode == 0, result.stdout + result.stderr
        fingerprints = table_fingerprints(paths.warehouse)
        published = PublishedNight(paths=paths, night=TINY_NIGHT, result=result, fingerprints=fingerprints)
        (shared / "published.pickle").write_bytes(pickle.dumps(published))
        (shared / BUILT_MARK).touch()
        return published


@pytest.fixture
def tiny_night_copy(tiny_night: PublishedNight, tmp_path: Path) -> NightPaths:
    """This test's own copy of the tiny night's published warehouse (same inbox, own reports)."""
    paths = night_paths(tmp_path, tiny_night.paths.inbox)
    shutil.copytree(tiny_night.paths.warehouse.parent, paths.warehouse.parent, ignore=shutil.ignore_patterns("*.lock"))
    return paths
