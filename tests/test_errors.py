"""The one-line reasons of file-system errors: they always name a path, and say what to do."""

from __future__ import annotations

import errno
from datetime import date
from pathlib import Path

import pytest

from pipelines.core.errors import CpsError, file_system_problem, naming_path
from pipelines.quality.results import GateResult, store_gate_result


def test_a_full_disk_mid_write_names_the_folder_being_written(tmp_path: Path) -> None:
    # A write that fills the disk raises ENOSPC from the write itself: the error names no file.
    with pytest.raises(OSError) as raised, naming_path(tmp_path / "reports"):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert raised.value.errno == errno.ENOSPC
    assert file_system_problem(raised.value).startswith(f"cannot write or read {tmp_path / 'reports'}: No space left")


def test_an_error_that_names_its_file_keeps_it(tmp_path: Path) -> None:
    with pytest.raises(OSError) as raised, naming_path(tmp_path):
        (tmp_path / "missing" / "page.html").write_text("x")
    assert raised.value.filename == str(tmp_path / "missing" / "page.html")


def test_results_that_cannot_be_stored_say_what_to_do(tmp_path: Path) -> None:
    # DuckDB's message says why (here: the file is not a database); the line adds where to look.
    database = tmp_path / "build" / "cps.duckdb"
    database.parent.mkdir()
    database.write_bytes(b"not a database" * 100)
    with pytest.raises(CpsError) as raised:
        store_gate_result(database, GateResult(date(2026, 11, 23), []))
    line = str(raised.value)
    assert line.startswith(f"quality gate: cannot store validation results in {database}: "), line
    assert line.endswith(f"check that {database.parent} is writable and has space, then run again"), line
    assert "\n" not in line
