"""Run one benchmark worker in a child process; measure its wall time and peak memory.

Peak memory is the largest resident set of the child and everything it started (the platform's
Prefect server runs as a grandchild), sampled every 100 ms, or the child's own getrusage peak if larger.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from pipelines.core.errors import CpsError
from tools.bench.inputs import BenchInputs

SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class Measurement:
    implementation: str
    members: int
    night: int
    seconds: float  # the work itself, measured inside the child (after imports)
    process_seconds: float  # the whole child process, start-up and imports included
    peak_rss_bytes: int
    result: Path  # parquet of member_id, validated_points, level
    steps: dict[str, float] = field(default_factory=dict)


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):  # it may end meanwhile
            total += member.memory_info().rss
    return total


def worker_environment(prefect_home: Path | None) -> dict[str, str]:
    """The caller's environment without a Prefect API (the child runs its own); paths are passed explicitly."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}
    if prefect_home is not None:
        env["PREFECT_HOME"] = str(prefect_home)
    return env


def measure(
    implementation: str,
    inputs: BenchInputs,
    members: int,
    night: int,
    result: Path,
    size_dir: Path | None = None,
    prefect_home: Path | None = None,
    log: Path | None = None,
) -> Measurement:
    """Run `tools.bench.worker` for one implementation and night; raise CpsError if it fails."""
    command = [
        sys.executable, "-m", "tools.bench.worker", implementation,
        "--inbox", str(inputs.inbox), "--catalog", str(inputs.catalog),
        "--as-of", inputs.as_of.isoformat(), "--result", str(result),
    ]  # fmt: skip
    if size_dir is not None:
        command += ["--size-dir", str(size_dir)]
    if prefect_home is not None:
        command += ["--prefect-home", str(prefect_home)]
    result.parent.mkdir(parents=True, exist_ok=True)
    log = log or result.with_suffix(".log")
    with log.open("w", encoding="utf-8") as output:
        started = time.perf_counter()
        child = psutil.Popen(command, env=worker_environment(prefect_home), stdout=output, stderr=subprocess.STDOUT)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                try:
                    peak = max(peak, tree_rss(child))
                except psutil.NoSuchProcess:
                    return
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = child.wait()
        process_seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise CpsError(f"benchmark {implementation} (night {night}, {members:,} members) failed: {tail[0]} (see {log})")
    timing = json.loads(result.with_suffix(".json").read_text(encoding="utf-8"))
    return Measurement(
        implementation=implementation,
        members=members,
        night=night,
        seconds=float(timing["seconds"]),
        process_seconds=process_seconds,
        peak_rss_bytes=max(peak, int(timing["self_peak_rss_bytes"])),
        result=result,
        steps={name: float(seconds) for name, seconds in timing["steps"].items()},
    )
