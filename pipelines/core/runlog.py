"""The operator's console and the run log.

- Progress lines ("ingest members/… 1,234 rows 0.3 s", "dbt 87/161 fct_registrations 4.2 s") go through
  the `cps.progress` logger to the run log and, at a terminal (Settings.progress), to stderr: stdout holds
  only a command's result, and a failed run whose output is captured prints its one line alone.
- Every run of a command that does work writes a log file of its own under the logs folder
  (data/logs/nightly_2026-11-20_021503.log): progress, dbt's and Prefect's messages and any
  traceback. The one-line error on the console names that file.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, TextIO

from rich.console import Console
from rich.text import Text

PROGRESS = logging.getLogger("cps.progress")
# Detail for the log file only (dbt's messages, tracebacks); never printed on the console.
DETAIL = logging.getLogger("cps.detail")

FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s | %(message)s"

_state: dict[str, object] = {}


def console() -> Console:
    """Rich console on stderr (stdout stays the command's summary)."""
    if "console" not in _state:
        _state["console"] = Console(stderr=True, highlight=False)
    return _state["console"]  # type: ignore[return-value]


class ProgressHandler(logging.Handler):
    """One progress line per record on the rich console: the time, dimmed, then the message, unwrapped."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
            line = Text.assemble((stamp, "dim"), " ", record.getMessage())
            if record.levelno >= logging.WARNING:
                line.stylize("yellow", len(stamp) + 1)
            console().print(line, soft_wrap=True)
        except Exception:
            self.handleError(record)


def show_progress(mode: str = "auto") -> None:
    """Progress lines for the run log, and on stderr too when `mode` (Settings.progress) says so: "always",
    or "auto" with stderr a terminal (an operator watching); idempotent."""
    on_console = mode == "always" or (mode == "auto" and _is_terminal(sys.stderr))
    if on_console and not any(isinstance(handler, ProgressHandler) for handler in PROGRESS.handlers):
        PROGRESS.addHandler(ProgressHandler())
    PROGRESS.setLevel(logging.INFO)
    DETAIL.setLevel(logging.DEBUG)


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def start_run_log(command: str, logs_dir: Path) -> Path:
    """Open this run's log file (one per run, named by command and UTC start time) and return its path.

    The handler sits on the root logger, so Prefect's flow and task logs and the platform's own land
    in it. Prefect's logging set-up replaces the root's handlers when Prefect is imported: call this
    again after that (it re-attaches the same file).
    """
    current = current_run_log()
    if current is not None:
        # Prefect's logging set-up (on import) replaces the root logger's handlers: attach again.
        handler = _state["handler"]
        if handler not in logging.getLogger().handlers:
            logging.getLogger().addHandler(handler)  # type: ignore[arg-type]
        return current
    logs_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d_%H%M%S")
    path = logs_dir / f"{command}_{stamp}.log"
    suffix = 1
    while path.exists():  # two runs in the same second
        suffix += 1
        path = logs_dir / f"{command}_{stamp}_{suffix}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    logging.getLogger().addHandler(handler)
    PROGRESS.setLevel(logging.INFO)
    DETAIL.setLevel(logging.DEBUG)
    quiet_library_loggers()
    _state["log_path"] = path.resolve()
    _state["handler"] = handler
    DETAIL.info("cps %s; command line: %s", command, " ".join(sys.argv))
    return path


def quiet_library_loggers() -> None:
    """Great Expectations logs ~200 INFO lines a night (its import's decorators and registries, a
    temporary folder for its docs) that an operator has no use for: only its warnings reach the log.
    One of its modules sets its own logger to INFO when imported: called again after the import."""
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)


def current_run_log() -> Path | None:
    path = _state.get("log_path")
    return path if isinstance(path, Path) else None


def stop_run_log() -> None:
    """Close the run log (tests; a process writes one log per run and exits)."""
    handler = _state.pop("handler", None)
    _state.pop("log_path", None)
    if isinstance(handler, logging.Handler):
        logging.getLogger().removeHandler(handler)
        handler.close()


def with_log_hint(message: str) -> str:
    """The one-line error, naming the run log that holds the details."""
    path = current_run_log()
    if path is None:
        return message
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    return f"{message} (details: {shown})"


# Third-party lines that tell the operator nothing: DuckDB's bindings list the objects still alive
# when a process ends (the served flow runs' output reaches `cps serve`'s console), and Prefect's
# log shipper reports a run's last log lines it could not send once its API was gone.
NOISE_PREFIXES = ("nanobind: ", " - leaked ", " - ... skipped remainder")
API_LOG_ERROR = "--- Error logging to API ---"


class QuietStream:
    """A console stream that passes whole lines on, except third-party noise (kept in the run log)."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self.pending = ""
        self.skip_next = False

    def write(self, text: str) -> int:
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            self.pass_line(line + "\n")
        return len(text)

    def pass_line(self, line: str) -> None:
        bare = line.rstrip("\n")
        if self.skip_next or bare.startswith(NOISE_PREFIXES) or bare.startswith(API_LOG_ERROR):
            # The API error's message follows on the next line (when it is not glued to the marker).
            self.skip_next = bare == API_LOG_ERROR
            DETAIL.debug("console: %s", bare)
            return
        self.target.write(line)

    def flush(self) -> None:
        # A partial line waits for its end only while it could still turn out to be noise.
        markers = (*NOISE_PREFIXES, API_LOG_ERROR)
        if self.pending and not any(self.pending.startswith(m) or m.startswith(self.pending) for m in markers):
            self.target.write(self.pending)
            self.pending = ""
        self.target.flush()

    def __getattr__(self, name: str) -> object:  # isatty, fileno, encoding, ... of the real stream
        return getattr(self.target, name)


def quiet_console() -> None:
    """Filter third-party noise out of this process's stdout and stderr; idempotent."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, QuietStream):
            setattr(sys, name, QuietStream(stream))


def exit_without_cleanup(code: int) -> NoReturn:
    """End this process: exit handlers first (Prefect's last logs, logging's flush), then no final
    clean-up, where DuckDB 2.0's bindings print pages of harmless "nanobind: leaked ..." lines that
    would bury a command's one-line result (`cps`, a served flow run's process, the gate's worker)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing more to say on it
            stream.flush()
    os._exit(code)
