"""The operator's console: third-party noise is filtered out line by line, and kept in the run log."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from pipelines.core.runlog import (
    PROGRESS,
    ProgressHandler,
    QuietStream,
    current_run_log,
    show_progress,
    start_run_log,
    stop_run_log,
    with_log_hint,
)


def test_noise_is_dropped_and_everything_else_passes_whole_lines() -> None:
    target = io.StringIO()
    stream = QuietStream(target)
    for chunk in (
        "15:03:01 ingest members/a.csv loaded",
        ": 3 rows\nnanobind: leaked 12 instances!\n - leaked instance 0x1 of type ",
        '"duckdb.DuckDBPyConnection"\n - ... skipped remainder\nnanobind: this is likely a bug\n',
        "--- Error logging to API ---\n",
        "Client error '409 Conflict' for url 'http://127.0.0.1:1/api/logs/'\n",
        "cps: the warehouse is busy\n",
        "no newline yet",
    ):
        stream.write(chunk)
        stream.flush()
    assert (
        target.getvalue() == "15:03:01 ingest members/a.csv loaded: 3 rows\ncps: the warehouse is busy\nno newline yet"
    )


def test_a_partial_line_that_may_be_noise_waits_for_its_end() -> None:
    target = io.StringIO()
    stream = QuietStream(target)
    stream.write("nano")
    stream.flush()
    assert target.getvalue() == ""
    stream.write("second\n")
    assert target.getvalue() == "nanosecond\n"


def test_run_log_collects_detail_and_is_named_in_errors(tmp_path: Path) -> None:
    try:
        path = start_run_log("nightly", tmp_path / "logs")
        assert current_run_log() == path.resolve()
        assert start_run_log("nightly", tmp_path / "logs") == path, "one log per run"
        logging.getLogger("prefect.flow_runs").warning("a flow run's message")
        logging.getLogger("cps.detail").error("boom", exc_info=ValueError("why"))
        assert with_log_hint("cps failed").endswith(f"(details: {path.resolve()})")
    finally:
        stop_run_log()
    text = path.read_text(encoding="utf-8")
    assert "a flow run's message" in text and "ValueError: why" in text
    assert path.name.startswith("nightly_") and path.suffix == ".log"
    assert current_run_log() is None and with_log_hint("x") == "x"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("mode", "stderr", "shown"),
    [
        ("auto", Terminal(), True),  # an operator watching
        ("auto", io.StringIO(), False),  # captured by a scheduler or a script: the result alone
        ("always", io.StringIO(), True),
        ("never", Terminal(), False),
    ],
)
def test_progress_reaches_stderr_at_a_terminal_or_when_asked_and_the_run_log_always(
    mode: str, stderr: io.StringIO, shown: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stderr", stderr)
    handlers = list(PROGRESS.handlers)
    monkeypatch.setattr(PROGRESS, "handlers", [h for h in handlers if not isinstance(h, ProgressHandler)])
    try:
        path = start_run_log("nightly", tmp_path / "logs")
        show_progress(mode)
        PROGRESS.info("ingest members/a.csv loaded: 3 rows")
    finally:
        stop_run_log()
    assert any(isinstance(handler, ProgressHandler) for handler in PROGRESS.handlers) is shown
    assert ("ingest members/a.csv loaded: 3 rows" in stderr.getvalue()) is shown
    assert "ingest members/a.csv loaded: 3 rows" in path.read_text(encoding="utf-8")
