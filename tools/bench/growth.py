"""The growth run: consecutive nights at one size; the last night must cost about what the second does.

Night 1 is as of D on an empty warehouse; night k is D+k-1, with about 1% of members changed by a
batch stamped that day (tools.bench.touch: each night's inbox is the previous one plus one batch).
Before night 2 and before the last night, the warehouse (with dbt's target folder) and the reports
are copied aside; after the consecutive run, each of the two nights is run again from its copy
until it has `repeats` runs (the consecutive run is the first), alternating the two so that a
drift of the shared machine's speed hits both alike. The medians are compared, and dbt's
per-node times (run_results.json) of the two nights side by side, to find what grows with nights.
The state is kept in WORKDIR/growth-SIZE/state.json, so an interrupted run resumes (--resume).
"""

from __future__ import annotations

import json
import shutil
import statistics
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.transformation.dbt_schedule import node_seconds
from tools.bench.inputs import BenchInputs
from tools.bench.measure import Measurement, measure, measure_platform_night
from tools.bench.platform_night import copy_installation
from tools.bench.run import (
    MIB,
    REFERENCE,
    Agreement,
    Target,
    compare,
    prepare_inbox,
    progress,
    render_agreement,
    seconds_text,
)
from tools.bench.touch import second_night_inbox

GROWTH_MAX_FACTOR = 1.2  # the last night at most this many times the second (median of the runs)
NODE_GROWTH_SHARE = 0.20  # a dbt node that grew by more than this share ...
NODE_GROWTH_SECONDS = 1.0  # ... and by more than this many seconds is flagged
NODE_SHOWN_SECONDS = 0.5  # models faster than this on both nights are summed in one line
SEQUENCE_STEPS = ("ingest", "dbt build", "quality gate")


@dataclass
class GrowthResult:
    members: int
    nights: int
    as_of: date  # night 1's date
    sequence: list[Measurement] = field(default_factory=list)  # one run of each night, in order
    reruns: list[Measurement] = field(default_factory=list)  # nights 2 and the last, again from their copies
    touched: list[int] = field(default_factory=list)  # registrations in each night's batch (nights 2..)
    agreements: list[Agreement] = field(default_factory=list)

    def runs(self, night: int) -> list[Measurement]:
        return [m for m in [*self.sequence, *self.reruns] if m.night == night]


def state_payload(result: GrowthResult, manifest: dict[str, object]) -> dict[str, object]:
    return {
        "manifest": manifest,
        "sequence": [m.to_json() for m in result.sequence],
        "reruns": [m.to_json() for m in result.reruns],
        "touched": result.touched,
        "agreements": [vars(a) for a in result.agreements],
    }


def night_inputs(base: BenchInputs, nights: int, inbox_root: Path) -> tuple[list[BenchInputs], list[int]]:
    """Each night's inputs: night 1 the generated inbox, every later night the previous one plus a batch."""
    inputs, touched = [base], []
    for night in range(2, nights + 1):
        next_inputs, rows = second_night_inbox(inputs[-1], inbox_root / f"night{night:02d}")
        inputs.append(next_inputs)
        touched.append(rows)
    return inputs, touched


def run_growth(members: int, nights: int, workdir: Path, catalog: Path, repeats: int, resume: bool) -> GrowthResult:
    growth_dir = workdir / f"growth-{members}"
    base = prepare_inbox(workdir / str(members), members, catalog)
    manifest = {
        "inbox": json.loads((workdir / str(members) / "inbox.json").read_text(encoding="utf-8")),
        "nights": nights,
    }
    progress(f"growth run, {members:,} members: the inboxes of nights 2-{nights} (reused when already made) ...")
    inputs, touched = night_inputs(base, nights, growth_dir / "inbox")
    result = GrowthResult(members=members, nights=nights, as_of=base.as_of, touched=touched)
    state_file, live, results_dir = growth_dir / "state.json", growth_dir / "live", growth_dir / "results"
    state = json.loads(state_file.read_text(encoding="utf-8")) if resume and state_file.is_file() else {}
    if state.get("manifest") == manifest and (live / "warehouse").is_dir():
        result.sequence = [Measurement.from_json(m) for m in state["sequence"]]
        result.reruns = [Measurement.from_json(m) for m in state["reruns"]]
        result.agreements = [Agreement(**a) for a in state["agreements"]]
        progress(f"  resuming after {len(result.sequence)} nights and {len(result.reruns)} repeated runs")
    else:
        for stale in (live, results_dir, *growth_dir.glob("before-night*"), growth_dir / "rerun"):
            shutil.rmtree(stale, ignore_errors=True)
    prefect_home = (workdir / "prefect").resolve()
    compared = {night: inputs[night - 1] for night in (2, nights)}

    def save() -> None:
        state_file.write_text(json.dumps(state_payload(result, manifest), indent=1), encoding="utf-8")

    for night in range(len(result.sequence) + 1, nights + 1):
        if night in compared:
            copy_installation(live, growth_dir / f"before-night{night:02d}")
        progress(f"growth run, {members:,} members: night {night} of {nights} ({inputs[night - 1].as_of}) ...")
        result_file = results_dir / f"night{night:02d}_run1_platform.parquet"
        done = measure_platform_night(inputs[night - 1], members, night, live, result_file, prefect_home)
        progress(f"  {done.seconds:.1f} s, {done.peak_rss_bytes / MIB:,.0f} MiB")
        result.sequence.append(done)
        if night in compared:
            query = measure(
                REFERENCE, inputs[night - 1], members, night, results_dir / f"night{night:02d}_duckdb.parquet"
            )
            result.agreements.append(compare(query, done))
        save()
    for run in range(2, repeats + 1):
        for night in compared:
            if len(result.runs(night)) >= run:
                continue
            progress(f"growth run, {members:,} members: night {night} again from its copy (run {run} of {repeats}) ...")
            scratch = growth_dir / "rerun"
            copy_installation(growth_dir / f"before-night{night:02d}", scratch)
            result_file = results_dir / f"night{night:02d}_run{run}_platform.parquet"
            done = measure_platform_night(inputs[night - 1], members, night, scratch, result_file, prefect_home)
            progress(f"  {done.seconds:.1f} s, {done.peak_rss_bytes / MIB:,.0f} MiB")
            result.reruns.append(done)
            save()
    shutil.rmtree(growth_dir / "rerun", ignore_errors=True)
    return result


def median_node_seconds(runs: list[Measurement]) -> dict[str, float]:
    per_run = [node_seconds(m.run_results) for m in runs if m.run_results and m.run_results.is_file()]
    nodes = dict.fromkeys(node for times in per_run for node in times)
    return {node: statistics.median(times.get(node, 0.0) for times in per_run) for node in nodes}


def grew(before: float, after: float) -> bool:
    return after - before > NODE_GROWTH_SECONDS and after > before * (1 + NODE_GROWTH_SHARE)


def short_node_name(unique_id: str) -> str:
    """model.cps.fct_registrations -> model fct_registrations; test.cps.not_null_x.1a2b -> test not_null_x."""
    kind, _, rest = unique_id.partition(".")
    name = rest.partition(".")[2] or rest
    return f"{kind} {name.rpartition('.')[0] or name}" if kind == "test" else f"{kind} {name}"


def is_test(unique_id: str) -> bool:
    return unique_id.startswith(("test.", "unit_test."))


def render_node_table(result: GrowthResult) -> tuple[str, list[str]]:
    """dbt's per-model medians of the second and the last night side by side; the nodes that grew.

    Models (and seeds) of at least NODE_SHOWN_SECONDS on either night get a row, the others one row
    together; data tests one row together, but any node that grew (a test too) is flagged by name.
    """
    last = result.nights
    second, final = median_node_seconds(result.runs(2)), median_node_seconds(result.runs(last))
    if not second or not final:
        return "dbt's run_results.json was not found for these nights: no per-model times.", []
    nodes = sorted(dict.fromkeys([*final, *second]), key=lambda node: -final.get(node, 0.0))
    flagged = [node for node in nodes if grew(second.get(node, 0.0), final.get(node, 0.0))]
    shown = [
        node
        for node in nodes
        if node in flagged
        or (not is_test(node) and max(second.get(node, 0.0), final.get(node, 0.0)) >= NODE_SHOWN_SECONDS)
    ]
    lines = [
        f"| dbt model (or test) | night 2 (s) | night {last} (s) "
        f"| grew > {NODE_GROWTH_SHARE:.0%} and > {NODE_GROWTH_SECONDS:g} s |",
        "|---|---:|---:|---|",
    ]
    for node in shown:
        mark = "**yes**" if node in flagged else ""
        lines.append(f"| {short_node_name(node)} | {second.get(node, 0.0):.2f} | {final.get(node, 0.0):.2f} | {mark} |")
    for label, group in (
        (f"other models, each under {NODE_SHOWN_SECONDS:g} s", [n for n in nodes if n not in shown and not is_test(n)]),
        ("data tests (any that grew has its own row)", [n for n in nodes if n not in shown and is_test(n)]),
    ):
        if group:
            lines.append(
                f"| {len(group)} {label} | {sum(second.get(n, 0.0) for n in group):.2f} "
                f"| {sum(final.get(n, 0.0) for n in group):.2f} | |"
            )
    lines.append(
        f"| all {len(nodes)} nodes (summed; dbt may run several at once) | {sum(second.values()):.2f} "
        f"| {sum(final.values()):.2f} | |"
    )
    return "\n".join(lines), [short_node_name(node) for node in flagged]


def render_sequence(result: GrowthResult) -> str:
    lines = [
        f"| night | as of | whole (s) | {' (s) | '.join(SEQUENCE_STEPS)} (s) | peak (MiB) |",
        "|---:|---|---:|" + "---:|" * len(SEQUENCE_STEPS) + "---:|",
    ]
    for m in result.sequence:
        steps = " | ".join(seconds_text(m.steps.get(step)) for step in SEQUENCE_STEPS)
        as_of = date.fromordinal(result.as_of.toordinal() + m.night - 1)
        lines.append(f"| {m.night} | {as_of} | {seconds_text(m.seconds)} | {steps} | {m.peak_rss_bytes / MIB:,.0f} |")
    return "\n".join(lines)


def growth_targets(result: GrowthResult) -> tuple[list[Target], str]:
    last = result.nights
    second_runs, last_runs = result.runs(2), result.runs(last)
    targets: list[Target] = []
    runs_text = ""
    if second_runs and last_runs:
        second = statistics.median(m.seconds for m in second_runs)
        final = statistics.median(m.seconds for m in last_runs)
        factor = final / second if second > 0 else float("inf")
        runs_text = (
            f"Night 2, {len(second_runs)} runs: {', '.join(seconds_text(m.seconds) for m in second_runs)} s "
            f"(median {seconds_text(second)} s). Night {last}, {len(last_runs)} runs: "
            f"{', '.join(seconds_text(m.seconds) for m in last_runs)} s (median {seconds_text(final)} s). "
            "The first run of each is the consecutive one; the others start from a copy of the warehouse "
            "and reports as they were before that night."
        )
        targets.append(
            Target(
                f"night {last} at most {GROWTH_MAX_FACTOR:g}x night 2 (medians of {len(last_runs)} and "
                f"{len(second_runs)} runs)",
                f"{seconds_text(final)} s vs {seconds_text(second)} s = {factor:.2f}x",
                factor <= GROWTH_MAX_FACTOR,
            )
        )
    _, flagged = render_node_table(result)
    targets.append(
        Target(
            "no dbt model grows with the number of nights (per-node medians, night 2 vs night "
            f"{last}: none grew by more than {NODE_GROWTH_SHARE:.0%} and {NODE_GROWTH_SECONDS:g} s)",
            "grew: " + ", ".join(flagged) if flagged else "none grew",
            not flagged,
        )
    )
    return targets, runs_text


def render_growth(result: GrowthResult) -> str:
    targets, runs_text = growth_targets(result)
    node_table, _ = render_node_table(result)
    touched = (
        f"{min(result.touched):,}-{max(result.touched):,}" if result.touched else "0"
    )  # registrations per night's batch
    return "\n".join(
        [
            f"### Growth: {result.nights} consecutive nights at {result.members:,} members",
            "",
            f"Night 1 as of {result.as_of} on an empty warehouse; each later night one day on, with one batch "
            f"stamped that day carrying new versions of {touched} registrations (about 1% of members, a "
            "different 1% each night), and that day's launch anniversaries. Each night is the whole `cps "
            "nightly` command.",
            "",
            render_sequence(result),
            "",
            runs_text,
            "",
            f"dbt's per-node times (median over the runs), night 2 against night {result.nights}:",
            "",
            node_table,
            "",
            render_agreement(result.agreements, nights=(2, result.nights)),
            "",
            "Issue 13's growth targets (set for 30 nights at 100,000 members):",
            *(target.render() for target in targets),
        ]
    )
