"""Steps that are Prefect tasks and flows inside a Prefect flow run, and plain calls outside one.

A night reports to Prefect when there is a Prefect server to report to (PREFECT_API_URL, `cps serve`,
or a temporary server asked for with CPS_PREFECT_TEMPORARY_SERVER): then the nightly flow runs as a
flow run, and each step decorated here is a task (or a subflow) of it, with its retries and its logs
in the server's UI. Without a server, nobody would ever read a flow run's record: the night calls the
same functions directly and Prefect is neither started nor imported (its import alone is ~3 s, and a
temporary API server ~7 s more before the first step).

What is the same either way: the functions, their order, their results and errors, the progress lines
and the run log. What only a flow run has: task and flow run records, Prefect's retry of any failure.
Outside one, a step with retries is tried again on file-system errors (OSError) only.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from functools import update_wrapper
from typing import Any, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

# The platform's own run logger outside a flow run (its records reach the run log file).
DIRECT_LOGGER = logging.getLogger("cps.run")

# Outside a flow run, what a subflow's steps submit runs on this pool (as its task runner would).
_pool: ContextVar[ThreadPoolExecutor | None] = ContextVar("cps_step_pool", default=None)


def in_prefect_run() -> bool:
    """True inside a Prefect flow or task run (only possible once Prefect is imported)."""
    if "prefect.context" not in sys.modules:
        return False
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """Prefect's run logger inside a flow or task run (its lines reach the UI), else the platform's."""
    if in_prefect_run():
        from prefect import get_run_logger

        return get_run_logger()  # type: ignore[return-value]
    return DIRECT_LOGGER


class _Orchestrated(Generic[P, R]):
    """A function and the Prefect object it becomes inside a flow run (built on first use, so that
    Prefect is imported only when a flow runs)."""

    def __init__(self, fn: Callable[P, R], options: dict[str, Any]) -> None:
        self.fn = fn
        self.options = options
        self._prefect: Any = None
        update_wrapper(self, fn)

    def _build(self) -> Any:
        raise NotImplementedError

    def prefect_object(self) -> Any:
        if self._prefect is None:
            self._prefect = self._build()
        return self._prefect


class Step(_Orchestrated[P, R]):
    """A function that runs as a Prefect task inside a flow run, and as itself outside one."""

    def _build(self) -> Any:
        from prefect import task
        from prefect.cache_policies import NO_CACHE

        # Never cached: a night does its work every time (and inputs such as connections do not hash).
        return task(self.fn, **{"cache_policy": NO_CACHE, **self.options})

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if in_prefect_run():
            return self.prefect_object()(*args, **kwargs)  # type: ignore[no-any-return]
        retries = int(self.options.get("retries", 0))
        delay = float(self.options.get("retry_delay_seconds", 0))
        for attempt in range(retries + 1):
            try:
                return self.fn(*args, **kwargs)
            except OSError:
                if attempt == retries:
                    raise
                time.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def submit(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """Start the step and return its future (.result()): on the flow's task runner, or on the pool."""
        if in_prefect_run():
            return self.prefect_object().submit(*args, **kwargs)
        pool = _pool.get()
        if pool is None:  # not inside a subflow: run it now
            done: Future[R] = Future()
            done.set_result(self(*args, **kwargs))
            return done
        return pool.submit(self, *args, **kwargs)


def step(**task_options: Any) -> Callable[[Callable[P, R]], Step[P, R]]:
    """Decorate a night's step; `task_options` are Prefect's task options (name, retries, ...)."""

    def decorate(fn: Callable[P, R]) -> Step[P, R]:
        return Step(fn, task_options)

    return decorate


class SubFlow(_Orchestrated[P, R]):
    """A group of steps: a Prefect subflow inside a flow run; outside one, the function with a pool of
    `workers` threads for the steps it submits."""

    def __init__(self, fn: Callable[P, R], workers: int, options: dict[str, Any]) -> None:
        super().__init__(fn, options)
        self.workers = workers

    def _build(self) -> Any:
        from prefect import flow
        from prefect.task_runners import ThreadPoolTaskRunner

        return flow(self.fn, task_runner=ThreadPoolTaskRunner(max_workers=self.workers), **self.options)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if in_prefect_run():
            return self.prefect_object()(*args, **kwargs)  # type: ignore[no-any-return]
        with _step_pool(self.workers):
            return self.fn(*args, **kwargs)


def subflow(workers: int = 1, **flow_options: Any) -> Callable[[Callable[P, R]], SubFlow[P, R]]:
    """Decorate a group of steps; `flow_options` are Prefect's flow options (name, flow_run_name)."""

    def decorate(fn: Callable[P, R]) -> SubFlow[P, R]:
        return SubFlow(fn, workers, flow_options)

    return decorate


@contextmanager
def _step_pool(workers: int) -> Iterator[None]:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cps-step") as pool:
        token = _pool.set(pool)
        try:
            yield
        finally:
            _pool.reset(token)


def wait_all(futures: Iterable[Any]) -> None:
    """Wait until every future given has finished (Prefect's or the pool's); errors surface at .result()."""
    for future in futures:
        if isinstance(future, Future):
            future.exception()
        else:
            future.wait()


def is_future(item: object) -> bool:
    """A submitted step's future, of either kind."""
    return isinstance(item, Future) or (hasattr(item, "task_run_id") and hasattr(item, "result"))
