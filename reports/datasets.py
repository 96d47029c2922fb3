"""The CSV behind every chart and table of a night, in the night folder's data/ subfolder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reports.exports import write_safe_csv


@dataclass
class DataFolder:
    night_dir: Path
    written: dict[str, str] = field(default_factory=dict)

    def save(self, name: str, frame: pd.DataFrame, description: str) -> str:
        """Writes data/<name>.csv and returns its path relative to the night folder (for links)."""
        relative = f"data/{name}.csv"
        write_safe_csv(frame, self.night_dir / relative)
        self.written[relative] = description
        return relative
