"""The machine a benchmark ran on, named in its report: hardware, system, versions, load."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

VERSIONS = (
    ("DuckDB", "duckdb"),
    ("dbt-core", "dbt-core"),
    ("dbt-duckdb", "dbt-duckdb"),
    ("Prefect", "prefect"),
    ("Great Expectations", "great-expectations"),
    ("pandas", "pandas"),
    ("polars", "polars"),
)


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def operating_system() -> str:
    release = Path("/etc/os-release")
    if release.is_file():
        for line in release.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip().strip(chr(34))}, kernel {platform.release()}"
    return f"{platform.system()} {platform.release()}"


def package_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    """The 1, 5 and 15-minute load averages (runnable processes; 2 on 2 busy cores)."""
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def machine_text() -> str:
    """One line naming the machine: cores, memory, CPU model, OS, Python and the versions that matter."""
    versions = ", ".join(f"{label} {package_version(name)}" for label, name in VERSIONS)
    return (
        f"{psutil.cpu_count(logical=True)} cores ({psutil.cpu_count(logical=False) or '?'} physical), "
        f"{psutil.virtual_memory().total / 1024**3:.1f} GiB memory, {cpu_model()}, {operating_system()}, "
        f"{platform.machine()}, Python {platform.python_version()}, {versions}"
    )
