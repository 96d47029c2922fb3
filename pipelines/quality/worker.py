"""The quality gate in a process of its own, started with the night.

A night is one Python process, and nearly all of its Python work holds the interpreter lock: Great
Expectations' import (~4-5 s: its whole catalogue of expectations, scipy, altair), done in a thread
beside the dbt build, slowed the build by as much (py-spy, 10,000-member night). `cps nightly` starts
this worker before its first step: it imports Great Expectations on the other core while the night
ingests and builds, runs the gate when the build is done, and ends. A night run in a process that has
no worker (a test, a flow run a Prefect server started) runs the gate in its own process, the same code.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import sys
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.core.errors import CpsError
from pipelines.core.runlog import FILE_FORMAT

_workers: list[ProcessPoolExecutor] = []


def _prepare_worker(run_log: Path | None) -> None:
    """In the worker: its log lines go to the night's run log; then the gate's libraries load."""
    atexit.register(_leave_quietly)  # registered first, so it runs last of the exit handlers
    if run_log is not None:
        handler = logging.FileHandler(run_log, encoding="utf-8")  # appends, line by line, beside the night's
        handler.setFormatter(logging.Formatter(FILE_FORMAT))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
    import pipelines.quality.gate  # noqa: F401  (Great Expectations)


def _leave_quietly() -> None:
    """End the worker without the interpreter's final clean-up, where DuckDB's bindings print pages of
    harmless "nanobind: leaked ..." lines on the console (as `cps` itself ends)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _gate_in_worker(database: Path, as_of: date, data_docs_dir: Path, policy_values: dict[str, Any]) -> Any:
    from pipelines.quality.gate import run_quality_gate  # imported by _prepare_worker already

    return run_quality_gate(database, as_of, data_docs_dir, policy_values=policy_values)


def start_gate_worker(run_log: Path | None) -> None:
    """Start the worker (its imports begin at once); the night's gate then runs in it."""
    if _workers:
        return
    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),  # not fork: the night's threads and DuckDB
        initializer=_prepare_worker,
        initargs=(run_log,),
    )
    pool.submit(int)  # spawns the process now, not at the gate (nothing waits for this call)
    _workers.append(pool)


def run_gate(database: Path, as_of: date, data_docs_dir: Path, policy_values: Mapping[str, Any]) -> Any:
    """The quality gate's GateResult: in the worker if one was started (which then ends), else here."""
    if not _workers:
        from pipelines.quality.gate import run_quality_gate

        return run_quality_gate(database, as_of, data_docs_dir, policy_values=policy_values)
    pool = _workers.pop()
    try:
        return pool.submit(_gate_in_worker, database, as_of, data_docs_dir, dict(policy_values)).result()
    except BrokenProcessPool as error:
        raise CpsError(f"quality gate: its worker process stopped ({error}); see the run log") from None
    finally:
        pool.shutdown(wait=False)  # it ends by itself; the gate closed the database before returning


def stop_gate_worker() -> None:
    """End a worker that did not run (the night stopped before its gate)."""
    while _workers:
        _workers.pop().shutdown(wait=False, cancel_futures=True)
