"""The benchmark's next nights: about 1% of members change some registrations each day after D.

One extra registrations batch, stamped during the next day, carries a new version of every
registration of the chosen members (picked by a hash of member_id and the day, so a different 1%
each night), with the missing details filled in (what a member completing the "blue dot"
registrations does). The next night's inbox is the previous night's inbox (links, not copies) plus
that batch, so a sequence of nights costs one small batch per night to generate. The date moving on
also brings the night's launch anniversaries (products whose points change that day).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb

from pipelines.core.sources import INBOX_SOURCES, REGISTRATIONS
from tools.bench.duckdb_reference import quoted, source_sql
from tools.bench.inputs import BenchInputs

TOUCHED_SHARE_PERCENT = 1
COMPLETED_RETAILER = "Bench Camera Shop"
COMPLETED_COUNTRY = "DE"


def touch_batch_name(next_day: date) -> str:
    """Sorts after every batch of the first night (their names start with an earlier date)."""
    return f"{next_day.isoformat()}_bench_touch.csv"


def write_touch_batch(inputs: BenchInputs, path: Path) -> int:
    """Write the next day's batch for about 1% of the members (at least one); returns its rows."""
    next_day = inputs.as_of + timedelta(days=1)
    stamp = f"{next_day.isoformat()}T12:00:00Z"
    timestamp_text = "strftime({column}, '%Y-%m-%dT%H:%M:%SZ')"
    columns = {name: f'"{name}"' for name in REGISTRATIONS.column_names}
    columns.update(
        serial_number="coalesce(nullif(trim(serial_number), ''), 'BX' || regexp_replace(registration_id, "
        "'[^A-Za-z0-9]', '', 'g'))",
        purchase_date="strftime(coalesce(purchase_date, cast(registered_at as date)), '%Y-%m-%d')",
        purchase_country=f"coalesce(nullif(trim(purchase_country), ''), {quoted(COMPLETED_COUNTRY)})",
        retailer=f"coalesce(nullif(trim(retailer), ''), {quoted(COMPLETED_RETAILER)})",
        second_hand="cast(second_hand as varchar)",
        registered_at=timestamp_text.format(column="registered_at"),
        removed_at=timestamp_text.format(column="removed_at"),
        updated_at=quoted(stamp),
    )
    select_list = ", ".join(f'{expression} as "{name}"' for name, expression in columns.items())
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            f"""
            create temp table touched as
            with registrations as ({source_sql(inputs.files(REGISTRATIONS.name), REGISTRATIONS)}),
            chosen as (  -- about 1% of the members with registrations, picked by a hash of member_id and the day
                select member_id from (select distinct member_id from registrations)
                qualify row_number() over (order by hash(member_id || {quoted(next_day.isoformat())}), member_id)
                    <= ceil(count(*) over () * {TOUCHED_SHARE_PERCENT} / 100)
            )
            select {select_list}
            from registrations
            where member_id in (select member_id from chosen)
            qualify row_number() over (
                partition by registration_id order by updated_at desc, _file desc, _row desc) = 1
            order by registration_id
            """
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        connection.execute(f"copy touched to {quoted(str(path))} (header, delimiter ',')")
        return int(connection.execute("select count(*) from touched").fetchone()[0])
    finally:
        connection.close()


def second_night_inbox(inputs: BenchInputs, folder: Path) -> tuple[BenchInputs, int]:
    """The next night's inbox under `folder`: links to every batch of `inputs` plus the next day's batch.

    Reused when `folder` already holds it for the same previous inbox and day (generation is the slow part).
    """
    next_day = inputs.as_of + timedelta(days=1)
    manifest_file = folder / "touch.json"
    manifest = {
        "previous_inbox": str(inputs.inbox.resolve()),
        "previous_files": [  # a regenerated file has another size or time: the batch is made again
            [f"{source.name}/{path.name}", path.stat().st_size, path.stat().st_mtime_ns]
            for source in INBOX_SOURCES
            for path in inputs.files(source.name)
        ],
        "as_of": next_day.isoformat(),
    }
    if manifest_file.is_file():
        written = json.loads(manifest_file.read_text(encoding="utf-8"))
        if written.get("manifest") == manifest:
            return BenchInputs(inbox=folder, catalog=inputs.catalog, as_of=next_day), int(written["rows"])
    if folder.exists():
        shutil.rmtree(folder)
    for source in INBOX_SOURCES:
        (folder / source.name).mkdir(parents=True)
        for path in inputs.files(source.name):
            (folder / source.name / path.name).symlink_to(path.resolve())
    rows = write_touch_batch(inputs, folder / REGISTRATIONS.name / touch_batch_name(next_day))
    manifest_file.write_text(json.dumps({"manifest": manifest, "rows": rows}), encoding="utf-8")
    return BenchInputs(inbox=folder, catalog=inputs.catalog, as_of=next_day), rows
