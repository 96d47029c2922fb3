"""Where the benchmark's platform nights keep their warehouse, reports and logs, and reading a night back."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.core.warehouse import connect
from tools.bench.inputs import RESULT_COLUMNS

# Not copied with a warehouse snapshot: a night's build copy only exists while it runs.
TRANSIENT = (".build",)


@dataclass(frozen=True)
class PlatformPaths:
    """One platform 'installation': its warehouse folder (with dbt's target), reports and logs."""

    place: Path

    @property
    def warehouse(self) -> Path:
        return self.place / "warehouse" / "cps.duckdb"

    @property
    def reports(self) -> Path:
        return self.place / "reports"

    @property
    def logs(self) -> Path:
        return self.place / "logs"

    @property
    def run_results(self) -> Path:
        """dbt's run_results.json of the last night (Settings.dbt_artifacts_dir / target)."""
        return self.warehouse.parent / ".dbt" / "target" / "run_results.json"


def platform_paths(place: Path) -> PlatformPaths:
    return PlatformPaths(place.resolve())


def published_member_levels_to(warehouse: Path, result: Path) -> None:
    """The published dim_members' points and level, written to `result` (parquet)."""
    connection = connect(warehouse, read_only=True)
    try:
        table = connection.sql(f"select {', '.join(RESULT_COLUMNS)} from marts.dim_members").to_arrow_table()
    finally:
        connection.close()
    result.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, result)


def copy_installation(source: Path, target: Path) -> None:
    """Replace `target` by a copy of the installation at `source` (warehouse folder and reports)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for part in ("warehouse", "reports"):
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, ignore=shutil.ignore_patterns(*TRANSIENT), symlinks=True)
