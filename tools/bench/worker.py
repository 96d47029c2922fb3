"""One benchmark measurement in its own process, so that its peak memory is its own.

    python -m tools.bench.worker IMPLEMENTATION --inbox DIR --catalog DIR --as-of DATE
        --result FILE.parquet [--size-dir DIR] [--prefect-home DIR]

Writes the member levels to FILE.parquet and the timing to FILE.json (seconds of the work itself,
after imports; seconds per step for the platform; this process's own peak RSS).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import date
from pathlib import Path
from typing import Any

IMPLEMENTATIONS = ("duckdb", "polars", "pandas", "platform")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.worker")
    parser.add_argument("implementation", choices=IMPLEMENTATIONS)
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--size-dir", type=Path, help="platform only: where its warehouse and reports go")
    parser.add_argument("--prefect-home", type=Path, help="platform only: Prefect's home for this run")
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
    from pipelines.core.environment import apply_offline_environment

    apply_offline_environment(args.prefect_home)  # before anything imports Prefect

    import pyarrow.parquet as pq

    from tools.bench.inputs import RESULT_COLUMNS, BenchInputs

    inputs = BenchInputs(inbox=args.inbox, catalog=args.catalog, as_of=args.as_of)
    steps: dict[str, float] = {}
    if args.implementation == "platform":
        from pipelines.flows.prefect_api import prepare_nightly_process
        from tools.bench.platform_night import platform_settings, published_member_levels, run_platform_night

        settings = platform_settings(inputs, args.size_dir)
        started = time.perf_counter()
        prepare_nightly_process()  # as `cps nightly` does; timed, it is part of the night
        steps = run_platform_night(settings)
        seconds = time.perf_counter() - started
        table = published_member_levels(settings)
    else:
        from tools.bench import duckdb_reference as bench_duckdb
        from tools.bench import pandas_reference as bench_pandas
        from tools.bench import polars_reference as bench_polars

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
                "steps": steps,
                "self_peak_rss_bytes": own_peak_rss_bytes(),
            }
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
