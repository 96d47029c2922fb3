"""One benchmark measurement in its own process, so that its peak memory is its own.

    python -m tools.bench.worker IMPLEMENTATION --inbox DIR --catalog DIR --as-of DATE --result FILE.parquet

Writes the member levels to FILE.parquet and the timing to FILE.json (seconds of the work itself,
after imports; this process's own peak RSS). The platform is not run here: the benchmark runs
`cps nightly` itself, as an operator does (tools.bench.measure).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import date
from pathlib import Path
from typing import Any

IMPLEMENTATIONS = ("duckdb", "polars", "pandas")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.worker")
    parser.add_argument("implementation", choices=IMPLEMENTATIONS)
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--result", type=Path, required=True)
    return parser.parse_args(argv)


def own_peak_rss_bytes() -> int:
    """This process's peak resident memory since it started its program.

    Not getrusage's ru_maxrss: Linux carries that over an exec from the forked parent, so a child
    of a big parent would report the parent's size. VmHWM belongs to the program's own memory map.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def as_arrow(levels: object) -> Any:
    """An implementation's result (Arrow table, polars or pandas frame) as an Arrow table."""
    import pyarrow as pa

    if isinstance(levels, pa.Table):
        return levels
    if hasattr(levels, "to_arrow"):  # polars
        return levels.to_arrow()
    return pa.Table.from_pandas(levels, preserve_index=False)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import pyarrow.parquet as pq

    from tools.bench import duckdb_reference as bench_duckdb
    from tools.bench import pandas_reference as bench_pandas
    from tools.bench import polars_reference as bench_polars
    from tools.bench.inputs import RESULT_COLUMNS, BenchInputs

    inputs = BenchInputs(inbox=args.inbox, catalog=args.catalog, as_of=args.as_of)
    compute = {"duckdb": bench_duckdb, "polars": bench_polars, "pandas": bench_pandas}[args.implementation]
    started = time.perf_counter()
    levels = compute.member_levels(inputs)
    seconds = time.perf_counter() - started
    table = as_arrow(levels)
    pq.write_table(table.select(list(RESULT_COLUMNS)), args.result)
    args.result.with_suffix(".json").write_text(
        json.dumps(
            {
                "seconds": seconds,
                "self_peak_rss_bytes": own_peak_rss_bytes(),
            }
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
