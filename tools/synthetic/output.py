"""Writing generated records as inbox batch files: CSV mostly, some Parquet, arrival order in the file names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.core.sources import Source
from tools.synthetic.common import labels

# Rows that break the schema on purpose, so that quarantine is exercised (CSV only: Parquet is typed).
SCHEMA_BREAK_SHARE = 0.0001
SCHEMA_BREAKS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "members": (("joined_at", "2024-13-45T10:00:00Z"), ("marketing_opt_in", "yes"), ("email", None)),
    "registrations": (("purchase_date", "31/12/2023"), ("registered_at", None), ("second_hand", "maybe")),
    "service_jobs": (("service_type", "cleaning"), ("received_at", "yesterday"), ("centre_id", None)),
    "legacy_accounts": (("old_level", "Bronze"), ("member_since", "sometime"), ("email", None)),
}
PARQUET_TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass
class SourceOutput:
    """What was written for one source."""

    files: list[Path] = field(default_factory=list)
    rows: int = 0
    parquet_files: int = 0
    schema_breaks: int = 0


def batch_file_name(arrival_day: date, chunk: int, parquet: bool) -> str:
    """Sorting the names gives the arrival order: by day, then batch number."""
    return f"{arrival_day.isoformat()}_batch_{chunk + 1:04d}.{'parquet' if parquet else 'csv'}"


def is_parquet_batch(chunk: int, wave: int) -> bool:
    """About a third of the batches come as Parquet, spread over days and chunks."""
    return (chunk + wave) % 3 == 2


def as_csv_text(table: pa.Table) -> pa.Table:
    """Every column as the text a CSV holds: ISO dates, ISO UTC timestamps with Z, true/false."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            columns.append(pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ"))
        else:
            columns.append(pc.cast(column, pa.string()))
    return pa.table(columns, names=table.column_names)


def as_parquet_types(table: pa.Table) -> pa.Table:
    columns = [
        pc.cast(column, PARQUET_TIMESTAMP) if pa.types.is_timestamp(column.type) else column for column in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def break_schema(rng: np.random.Generator, table: pa.Table, source: Source, at_least_one: bool) -> tuple[pa.Table, int]:
    """Spoil a tiny share of rows (unparseable value, unknown enum value, missing required value)."""
    count = int(rng.binomial(table.num_rows, SCHEMA_BREAK_SHARE))
    count = min(max(count, int(at_least_one)), table.num_rows)
    if count == 0:
        return table, 0
    rows = rng.choice(table.num_rows, size=count, replace=False)
    kinds = SCHEMA_BREAKS[source.name]
    kind = rng.integers(0, len(kinds), count)
    for index, (column, bad_value) in enumerate(kinds):
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[rows[kind == index]] = True
        if not mask.any():
            continue
        position = table.schema.get_field_index(column)
        replacement = (
            pa.nulls(table.num_rows, pa.string())
            if bad_value is None
            else labels((bad_value,), np.zeros(table.num_rows, dtype=np.int64))
        )
        table = table.set_column(position, column, pc.if_else(pa.array(mask), replacement, table.column(position)))
    return table, count


def write_batch(
    rng: np.random.Generator,
    table: pa.Table,
    path: Path,
    source: Source,
    first_of_source: bool,
) -> int:
    """Write one batch, rows in updated_at order; returns how many rows break the schema on purpose."""
    table = table.take(pc.sort_indices(table, sort_keys=[("updated_at", "ascending")]))
    if path.suffix == ".parquet":
        pq.write_table(as_parquet_types(table), path, compression="zstd")
        return 0
    text, broken = break_schema(rng, as_csv_text(table), source, at_least_one=first_of_source)
    with path.open("wb") as handle:
        handle.write((",".join(source.column_names) + "\n").encode("utf-8"))
        pacsv.write_csv(text, handle, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return broken
