"""A large file (the night's warehouse) is copied in pieces side by side, byte for byte; a cache file is
written beside its target and renamed into place."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from pipelines.core import files
from pipelines.core.files import copy_large_file

PIECE = 1024 * 1024


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three and a half pieces of random bytes (pieces made small for the test)."""
    monkeypatch.setattr(files, "COPY_PIECE_BYTES", PIECE)
    path = tmp_path / "cps.duckdb"
    path.write_bytes(random.Random(7).randbytes(3 * PIECE + PIECE // 2))
    return path


def test_every_piece_is_copied_and_a_longer_file_there_is_replaced(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "build" / "cps.duckdb"
    target.parent.mkdir()
    target.write_bytes(b"x" * (5 * PIECE))  # an earlier, longer file under the name
    starts: list[int] = []
    kernel_copy = os.copy_file_range

    def recorded(reader: int, writer: int, count: int, offset_src: int, offset_dst: int) -> int:
        starts.append(offset_src)
        return kernel_copy(reader, writer, count, offset_src, offset_dst)

    monkeypatch.setattr(os, "copy_file_range", recorded)

    copy_large_file(source, target)

    assert target.read_bytes() == source.read_bytes()
    assert {0, PIECE, 2 * PIECE, 3 * PIECE} <= set(starts)  # copied piece by piece


def test_without_the_kernels_copy_the_plain_copy_is_made(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(*_: object) -> int:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", unsupported)
    target = tmp_path / "copy.duckdb"

    copy_large_file(source, target)

    assert target.read_bytes() == source.read_bytes()


def test_a_small_file_is_copied_whole(tmp_path: Path) -> None:
    source, target = tmp_path / "small.duckdb", tmp_path / "copy.duckdb"
    source.write_bytes(b"a few bytes")
    copy_large_file(source, target)
    assert target.read_bytes() == b"a few bytes"


def test_a_file_written_beside_replaces_the_target_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "cache.bin"
    target.write_bytes(b"old")
    files.write_beside_then_rename(target, lambda partial: partial.write_bytes(b"new"))
    assert target.read_bytes() == b"new"

    def fails(partial: Path) -> None:
        partial.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        files.write_beside_then_rename(target, fails)
    assert target.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["cache.bin"]
