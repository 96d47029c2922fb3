"""The one-line reasons of file-system errors: they always name a path."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from pipelines.core.errors import file_system_problem, naming_path


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
