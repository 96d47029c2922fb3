"""Errors an operator can act on: printed as one line, never as a traceback.

Each kind carries the exit code `cps` ends with, so that a scheduler can tell them apart:
0 published, 1 a step failed, 2 wrong usage, 3 a check of error severity failed, 65 input rejected,
75 another run holds the warehouse (try again later); 130 after Ctrl-C, 143 after SIGTERM (see cli.main).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class CpsError(Exception):
    """A failure with a one-line reason for the operator; a step failed (exit 1)."""

    exit_code = 1


class UsageError(CpsError):
    """Wrong usage: a bad option, a bad or future date, a missing folder; found before any work starts."""

    exit_code = 2


class QualityGateFailed(CpsError):
    """A check of error severity failed (dbt test or Great Expectations); the previous night stays published."""

    exit_code = 3


class InputRejected(CpsError):
    """An input file or the catalogue was rejected at ingestion; nothing of the night is published."""

    exit_code = 65


class WarehouseBusy(CpsError):
    """Another run holds the warehouse lock; try again later."""

    exit_code = 75


def warehouse_unreadable(warehouse: Path, error: Exception) -> CpsError:
    """The one-line error for a warehouse DuckDB could not open because another process has it open for
    writing (DuckDB's lock). Exit 75 (try again later) is kept for another run: a `cps nightly` holding
    the file (one started with another lock file). Any other holder, e.g. an analyst's read-write
    session, is a failed step (exit 1) whose line names the program and its PID to close."""
    message = str(error)
    held = re.search(r"Conflicting lock is held in (\S+) \(PID (\d+)\)", message)
    if held or "Could not set lock" in message:
        pid = int(held.group(2)) if held else None
        holder = f"{Path(held.group(1)).name}, PID {pid}" if held else "another process"
        if pid is not None and is_nightly_run(pid):
            return WarehouseBusy(
                f"the warehouse {warehouse} is being built by another nightly run ({holder}); try again later"
            )
        return CpsError(
            f"the warehouse {warehouse} is open for writing in another process ({holder}); close that "
            "session (analysts open the warehouse read-only) and run again"
        )
    return CpsError(f"cannot read the warehouse {warehouse}: {first_line(error)}")


def first_line(error: BaseException) -> str:
    """The first line of a library's message (DuckDB's run on), for a one-line error."""
    message = str(error)
    return message.splitlines()[0] if message.strip() else repr(error)


def is_nightly_run(pid: int) -> bool:
    """Whether process `pid` is a `cps nightly` (its command line, where the system shows it)."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    names = [Path(argument.decode(errors="replace")).name for argument in arguments if argument]
    return "nightly" in names and any(name == "cps" or "pipelines" in name for name in names)


def file_system_problem(error: OSError) -> str:
    """One line for a file-system error, naming the path (read-only folder, full disk, missing parent)."""
    path = error.filename if error.filename is not None else "a file"
    reason = error.strerror or str(error)
    return f"cannot write or read {path}: {reason}; check that the folder exists, is writable and has space"


@contextmanager
def naming_path(path: Path) -> Iterator[None]:
    """Re-raise an OSError that names no file (a disk that fills during a write) naming `path`, the
    folder being written, so that its one line says where."""
    try:
        yield
    except OSError as error:
        if error.filename is not None:
            raise
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error
