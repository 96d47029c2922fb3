"""`cps generate`: a seeded, realistic synthetic inbox (members, registrations, service jobs).

Members are made in chunks; each chunk's members, their registrations and their service jobs
are written as soon as they are made, so memory stays bounded whatever the size. Every chunk
writes one batch per source for each of three arrival days (a base export two weeks before the
as-of date, then two weekly deltas); later batches carry new versions of earlier records.
The same seed gives byte-identical files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from pipelines.core.errors import CpsError
from pipelines.core.policy import policy
from pipelines.core.sources import INBOX_SOURCES, LEGACY_ACCOUNTS, MEMBERS, REGISTRATIONS, SERVICE_JOBS, Source
from tools.synthetic.catalog import load_catalogue
from tools.synthetic.common import TimeFrame
from tools.synthetic.jobs import make_jobs
from tools.synthetic.legacy import claim_twice, make_legacy_accounts
from tools.synthetic.members import make_members
from tools.synthetic.output import SourceOutput, batch_file_name, is_parquet_batch, write_batch
from tools.synthetic.registrations import make_registrations
from tools.synthetic.versions import VersionLog

CHUNK_MEMBERS = 100_000
# Independent random streams per chunk, so a chunk's data does not depend on how others were drawn.
STREAM_MEMBERS, STREAM_REGISTRATIONS, STREAM_JOBS, STREAM_WRITER, STREAM_LEGACY = 1, 2, 3, 4, 5


@dataclass
class GenerationResult:
    out: Path
    members: int
    seed: int
    as_of: date
    outputs: dict[str, SourceOutput] = field(default_factory=lambda: {s.name: SourceOutput() for s in INBOX_SOURCES})
    seconds: float = 0.0

    def render(self) -> str:
        lines = [f"Generated {self.members:,} members (seed {self.seed}, as of {self.as_of}) in {self.out}"]
        for name, output in self.outputs.items():
            lines.append(
                f"  {name:<14} {len(output.files):>4} files ({output.parquet_files} Parquet)"
                f"  {output.rows:>12,} rows  ({output.schema_breaks} broken on purpose)"
            )
        lines.append(f"  took {self.seconds:.1f} s")
        return "\n".join(lines)


def _prepare_out(out: Path, replace: bool = False) -> None:
    """Make the source folders; with replace, delete the files already in them (only those folders)."""
    for source in INBOX_SOURCES:
        folder = out / source.name
        if folder.is_dir() and any(folder.iterdir()):
            if not replace:
                raise CpsError(
                    f"{folder} is not empty: add --replace to delete the files in {out}'s source folders first,"
                    " or choose another --out"
                )
            for path in folder.iterdir():
                if path.is_dir():
                    raise CpsError(f"{folder} holds a folder ({path.name}): not replacing it, clear it by hand")
                path.unlink()
        folder.mkdir(parents=True, exist_ok=True)


def _write_source(
    log: VersionLog | None, source: Source, chunk: int, frame: TimeFrame, out: Path, result: GenerationResult, seed: int
) -> None:
    if log is None:
        return
    table, waves = log.table(), log.waves()
    output = result.outputs[source.name]
    rng = np.random.default_rng([seed, chunk, STREAM_WRITER, INBOX_SOURCES.index(source)])
    for wave, arrival_day in enumerate(frame.arrival_days):
        rows = np.flatnonzero(waves == wave)
        if rows.size == 0:
            continue
        parquet = is_parquet_batch(chunk, wave)
        path = out / source.name / batch_file_name(arrival_day, chunk, parquet)
        first_csv = chunk == 0 and not parquet and not any(p.suffix == ".csv" for p in output.files)
        # one broken row on purpose, unless the file is so small that it would be rejected for it
        first_csv = first_csv and rows.size * float(policy()["max_quarantined_share"]) > 1
        output.schema_breaks += write_batch(rng, table.take(rows), path, source, first_of_source=first_csv)
        output.files.append(path)
        output.rows += int(rows.size)
        output.parquet_files += int(parquet)


def generate_inbox(
    out: Path, members: int, seed: int, as_of: date, catalog_dir: Path, replace: bool = False
) -> GenerationResult:
    """Write a synthetic inbox for `members` members under `out` (members/, registrations/, service_jobs/,
    legacy_accounts/).

    With replace, files already in those folders are deleted first; otherwise they must be empty.
    """
    if members < 1:
        raise CpsError("--members must be at least 1")
    started = time.perf_counter()
    catalogue = load_catalogue(catalog_dir)
    frame = TimeFrame(as_of)
    _prepare_out(out, replace)
    result = GenerationResult(out=out, members=members, seed=seed, as_of=as_of)
    next_registration, next_job = 1, 1
    for chunk, first in enumerate(range(0, members, CHUNK_MEMBERS)):
        count = min(CHUNK_MEMBERS, members - first)
        member_chunk = make_members(np.random.default_rng([seed, chunk, STREAM_MEMBERS]), first + 1, count, frame)
        registrations = make_registrations(
            np.random.default_rng([seed, chunk, STREAM_REGISTRATIONS]),
            member_chunk,
            catalogue,
            frame,
            first_number=next_registration,
            total_members=members,
        )
        jobs = make_jobs(
            np.random.default_rng([seed, chunk, STREAM_JOBS]),
            member_chunk,
            registrations,
            catalogue,
            frame,
            first_number=next_job,
            total_members=members,
        )
        legacy_rng = np.random.default_rng([seed, chunk, STREAM_LEGACY])
        claim_twice(legacy_rng, member_chunk, frame)
        legacy_accounts = make_legacy_accounts(legacy_rng, member_chunk, frame, chunk)
        next_registration += registrations.size
        next_job += 0 if jobs is None else jobs.record_count
        for log, source in (
            (member_chunk.log, MEMBERS),
            (registrations.log, REGISTRATIONS),
            (jobs, SERVICE_JOBS),
            (legacy_accounts, LEGACY_ACCOUNTS),
        ):
            _write_source(log, source, chunk, frame, out, result, seed)
    result.seconds = time.perf_counter() - started
    return result
