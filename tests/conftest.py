"""Shared test set-up: an isolated, offline Prefect for the whole session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.core.environment import apply_offline_environment

_SESSION_HOME = Path(os.environ.get("CPS_TEST_HOME", "/tmp")) / f"cps-tests-{os.getpid()}"
os.environ["PREFECT_HOME"] = str(_SESSION_HOME / "prefect")
apply_offline_environment(_SESSION_HOME / "prefect")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A real, temporary Prefect API for the flows under test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Prefect server for every `cps` process the tests start (saves a server per process)."""
    from tests.prefect_server import running_prefect_server

    with running_prefect_server(tmp_path_factory.mktemp("prefect-server")) as api:
        yield api
