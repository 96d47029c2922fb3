"""`cps bench`: the nightly run against pandas, polars and one hand-written DuckDB query, at several sizes.

For each member count: generate the inbox once (reused on later runs; not timed), then measure in
separate processes, on the same files and for the same night D, the DuckDB query, polars, pandas and
the platform's `cps nightly` on a fresh warehouse; then a second night (D+1) where about 1% of members
changed registrations, for the DuckDB query and the platform's incremental night. Every member's
validated_points and level must agree across all of them, or the benchmark fails.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import psutil

from pipelines.core.errors import CpsError
from pipelines.core.settings import Settings
from tools.bench.ingest_floor import ingest_floor_seconds
from tools.bench.inputs import BenchInputs
from tools.bench.measure import Measurement, measure
from tools.bench.touch import second_night_inbox

BENCH_SEED = 42
BENCH_AS_OF = date(2026, 11, 23)
REFERENCE = "duckdb"
FIRST_NIGHT = ("duckdb", "polars", "pandas", "platform")
SECOND_NIGHT = ("duckdb", "platform")
LABELS = {
    "duckdb": "DuckDB query (hand-written)",
    "polars": "polars (lazy)",
    "pandas": "pandas script",
    "platform": "platform: whole night",
}
OUTSIDE_STEPS = "outside the steps (Prefect start-up, summary)"
EXAMPLES_SHOWN = 5
SECTION_HEADING = "## Benchmark"
RESULTS_START, RESULTS_END = "<!-- bench results start -->", "<!-- bench results end -->"
MIB = 1024 * 1024


def progress(message: str) -> None:
    print(f"{datetime.now():%H:%M:%S} bench | {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Agreement:
    implementation: str
    night: int
    members_compared: int
    mismatches: int
    examples: list[str] = field(default_factory=list)


@dataclass
class SizeResult:
    members: int
    as_of: date
    touched_registrations: int = 0
    ingest_floor_seconds: float = 0.0
    measurements: list[Measurement] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)

    @property
    def disagreements(self) -> list[Agreement]:
        return [agreement for agreement in self.agreements if agreement.mismatches]


def catalogue_digest(catalog: Path) -> str:
    digest = hashlib.sha256()
    for name in ("products.csv", "service_centres.csv"):
        digest.update((catalog / name).read_bytes())
    return digest.hexdigest()


def prepare_inbox(size_dir: Path, members: int, catalog: Path) -> BenchInputs:
    """The generated inbox for this size, reused when it was made with the same size, seed, date and catalogue."""
    from tools.synthetic.generate import generate_inbox

    inbox, manifest_file = size_dir / "inbox", size_dir / "inbox.json"
    manifest = {
        "members": members,
        "seed": BENCH_SEED,
        "as_of": BENCH_AS_OF.isoformat(),
        "catalog_sha256": catalogue_digest(catalog),
    }
    if manifest_file.is_file() and json.loads(manifest_file.read_text(encoding="utf-8")) == manifest:
        progress(f"{members:,} members: reusing the inbox in {inbox}")
    else:
        progress(f"{members:,} members: generating the inbox in {inbox} (not timed)")
        manifest_file.unlink(missing_ok=True)
        shutil.rmtree(inbox, ignore_errors=True)
        generate_inbox(out=inbox, members=members, seed=BENCH_SEED, as_of=BENCH_AS_OF, catalog_dir=catalog)
        manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    return BenchInputs(inbox=inbox, catalog=catalog, as_of=BENCH_AS_OF)


def compare(reference: Measurement, other: Measurement) -> Agreement:
    """Members whose validated_points or level differ, or who are missing on one side."""
    connection = duckdb.connect()
    try:
        differing = f"""
            select member_id, r.validated_points as ref_points, r.level as ref_level,
                   o.validated_points as points, o.level as level
            from read_parquet('{reference.result}') as r
            full join read_parquet('{other.result}') as o using (member_id)
            where r.validated_points is distinct from o.validated_points or r.level is distinct from o.level
        """
        count = connection.execute(f"select count(*) from ({differing})").fetchone()[0]
        rows = connection.execute(f"{differing} order by member_id limit {EXAMPLES_SHOWN}").fetchall()
        compared = connection.execute(f"select count(*) from read_parquet('{other.result}')").fetchone()[0]
    finally:
        connection.close()
    examples = [
        f"{member}: {LABELS[REFERENCE]} {ref_points} {ref_level}, {other.implementation} {points} {level}"
        for member, ref_points, ref_level, points, level in rows
    ]
    return Agreement(other.implementation, other.night, int(compared), int(count), examples)


def run_size(members: int, workdir: Path, catalog: Path) -> SizeResult:
    size_dir = workdir / str(members)
    inputs = prepare_inbox(size_dir, members, catalog)
    results_dir = size_dir / "results"
    shutil.rmtree(results_dir, ignore_errors=True)
    for platform_output in ("warehouse", "reports"):  # night 1 runs on a fresh warehouse
        shutil.rmtree(size_dir / platform_output, ignore_errors=True)
    prefect_home = (workdir / "prefect").resolve()
    outcome = SizeResult(members=members, as_of=inputs.as_of)

    def run_night(night: int, night_inputs: BenchInputs, implementations: tuple[str, ...]) -> None:
        measured: dict[str, Measurement] = {}
        for implementation in implementations:
            progress(f"{members:,} members, night {night} ({night_inputs.as_of}): {LABELS[implementation]} ...")
            is_platform = implementation == "platform"
            measured[implementation] = measure(
                implementation,
                night_inputs,
                members,
                night,
                result=results_dir / f"night{night}_{implementation}.parquet",
                size_dir=size_dir.resolve() if is_platform else None,
                prefect_home=prefect_home if is_platform else None,
            )
            done = measured[implementation]
            progress(f"  {done.seconds:.1f} s, {done.peak_rss_bytes / MIB:,.0f} MiB")
        outcome.measurements.extend(measured.values())
        outcome.agreements.extend(
            compare(measured[REFERENCE], measured[name]) for name in implementations if name != REFERENCE
        )

    progress(f"{members:,} members: ingestion floor (inbox read and typed by DuckDB alone) ...")
    outcome.ingest_floor_seconds = ingest_floor_seconds(inputs.inbox)
    progress(f"  {outcome.ingest_floor_seconds:.1f} s")
    run_night(1, inputs, FIRST_NIGHT)
    night2_inputs, outcome.touched_registrations = second_night_inbox(inputs, size_dir / "inbox_night2")
    run_night(2, night2_inputs, SECOND_NIGHT)
    return outcome


def seconds_text(seconds: float) -> str:
    return f"{seconds:,.1f}" if seconds >= 1 else f"{seconds:.2f}"


def render_table(results: list[SizeResult]) -> str:
    lines = [
        "| members | night | implementation | time (s) | peak memory (MiB) | × DuckDB query |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for result in results:
        for night in sorted({m.night for m in result.measurements}):
            tonight = [m for m in result.measurements if m.night == night]
            floor = next(m.seconds for m in tonight if m.implementation == REFERENCE)
            for m in tonight:
                lines.append(
                    f"| {result.members:,} | {night} | {LABELS[m.implementation]} | {seconds_text(m.seconds)} "
                    f"| {m.peak_rss_bytes / MIB:,.0f} | {m.seconds / floor:,.1f} |"
                )
                parts = dict(m.steps)
                if parts:  # the rest: Prefect start-up (API server, flow run), the run summary
                    parts[OUTSIDE_STEPS] = max(0.0, m.seconds - sum(parts.values()))
                for step, seconds in parts.items():
                    lines.append(
                        f"| {result.members:,} | {night} | · {step} | {seconds_text(seconds)} | "
                        f"| {seconds / floor:,.1f} |"
                    )
    return "\n".join(lines)


def render_ingest_floor(result: SizeResult) -> str:
    """The ingestion floor beside the platform's ingest step of night 1."""
    platform_ingest = next(
        (m.steps.get("ingest") for m in result.measurements if m.implementation == "platform" and m.night == 1), None
    )
    beside = f"; the platform's ingest step (night 1): {seconds_text(platform_ingest)} s" if platform_ingest else ""
    return (
        f"Ingestion floor (inbox read and typed by DuckDB alone, no checks): "
        f"{seconds_text(result.ingest_floor_seconds)} s{beside}."
    )


def render_agreement(result: SizeResult) -> str:
    lines = []
    for night in (1, 2):
        checks = [a for a in result.agreements if a.night == night]
        if not checks:
            continue
        if all(not a.mismatches for a in checks):
            names = ", ".join(a.implementation for a in checks)
            verb = "agrees" if len(checks) == 1 else "agree"
            lines.append(
                f"Night {night}: {names} {verb} with the DuckDB query on every member's validated_points and level "
                f"({checks[0].members_compared:,} members)."
            )
        for agreement in checks:
            if agreement.mismatches:
                lines.append(
                    f"Night {night}: {agreement.implementation} DISAGREES with the DuckDB query on "
                    f"{agreement.mismatches:,} members, e.g. " + "; ".join(agreement.examples)
                )
    return "\n".join(lines)


def machine_text() -> str:
    import pandas
    import polars

    return (
        f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 1024**3:.0f} GiB, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"polars {polars.__version__}, pandas {pandas.__version__}"
    )


def render_size_block(result: SizeResult) -> str:
    from datetime import timedelta

    next_day = result.as_of + timedelta(days=1)
    return "\n".join(
        [
            f"<!-- bench:{result.members} -->",
            f"### {result.members:,} members",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine_text()}. Night 1: as of "
            f"{result.as_of}, fresh warehouse. Night 2: as of {next_day}, the same warehouse, plus one batch "
            f"with new versions of {result.touched_registrations:,} registrations (about 1% of members). "
            f"dbt models and tests as Prefect tasks: {'on' if Settings().dbt_node_tasks else 'off'} "
            "(CPS_DBT_NODE_TASKS).",
            "",
            render_table([result]),
            "",
            render_ingest_floor(result),
            "",
            render_agreement(result),
            f"<!-- /bench:{result.members} -->",
        ]
    )


def merge_into_markdown(path: Path, results: list[SizeResult]) -> None:
    """Replace this run's sizes in the Benchmark section's results (other sizes stay), sorted by size."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if RESULTS_START not in text:
        block = f"{RESULTS_START}\n{RESULTS_END}"
        heading = re.search(rf"^{re.escape(SECTION_HEADING)}\s*$", text, flags=re.MULTILINE)
        if heading is None:
            text = text.rstrip("\n") + f"\n\n{SECTION_HEADING}\n\n{block}\n"
        else:
            following = re.search(r"^## ", text[heading.end() :], flags=re.MULTILINE)
            at = heading.end() + following.start() if following else len(text)
            text = text[:at].rstrip("\n") + f"\n\n{block}\n\n" + text[at:].lstrip("\n")
    before, rest = text.split(RESULTS_START, 1)
    inside, after = rest.split(RESULTS_END, 1)
    blocks = {
        int(size): match
        for match, size in re.findall(r"(<!-- bench:(\d+) -->.*?<!-- /bench:\2 -->)", inside, flags=re.DOTALL)
    }
    blocks.update({result.members: render_size_block(result) for result in results})
    body = "\n\n".join(blocks[size] for size in sorted(blocks))
    path.write_text(f"{before}{RESULTS_START}\n{body}\n{RESULTS_END}{after}", encoding="utf-8")


def run_benchmarks(member_counts: list[int], workdir: Path, output: Path | None, catalog: Path | None = None) -> str:
    """Measure every size; return the printed table; fail (CpsError) if the implementations disagree."""
    if not member_counts or min(member_counts) < 1:
        raise CpsError("--sizes needs positive member counts, e.g. 10000,100000")
    catalog = catalog or Settings().catalog
    for name in ("products.csv", "service_centres.csv"):
        if not (catalog / name).is_file():
            raise CpsError(f"catalogue file not found: {catalog / name} (set CPS_CATALOG)")
    results = [run_size(members, workdir, catalog) for members in member_counts]
    report = "\n\n".join(
        [
            render_table(results),
            *(render_ingest_floor(result) for result in results),
            *(render_agreement(result) for result in results),
        ]
    )
    disagreements = [a for result in results for a in result.disagreements]
    if disagreements:
        print(report, file=sys.stderr)
        worst = disagreements[0]
        raise CpsError(
            f"benchmark implementations disagree: {worst.implementation} on {worst.mismatches:,} members "
            f"(night {worst.night}), e.g. {worst.examples[0] if worst.examples else '?'}"
        )
    if output is not None:
        merge_into_markdown(output, results)
    return report
