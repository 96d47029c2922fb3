"""Benchmark of the quality gate: validating in the warehouse (GX SQL data source on DuckDB) against
loading the same tables into pandas and validating the data frames (GX pandas data source).

Only the column expectations can run on both; the custom SQL checks (joins, cycles, shares) exist only
on the SQL side, so the pandas figure is a lower bound of what a pandas gate would cost.
Run: uv run python -m tools.bench.quality_gate WAREHOUSE AS_OF
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import duckdb
import great_expectations as gx
import psutil

from pipelines.core.warehouse import connect
from pipelines.quality.gate import run_quality_gate
from pipelines.quality.gx import duckdb_datasource, groups_of, new_context, to_gx_expectation, validate_suites
from pipelines.quality.suites import UNEXPECTED_ROWS, SuiteSpec, load_suites

T = TypeVar("T")


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_rss_mb: float


@dataclass(frozen=True)
class QualityBenchmark:
    rows: dict[str, int]
    sql_gate: Measure
    sql_expectations: int
    sql_columns: Measure
    pandas_load: Measure
    pandas_validate: Measure
    pandas_expectations: int

    def render(self) -> str:
        rows = ", ".join(f"{table} {count:,}" for table, count in self.rows.items())
        return "\n".join(
            [
                f"tables validated: {rows}",
                f"SQL data source (whole gate, {self.sql_expectations} expectations incl. custom SQL): "
                f"{self.sql_gate.seconds:.1f} s, peak RSS {self.sql_gate.peak_rss_mb:.0f} MB",
                f"SQL data source, the same {self.pandas_expectations} column expectations as pandas: "
                f"{self.sql_columns.seconds:.1f} s, peak RSS {self.sql_columns.peak_rss_mb:.0f} MB",
                f"pandas: load tables {self.pandas_load.seconds:.1f} s, validate {self.pandas_expectations} "
                f"column expectations {self.pandas_validate.seconds:.1f} s, peak RSS "
                f"{max(self.pandas_load.peak_rss_mb, self.pandas_validate.peak_rss_mb):.0f} MB",
            ]
        )


def measured(step: Callable[[], T]) -> tuple[T, Measure]:
    """Run `step`, timing it and sampling this process' resident memory every 50 ms."""
    process = psutil.Process()
    peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        value = step()
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    return value, Measure(elapsed, max(peak, process.memory_info().rss) / 2**20)


def benchmark_quality(database: Path, as_of: date) -> QualityBenchmark:
    suites = load_suites(as_of)
    column_groups = [group for group in groups_of(suites) if not group.custom_sql]
    tables = list(dict.fromkeys(group.table for group in column_groups))
    with tempfile.TemporaryDirectory() as docs:
        gate, sql_measure = measured(lambda: run_quality_gate(database, as_of, Path(docs)))

    column_suites = [
        SuiteSpec(suite.name, suite.path, tuple(s for s in suite.expectations if s.type != UNEXPECTED_ROWS))
        for suite in suites
    ]

    def validate_in_sql() -> None:
        context = new_context()
        with duckdb_datasource(context, "bench", database) as datasource:
            validate_suites(context, datasource, column_suites)

    _, sql_columns_measure = measured(validate_in_sql)

    def load() -> dict:
        connection = connect(database, read_only=True)
        frames = {}
        try:
            for table in tables:
                try:
                    frames[table] = connection.execute(f"select * from {table}").df()
                except duckdb.CatalogException:
                    continue  # a model not built in this warehouse: nothing to compare
        finally:
            connection.close()
        return frames

    frames, load_measure = measured(load)

    def validate() -> int:
        context = new_context()
        datasource = context.data_sources.add_pandas("frames")
        count = 0
        for group in column_groups:
            if group.table not in frames:
                continue
            asset = datasource.add_dataframe_asset(name=group.gx_name)
            batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
                batch_parameters={"dataframe": frames[group.table]}
            )
            suite = gx.ExpectationSuite(name=group.gx_name, expectations=[to_gx_expectation(s) for s in group.specs])
            batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20})
            count += len(group.specs)
        return count

    pandas_count, validate_measure = measured(validate)
    return QualityBenchmark(
        rows={table: len(frame) for table, frame in frames.items()},
        sql_gate=sql_measure,
        sql_expectations=len(gate.outcomes),
        sql_columns=sql_columns_measure,
        pandas_load=load_measure,
        pandas_validate=validate_measure,
        pandas_expectations=pandas_count,
    )


if __name__ == "__main__":
    from pipelines.core.environment import apply_offline_environment

    apply_offline_environment()
    print(benchmark_quality(Path(sys.argv[1]), date.fromisoformat(sys.argv[2])).render())
