"""Run one benchmark measurement in a child process; measure its wall time and peak memory.

Peak memory is the largest resident set of the child and everything it started (a Prefect server the
platform starts runs as a grandchild), sampled every 100 ms, or the child's own peak if larger.
Two kinds of child: a reference implementation (`tools.bench.worker`, which times its own work after
its imports) and the platform itself, `cps nightly` run as an operator runs it (timed whole, from outside).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
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
PLATFORM = "platform"
# The run summary's line "time per step: ingest 12.3s, dbt build 45.6s, ..."
STEP_TIMES_LINE = re.compile(r"^\s*time per step:\s*(?P<steps>.*)$", flags=re.MULTILINE)
STEP_TIME = re.compile(r"(?P<name>[^,]+?)\s+(?P<seconds>\d+(?:\.\d+)?)s\s*(?:,|$)")


@dataclass(frozen=True)
class Measurement:
    implementation: str
    members: int
    night: int
    seconds: float  # references: the work itself (after imports); the platform: the whole `cps nightly`
    process_seconds: float  # the whole child process, start-up and imports included
    peak_rss_bytes: int
    result: Path  # parquet of member_id, validated_points, level
    steps: dict[str, float] = field(default_factory=dict)
    run_results: Path | None = None  # the platform's dbt run_results.json of this night, if it wrote one

    def to_json(self) -> dict[str, object]:
        return {
            "implementation": self.implementation,
            "members": self.members,
            "night": self.night,
            "seconds": self.seconds,
            "process_seconds": self.process_seconds,
            "peak_rss_bytes": self.peak_rss_bytes,
            "result": str(self.result),
            "steps": self.steps,
            "run_results": str(self.run_results) if self.run_results else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> Measurement:
        return cls(
            implementation=data["implementation"],
            members=int(data["members"]),
            night=int(data["night"]),
            seconds=float(data["seconds"]),
            process_seconds=float(data["process_seconds"]),
            peak_rss_bytes=int(data["peak_rss_bytes"]),
            result=Path(data["result"]),
            steps={name: float(seconds) for name, seconds in data["steps"].items()},
            run_results=Path(data["run_results"]) if data.get("run_results") else None,
        )


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):  # it may end meanwhile
            total += member.memory_info().rss
    return total


def worker_environment() -> dict[str, str]:
    """The caller's environment without a Prefect API: the references do not use Prefect."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}


def platform_environment(prefect_home: Path, logs: Path) -> dict[str, str]:
    """The caller's environment, as an operator's: a running Prefect server (PREFECT_API_URL) is used if
    given, else `cps nightly` starts its own; Prefect's home and the run logs are the benchmark's."""
    return {**os.environ, "PREFECT_HOME": str(prefect_home), "CPS_LOGS": str(logs)}


@dataclass(frozen=True)
class ChildRun:
    exit_code: int
    wall_seconds: float
    peak_rss_bytes: int


def run_sampled(command: list[str], env: dict[str, str], log: Path) -> ChildRun:
    """Run `command` with its output in `log`; its wall time and the peak memory of its process tree."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as output:
        started = time.perf_counter()
        child = psutil.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
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
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    return ChildRun(code, wall, peak)


def failure_line(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    cps_lines = [line for line in lines if line.startswith("cps: ")]
    return (cps_lines or lines or ["no output"])[-1]


def measure(
    implementation: str,
    inputs: BenchInputs,
    members: int,
    night: int,
    result: Path,
    log: Path | None = None,
) -> Measurement:
    """Run `tools.bench.worker` for one reference implementation and night; raise CpsError if it fails."""
    command = [
        sys.executable, "-m", "tools.bench.worker", implementation,
        "--inbox", str(inputs.inbox), "--catalog", str(inputs.catalog),
        "--as-of", inputs.as_of.isoformat(), "--result", str(result),
    ]  # fmt: skip
    log = log or result.with_suffix(".log")
    run = run_sampled(command, worker_environment(), log)
    if run.exit_code != 0:
        raise CpsError(
            f"benchmark {implementation} (night {night}, {members:,} members) failed: {failure_line(log)} (see {log})"
        )
    timing = json.loads(result.with_suffix(".json").read_text(encoding="utf-8"))
    return Measurement(
        implementation=implementation,
        members=members,
        night=night,
        seconds=float(timing["seconds"]),
        process_seconds=run.wall_seconds,
        peak_rss_bytes=max(run.peak_rss_bytes, int(timing["self_peak_rss_bytes"])),
        result=result,
    )


def cps_command() -> list[str]:
    """The `cps` entry point of this environment, as an operator would type it."""
    beside = Path(sys.executable).parent / "cps"
    found = str(beside) if beside.is_file() else shutil.which("cps")
    return [found] if found else [sys.executable, "-c", "from pipelines.cli import main; main()"]


def step_seconds(output: str) -> dict[str, float]:
    """The steps' wall times from the run summary `cps nightly` prints (empty if it printed none)."""
    found = STEP_TIMES_LINE.findall(output)
    if not found:
        return {}
    return {match["name"].strip(): float(match["seconds"]) for match in STEP_TIME.finditer(found[-1])}


def measure_platform_night(
    inputs: BenchInputs,
    members: int,
    night: int,
    place: Path,
    result: Path,
    prefect_home: Path,
) -> Measurement:
    """One `cps nightly` as a subprocess on the warehouse under `place`; then its published levels read back.

    The time is the whole command, start-up included, as an operator waits for it.
    """
    from tools.bench.platform_night import platform_paths, published_member_levels_to

    paths = platform_paths(place)
    command = [
        *cps_command(), "nightly", "--as-of", inputs.as_of.isoformat(), "--allow-future",
        "--inbox", str(inputs.inbox), "--catalog", str(inputs.catalog),
        "--warehouse", str(paths.warehouse), "--reports", str(paths.reports),
    ]  # fmt: skip
    log = result.with_suffix(".log")
    run = run_sampled(command, platform_environment(prefect_home, paths.logs), log)
    if run.exit_code != 0:
        raise CpsError(
            f"benchmark: cps nightly (night {night}, {members:,} members) exited {run.exit_code}: "
            f"{failure_line(log)} (see {log})"
        )
    published_member_levels_to(paths.warehouse, result)
    run_results = result.with_name(result.stem + "_run_results.json")
    if paths.run_results.is_file():
        shutil.copyfile(paths.run_results, run_results)
    return Measurement(
        implementation=PLATFORM,
        members=members,
        night=night,
        seconds=run.wall_seconds,
        process_seconds=run.wall_seconds,
        peak_rss_bytes=run.peak_rss_bytes,
        result=result,
        steps=step_seconds(log.read_text(encoding="utf-8", errors="replace")),
        run_results=run_results if run_results.is_file() else None,
    )
