"""Change records: every version of a chunk's records, with the arrival day each version comes in."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tools.synthetic.common import TimeFrame, timestamps


class VersionLog:
    """First versions of a chunk's records, then later versions (a changed subset with a later updated_at).

    A later version never arrives before the version it replaces: its arrival wave is at least that one's.
    """

    def __init__(self, first: pa.Table, stamps: np.ndarray, frame: TimeFrame) -> None:
        self._frame = frame
        self._parts: list[pa.Table] = [first]
        self._waves: list[np.ndarray] = [frame.wave_of(stamps)]
        self._size = first.num_rows
        self.latest_position = np.arange(first.num_rows)  # record -> row of its newest version
        self.latest_stamp = stamps.copy()

    def change(self, records: np.ndarray, stamps: np.ndarray, columns: dict[str, pa.Array]) -> None:
        """New versions of `records` (indices) stamped `stamps`, with `columns` replaced."""
        if records.size == 0:
            return
        if np.any(stamps <= self.latest_stamp[records]):
            raise ValueError("a new version must be stamped after the version it replaces")
        table = pa.concat_tables(self._parts) if len(self._parts) > 1 else self._parts[0]
        new = table.take(pa.array(self.latest_position[records]))
        for name, values in {**columns, "updated_at": timestamps(stamps)}.items():
            new = new.set_column(new.schema.get_field_index(name), name, values)
        previous_wave = np.concatenate(self._waves)[self.latest_position[records]]
        self._parts.append(new)
        self._waves.append(np.maximum(self._frame.wave_of(stamps), previous_wave))
        self.latest_position[records] = self._size + np.arange(records.size)
        self.latest_stamp[records] = stamps
        self._size += records.size

    @property
    def record_count(self) -> int:
        return self.latest_position.size

    def table(self) -> pa.Table:
        return pa.concat_tables(self._parts).combine_chunks()

    def waves(self) -> np.ndarray:
        return np.concatenate(self._waves)
