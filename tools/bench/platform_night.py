"""The platform as the benchmark runs it: one `cps nightly` for the night, then dim_members read back."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from pipelines.core.settings import Settings
from pipelines.core.warehouse import connect
from tools.bench.inputs import RESULT_COLUMNS, BenchInputs


def platform_settings(inputs: BenchInputs, size_dir: Path) -> Settings:
    """The warehouse and reports of one benchmark size live next to its inbox."""
    return Settings(
        inbox=inputs.inbox,
        catalog=inputs.catalog,
        warehouse=size_dir / "warehouse" / "cps.duckdb",
        reports=size_dir / "reports",
        logs=size_dir / "logs",
        as_of=inputs.as_of,
    )


def run_platform_night(settings: Settings) -> dict[str, float]:
    """Run the nightly flow (ingest, dbt build, quality gate, publish, reports); seconds per step."""
    from pipelines.flows.nightly import run_nightly

    return dict(run_nightly(settings).step_seconds)


def published_member_levels(settings: Settings) -> pa.Table:
    connection = connect(settings.warehouse, read_only=True)
    try:
        return connection.sql(f"select {', '.join(RESULT_COLUMNS)} from marts.dim_members").to_arrow_table()
    finally:
        connection.close()
