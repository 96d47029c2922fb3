"""The quality gate in a process of its own, started with the night.

A night is one Python process, and nearly all of its Python work holds the interpreter lock: Great
Expectations' import (~4-5 s: its whole catalogue of expectations, scipy, altair), done in a thread
beside the dbt build, slowed the build by as much (py-spy, 10,000-member night). `cps nightly` starts
this worker before its first step: it imports Great Expectations on the other core while the night
ingests and builds, runs the gate when the build is done, and ends. A night run in a process that has
no worker (a test, a flow run a Prefect server started) runs the gate in its own process, the same code.

The worker reads one request from its end of a pipe and answers once; if the night's process ends
first (a failed step, a kill), the worker reads end-of-file and ends too.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from pipelines.core.environment import collect_garbage_less_often, freeze_loaded_objects
from pipelines.core.errors import CpsError
from pipelines.core.runlog import FILE_FORMAT, PROGRESS, exit_without_cleanup, quiet_library_loggers
from pipelines.quality.results import GateResult


@dataclass
class GateWorker:
    process: BaseProcess
    connection: Connection  # the night's end of the pipe

    def stop(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=30)


_workers: list[GateWorker] = []


def _serve_one_gate(connection: Connection, run_log: Path | None) -> None:
    """The worker's life: log to the night's run log, load Great Expectations, answer one request."""
    # Ctrl-C reaches the whole process group: the night stops its worker itself (no second traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if run_log is not None:
        handler = logging.FileHandler(run_log, encoding="utf-8")  # appends, line by line, beside the night's
        handler.setFormatter(logging.Formatter(FILE_FORMAT))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
        quiet_library_loggers()
    collect_garbage_less_often()
    from pipelines.quality.gate import run_quality_gate  # Great Expectations: the point of this process

    freeze_loaded_objects()

    try:
        database, as_of, data_docs_dir, policy_values = connection.recv()
    except EOFError:  # the night ended before its gate
        exit_without_cleanup(0)

    # Two answers: the gate's result as soon as the suites are validated, then (None) once its Data Docs
    # are built; a failure instead of either travels back to be raised in the night.
    def answer(value: Any) -> None:
        try:
            connection.send(value)
        except (BrokenPipeError, ConnectionResetError):  # the night ended (a kill) while the gate ran
            exit_without_cleanup(0)

    try:
        run_quality_gate(database, as_of, data_docs_dir, policy_values=policy_values, store=False, on_validated=answer)
        last: Any = None
    except Exception as error:  # noqa: BLE001  (any failure travels back, to be raised in the night)
        if isinstance(error, CpsError):
            last = error
        else:  # unexpected: its traceback goes to the run log, the night raises the one line
            logging.getLogger(__name__).exception("quality gate: unexpected error in its worker process")
            last = CpsError(f"quality gate: {type(error).__name__}: {error} (traceback in the run log)")
    answer(last)
    exit_without_cleanup(0)


def start_gate_worker(run_log: Path | None) -> None:
    """Start the worker (its imports begin at once); the night's gate then runs in it."""
    if _workers:
        return
    night_end, worker_end = multiprocessing.Pipe()
    # spawn, not fork: the night's process has threads and DuckDB connections a fork would copy.
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_one_gate, args=(worker_end, run_log), name="cps-quality-gate", daemon=True
    )
    # Started with Ctrl-C ignored (a spawned Python keeps an ignored SIGINT ignored): a Ctrl-C while it
    # still imports would print its own traceback; the night stops the worker itself.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
    try:
        process.start()
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    worker_end.close()  # only the worker holds it now: the night's exit is its end-of-file
    _workers.append(GateWorker(process, night_end))


@dataclass
class PendingGate:
    """A quality gate asked for: validating in the worker already, or (no worker) when waited for."""

    database: Path
    as_of: date
    data_docs_dir: Path
    policy_values: dict[str, Any]
    worker: GateWorker | None

    def wait(self) -> GateResult:
        """The gate's result (its validation only: the caller stores it, see store_gate_result); its Data
        Docs may still be being built (wait_for_data_docs)."""
        if self.worker is None:
            from pipelines.quality.gate import run_quality_gate

            return run_quality_gate(
                self.database, self.as_of, self.data_docs_dir, policy_values=self.policy_values, store=False
            )
        answer = self._receive()
        if answer is None:  # a worker that validated nothing cannot say it built the docs first
            raise CpsError("quality gate: its worker process answered without a result; see the run log")
        return answer  # type: ignore[no-any-return]

    def wait_for_data_docs(self) -> None:
        """Once the gate's Data Docs are built (then the worker ends)."""
        if self.worker is None:
            return
        try:
            self._receive()
        finally:
            self._finish()

    def _receive(self) -> Any:
        """The worker's next answer; a failure it sends (its last answer) or its end is raised."""
        worker = self.worker
        assert worker is not None
        try:
            answer = worker.connection.recv()
        except (EOFError, OSError) as error:
            self._finish()
            raise CpsError(
                f"quality gate: its worker process stopped (exit code {worker.process.exitcode}, {error!r}); "
                "see the run log"
            ) from None
        if isinstance(answer, BaseException):
            self._finish()
            raise answer
        return answer

    def _finish(self) -> None:
        if self.worker is not None and self.worker in _workers:
            _workers.remove(self.worker)
            self.worker.stop()


def start_gate(database: Path, as_of: date, data_docs_dir: Path, policy_values: Mapping[str, Any]) -> PendingGate:
    """Ask for the quality gate: a started worker begins validating at once (read-only, so the night can
    render its reports meanwhile); without one, the gate runs in this process when waited for."""
    worker = _workers[-1] if _workers else None
    if worker is not None:
        PROGRESS.info("quality gate: validating in its worker process, beside the reports")
        try:
            worker.connection.send((database, as_of, data_docs_dir, dict(policy_values)))
        except OSError as error:
            _workers.remove(worker)
            worker.stop()
            raise CpsError(f"quality gate: cannot reach its worker process ({error!r}); see the run log") from None
    return PendingGate(database, as_of, data_docs_dir, dict(policy_values), worker)


def stop_gate_worker() -> None:
    """End a worker that did not run (the night stopped before its gate)."""
    while _workers:
        _workers.pop().stop()
