"""Safe publishing primitives: the lock, the build copy and the atomic swap, on real DuckDB files."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from pipelines.core.errors import CpsError, WarehouseBusy
from pipelines.core.warehouse import connect
from pipelines.publishing.publish import (
    check_readable,
    prepare_build_copy,
    publish_build,
    warehouse_lock,
    write_to_disk_in_background,
)


def write_night(path: Path, night: str) -> None:
    connection = connect(path)
    connection.execute("create schema if not exists marts")
    connection.execute("create or replace table marts.nights as select ?::varchar as night", [night])
    connection.close()


def read_night(path: Path) -> str:
    connection = connect(path, read_only=True)
    try:
        return connection.execute("select night from marts.nights").fetchone()[0]
    finally:
        connection.close()


def test_first_night_builds_from_nothing_and_publishes(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh" / "cps.duckdb"
    build = prepare_build_copy(warehouse, tmp_path / "wh" / ".build")
    assert build.name == warehouse.name and not build.exists()
    write_night(build, "2026-11-01")
    publish_build(build, warehouse)
    assert read_night(warehouse) == "2026-11-01"
    assert not (tmp_path / "wh" / ".build").exists()


def test_build_copy_leaves_published_night_readable_until_the_swap(tmp_path: Path) -> None:
    warehouse = tmp_path / "cps.duckdb"
    write_night(warehouse, "night-1")
    build = prepare_build_copy(warehouse, tmp_path / ".build")
    assert read_night(build) == "night-1"
    write_night(build, "night-2")
    # An analyst holding a read-only connection keeps reading the last good night meanwhile.
    analyst = connect(warehouse, read_only=True)
    assert analyst.execute("select night from marts.nights").fetchone()[0] == "night-1"
    publish_build(build, warehouse)
    assert analyst.execute("select night from marts.nights").fetchone()[0] == "night-1"
    analyst.close()
    assert read_night(warehouse) == "night-2"


def test_the_copy_goes_to_disk_in_the_background_and_a_vanished_file_is_no_error(tmp_path: Path) -> None:
    # The head start fsyncs the copy beside the night: it must end on its own, also when the build
    # folder was discarded meanwhile (a failed night), and never touch the file's content.
    copy = tmp_path / "cps.duckdb"
    write_night(copy, "2026-11-01")
    before = copy.read_bytes()
    for path in (copy, tmp_path / "gone.duckdb"):
        thread = write_to_disk_in_background(path)
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert copy.read_bytes() == before and read_night(copy) == "2026-11-01"


def test_leftovers_of_an_interrupted_run_are_discarded(tmp_path: Path) -> None:
    warehouse = tmp_path / "cps.duckdb"
    write_night(warehouse, "good")
    build_dir = tmp_path / ".build"
    half_built = prepare_build_copy(warehouse, build_dir)
    write_night(half_built, "half-built")
    (build_dir / "stray.tmp").write_text("left by a killed run")
    again = prepare_build_copy(warehouse, build_dir)
    assert read_night(again) == "good"
    assert not (build_dir / "stray.tmp").exists()
    assert read_night(warehouse) == "good"


def test_unreadable_warehouse_is_a_one_line_error(tmp_path: Path) -> None:
    warehouse = tmp_path / "cps.duckdb"
    warehouse.write_bytes(b"this is not a duckdb file" * 100)
    with pytest.raises(CpsError, match="cannot read the warehouse"):
        check_readable(warehouse)


def hold_lock(lock_file: str, seconds: float, ready: multiprocessing.Event) -> None:
    with warehouse_lock(Path(lock_file)):
        ready.set()
        time.sleep(seconds)


def test_second_run_stops_with_a_clear_message_or_waits(tmp_path: Path) -> None:
    lock_file = tmp_path / "cps.duckdb.lock"
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=hold_lock, args=(str(lock_file), 3.0, ready))
    holder.start()
    try:
        assert ready.wait(30)
        with (
            pytest.raises(WarehouseBusy, match="another nightly run is using this warehouse \\(pid") as busy,
            warehouse_lock(lock_file, wait_seconds=0),
        ):
            pass
        assert busy.value.exit_code == 75
        started = time.monotonic()
        with warehouse_lock(lock_file, wait_seconds=30):
            waited = time.monotonic() - started
        assert waited > 0.5
    finally:
        holder.join(30)
