"""Ingestion: ledger and re-runs, change records, quarantine reasons, unreadable files, CSV and Parquet,
reconciliation, untouched inbox, catalogue, and a kill in the middle of a file.

Real DuckDB on small files the tests write; ingestion runs as a night without a Prefect server runs it
(the steps called directly), and once inside a Prefect flow run on the session's real server.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.core.errors import CpsError
from pipelines.core.settings import PROJECT_ROOT
from pipelines.core.sources import ALL_SOURCES, MEMBERS, PRODUCTS, REGISTRATIONS, SERVICE_JOBS, SOURCES_BY_NAME, Source
from pipelines.ingestion.ingest import IngestSummary, ingest_all, ingest_source, open_warehouse, reconcile
from pipelines.ingestion.load import CatalogueRowError, create_raw_tables, ingest_file

# These tests are about single rows in tiny files: the share of quarantined rows that rejects a whole
# file is tested in tests/test_faults_inputs.py.
NO_SHARE_LIMIT = 1.0

TINY_PRODUCTS = [
    {
        "product_sku": "EOS-R5",
        "product_name": "Canon EOS R5",
        "category": "camera",
        "is_video": "false",
        "launch_date": "2020-07-09",
        "base_points": "300",
        "fast_track": "true",
        "superseded_by": "EOS-R5M2",
        "superseded_on": "2024-08-01",
        "service_end_date": "",
    },
    {
        "product_sku": "C70",
        "product_name": "Canon EOS C70, cinema",
        "category": "cinema_camera",
        "is_video": "true",
        "launch_date": "2020-11-01",
        "base_points": "450",
        "fast_track": "true",
        "superseded_by": "",
        "superseded_on": "",
        "service_end_date": "",
    },
]
TINY_CENTRES = [
    {
        "centre_id": "CSC-DE",
        "name": "Canon Service Centre Krefeld",
        "country": "DE",
        "centre_type": "canon_service_centre",
    },
    {"centre_id": "AP-IT", "name": "Foto Riparazioni Milano", "country": "IT", "centre_type": "authorised_partner"},
]


# ---------------------------------------------------------------- building files


def write_csv(path: Path, rows: Sequence[dict[str, str]], header: Sequence[str] | None = None) -> Path:
    """A CSV of exactly these values (blank stays blank), header from the first row unless given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(header if header is not None else rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[row.get(name, "") for name in columns] for row in rows])
    return path


def member(member_id: str, updated_at: str = "2026-11-01T10:00:00Z", **changes: str) -> dict[str, str]:
    row = {
        "member_id": member_id,
        "email": f"{member_id.lower()}@example.com",
        "country": "DE",
        "language": "de",
        "marketing_opt_in": "true",
        "joined_at": "2020-01-01T00:00:00Z",
        "legacy_cps_number": "",
        "updated_at": updated_at,
    }
    return {**row, **changes}


def registration(registration_id: str, **changes: str) -> dict[str, str]:
    row = {
        "registration_id": registration_id,
        "member_id": "M1",
        "product_sku": "EOS-R5",
        "serial_number": "123456",
        "purchase_date": "2021-05-01",
        "purchase_country": "DE",
        "retailer": "Calumet",
        "second_hand": "false",
        "registered_at": "2021-05-02T09:00:00Z",
        "removed_at": "",
        "updated_at": "2021-05-02T09:00:00Z",
    }
    return {**row, **changes}


def service_job(job_id: str, **changes: str) -> dict[str, str]:
    row = {
        "job_id": job_id,
        "member_id": "M1",
        "product_sku": "EOS-R5",
        "centre_id": "CSC-DE",
        "service_type": "repair",
        "serial_number": "123456",
        "received_at": "2026-11-02T08:00:00Z",
        "completed_at": "",
        "updated_at": "2026-11-02T08:00:00Z",
    }
    return {**row, **changes}


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """The shipped catalogue when it is there, else a tiny one."""
    shipped = PROJECT_ROOT / "catalog"
    if all((shipped / f"{source}.csv").is_file() for source in ("products", "service_centres")):
        return shipped
    folder = tmp_path / "catalog"
    write_csv(folder / "products.csv", TINY_PRODUCTS)
    write_csv(folder / "service_centres.csv", TINY_CENTRES)
    return folder


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """An inbox with a few files per source: CSV and Parquet, a change record, a broken row."""
    folder = tmp_path / "inbox"
    write_csv(folder / "members" / "2026-11-01_members.csv", [member("M1"), member("M2"), member("M3")])
    write_csv(
        folder / "members" / "2026-11-02_members.csv",
        [member("M1", "2026-11-02T10:00:00Z", marketing_opt_in="false"), member("", "2026-11-02T10:00:00Z")],
    )
    write_csv(folder / "registrations" / "2026-11-01_registrations.csv", [registration("R1"), registration("R2")])
    write_parquet(
        folder / "registrations" / "2026-11-02_registrations.parquet",
        {
            "registration_id": ["R3"],
            "member_id": ["M2"],
            "product_sku": ["C70"],
            "serial_number": ["XY99"],
            "purchase_date": [date(2022, 1, 3)],
            "purchase_country": ["IT"],
            "retailer": ["Foto Rossi"],
            "second_hand": [True],
            "registered_at": [datetime(2022, 1, 4, 12, 0)],
            "removed_at": [None],
            "updated_at": [datetime(2022, 1, 4, 12, 0)],
        },
    )
    write_csv(folder / "service_jobs" / "2026-11-02_jobs.csv", [service_job("J1"), service_job("J2")])
    return folder


def write_parquet(path: Path, columns: dict[str, list[object]]) -> Path:
    """A typed Parquet file (timestamps in UTC), as a system exporting Parquet would write it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, values in columns.items():
        if any(isinstance(value, datetime) for value in values):
            arrays[name] = pa.array(values, type=pa.timestamp("us", tz="UTC"))
        elif all(value is None for value in values):
            arrays[name] = pa.array(values, type=pa.string())
        else:
            arrays[name] = pa.array(values)
    pq.write_table(pa.table(arrays), path)
    return path


# ---------------------------------------------------------------- reading the warehouse


def query(database: Path, sql: str, parameters: Sequence[object] = ()) -> list[tuple]:
    connection = duckdb.connect(str(database), read_only=True)
    try:
        connection.execute("SET TimeZone = 'UTC'")
        return connection.execute(sql, list(parameters)).fetchall()
    finally:
        connection.close()


def load(database: Path, source: Source, path: Path) -> object:
    """One file through the loader, without a flow (for the row-level checks)."""
    connection = open_warehouse(database)
    try:
        create_raw_tables(connection, ALL_SOURCES)
        return ingest_file(connection, source, path, NO_SHARE_LIMIT)
    finally:
        connection.close()


def quarantine(database: Path) -> dict[int, str]:
    return dict(query(database, "select row_number, reason from raw.quarantine order by row_number"))


def folder_state(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under the folder with its content hash and modification time."""
    return {
        str(path.relative_to(folder)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "cps.duckdb"


# ---------------------------------------------------------------- flows (real Prefect)


def test_ingest_all_loads_every_source_a_rerun_nothing_and_a_new_file_after_the_others(
    prefect_harness: None, inbox: Path, catalog: Path, database: Path
) -> None:
    before = folder_state(inbox)
    catalogue_before = folder_state(catalog)

    # In a Prefect flow run (a night on a server): a subflow, each file a task run.
    summary = ingest_in_a_flow_run(
        inbox=inbox, catalog=catalog, database=database, max_quarantined_share=NO_SHARE_LIMIT
    )

    assert isinstance(summary, IngestSummary)
    assert (summary.files_loaded, summary.files_skipped, summary.files_rejected) == (7, 0, 0)
    members = summary.for_source("members")
    assert (members.rows_read, members.rows_loaded, members.rows_quarantined) == (5, 4, 1)
    assert summary.rows_read == summary.rows_loaded + summary.rows_quarantined
    assert [(r.source, r.file_name) for r in summary.files][2:] == [
        ("members", "2026-11-01_members.csv"),
        ("members", "2026-11-02_members.csv"),
        ("registrations", "2026-11-01_registrations.csv"),
        ("registrations", "2026-11-02_registrations.parquet"),
        ("service_jobs", "2026-11-02_jobs.csv"),
    ]
    assert [r.source for r in summary.files][:2] == ["products", "service_centres"]
    assert (
        "members: files 2 loaded, 0 already loaded, 0 rejected, 0 ignored; rows of the files read: "
        "5 read, 4 loaded, 1 quarantined"
    ) in summary.render()
    counts = dict(query(database, "select source, count(*) from raw.file_ledger group by source"))
    assert counts == {"products": 1, "service_centres": 1, "members": 2, "registrations": 2, "service_jobs": 1}
    assert query(database, "select count(*) from raw.registrations") == [(3,)]
    assert query(database, "select count(*) from raw.service_jobs") == [(2,)]
    assert reconcile(database) == 7

    # Outside a flow run (a night without a Prefect server): the same steps, called directly.
    again = ingest_all(inbox=inbox, catalog=catalog, database=database, max_quarantined_share=NO_SHARE_LIMIT)

    assert (again.files_loaded, again.files_skipped, again.files_rejected) == (0, 7, 0)
    assert (again.rows_read, again.rows_loaded, again.rows_quarantined) == (0, 0, 0)
    assert query(database, "select count(*) from raw.file_ledger") == [(7,)]
    assert query(database, "select count(*) from raw.members") == [(4,)]
    assert folder_state(inbox) == before
    assert folder_state(catalog) == catalogue_before
    assert_one_task_run_per_file(["load members/2026-11-01_members.csv", "load service_jobs/2026-11-02_jobs.csv"])
    assert_closed(database)

    write_csv(inbox / "members" / "2026-11-03_members.csv", [member("M2", "2026-11-03T10:00:00Z", country="FR")])
    newer = ingest_all(inbox=inbox, catalog=catalog, database=database, max_quarantined_share=NO_SHARE_LIMIT)

    assert (newer.files_loaded, newer.files_skipped) == (1, 7)
    assert query(database, "select member_id, country, _file_id from raw.members where country = 'FR'") == [
        ("M2", "FR", 8)
    ]


def ingest_in_a_flow_run(**arguments: Any) -> IngestSummary:
    """ingest_all called from inside a Prefect flow run, as the nightly flow calls it on a server."""
    from prefect import flow
    from prefect.runtime import flow_run

    @flow(name="test-ingest-parent")
    def parent() -> IngestSummary:
        parent_runs.append(flow_run.id)
        return ingest_all(**arguments)

    return parent()


parent_runs: list[str] = []  # the flow runs of ingest_in_a_flow_run, newest last


def assert_closed(database: Path) -> None:
    """Another process can open the warehouse for writing: the flow closed its connections."""
    opened = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(database)],
        capture_output=True,
        check=False,
    )
    assert opened.returncode == 0, opened.stderr.decode()


def assert_one_task_run_per_file(expected_names: list[str]) -> None:
    """The last ingest_in_a_flow_run made a task run per file (in its ingestion subflow)."""
    from tests.prefect_server import flow_run_tree

    _, names = flow_run_tree(parent_runs[-1])
    assert set(expected_names) <= names, names


def test_unreadable_files_are_rejected_and_the_others_still_load(
    prefect_harness: None, tmp_path: Path, database: Path
) -> None:
    folder = tmp_path / "inbox" / "members"
    write_csv(folder / "01_good.csv", [member("M1")])
    (folder / "02_latin1.csv").write_bytes(
        ",".join(MEMBERS.column_names).encode() + b"\nM2,j\xe9r\xf4me@example.com,FR,fr,true,2020-01-01T00:00:00Z,,"
        b"2026-11-01T10:00:00Z\n"
    )
    (folder / "03_binary.csv").write_bytes(bytes(range(256)) * 16)
    write_csv(folder / "04_missing_columns.csv", [{k: v for k, v in member("M4").items() if k != "updated_at"}])
    (folder / "05_empty.csv").write_bytes(b"")
    write_csv(folder / "06_header_only.csv", [], header=MEMBERS.column_names)
    (folder / "07_not_parquet.parquet").write_text("member_id,email\nM7,m7@example.com\n")
    (folder / "08_semicolons.csv").write_text(";".join(MEMBERS.column_names) + "\n" + ";".join(member("M8").values()))
    (folder / "09_ragged.csv").write_text(
        ",".join(MEMBERS.column_names)
        + "".join(f"\n{','.join(member(key).values())},extra,fields" for key in ("M9", "M9B"))
        + "\n"
    )
    (folder / "notes.txt").write_text("not a batch: ignored")
    write_csv(folder / "10_good.csv", [member("M10")])

    results = ingest_source("members", tmp_path / "inbox", database)

    status = {result.file_name: result.status for result in results}
    assert status == {
        "01_good.csv": "loaded",
        "02_latin1.csv": "rejected",
        "03_binary.csv": "rejected",
        "04_missing_columns.csv": "rejected",
        "05_empty.csv": "rejected",
        "06_header_only.csv": "loaded",
        "07_not_parquet.parquet": "rejected",
        "08_semicolons.csv": "rejected",
        "09_ragged.csv": "rejected",
        "10_good.csv": "loaded",
        "notes.txt": "ignored",
    }
    errors = dict(query(database, "select file_name, error from raw.file_ledger where status = 'rejected'"))
    assert "not utf-8" in errors["02_latin1.csv"].lower()
    assert errors["04_missing_columns.csv"] == "missing required columns: updated_at"
    assert errors["05_empty.csv"].startswith("empty file")
    assert "Parquet" in errors["07_not_parquet.parquet"]
    assert errors["08_semicolons.csv"].startswith("missing required columns: member_id, email")
    assert "binary" in errors["03_binary.csv"]
    assert "break the schema" in errors["09_ragged.csv"], "both its rows are malformed: 100% quarantined"
    assert all(error for error in errors.values())
    assert query(database, "select rows_read from raw.file_ledger where status = 'rejected'") == [(None,)] * 7
    assert query(database, "select member_id from raw.members order by member_id") == [("M1",), ("M10",)]
    assert query(database, "select rows_read from raw.file_ledger where file_name = '06_header_only.csv'") == [(0,)]

    again = ingest_source("members", tmp_path / "inbox", database)

    # The loaded files are skipped; a rejected one loaded nothing, so it is rejected again (never skipped
    # in silence), with its reason, until it is fixed or removed.
    again_status = {result.file_name: result.status for result in again}
    assert again_status == {name: "skipped" if s == "loaded" else s for name, s in status.items()}
    assert next(r.error for r in again if r.file_name == "05_empty.csv").startswith("empty file")
    rejections = query(database, "select count(*) from raw.file_ledger where status = 'rejected'")
    assert rejections == [(14,)], "each of the 7 rejected files rejected on both runs"
    assert reconcile(database) == 19, "10 files read or rejected, 7 rejected again, notes.txt listed on both runs"


def test_catalogue_files_load_through_the_ledger_too(prefect_harness: None, catalog: Path, database: Path) -> None:
    products = ingest_source("products", catalog, database)
    centres = ingest_source("service_centres", catalog, database)

    (product_file,) = products
    (centre_file,) = centres
    assert (product_file.status, centre_file.status) == ("loaded", "loaded")
    product_lines = len((catalog / "products.csv").read_text(encoding="utf-8").strip().splitlines()) - 1
    assert product_file.rows_read <= product_lines  # fewer when a quoted value spans lines
    assert product_file.rows_quarantined == 0 and centre_file.rows_quarantined == 0, "the catalogue must be clean"
    assert query(database, "select count(*) from raw.products") == [(product_file.rows_read,)]
    assert [result.status for result in ingest_source("products", catalog, database)] == ["skipped"]


def test_a_changed_catalogue_is_a_new_load(prefect_harness: None, tmp_path: Path, database: Path) -> None:
    folder = tmp_path / "catalog"
    successor = {**TINY_PRODUCTS[0], "product_sku": "EOS-R5M2", "superseded_by": "", "superseded_on": ""}
    write_csv(folder / "products.csv", [*TINY_PRODUCTS, successor])
    ingest_source("products", folder, database)
    write_csv(folder / "products.csv", [*TINY_PRODUCTS, successor, {**successor, "product_sku": "EOS-R6"}])

    (result,) = ingest_source("products", folder, database)

    assert (result.status, result.rows_loaded) == ("loaded", 4)
    assert query(database, "select _file_id, count(*) from raw.products group by 1 order by 1") == [(1, 3), (2, 4)]
    assert query(database, "select product_name from raw.products where product_sku = 'C70'") == [
        ("Canon EOS C70, cinema",),
        ("Canon EOS C70, cinema",),
    ]


def test_missing_folders_are_operator_errors(prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path) -> None:
    database = tmp_path / "never" / "cps.duckdb"
    with pytest.raises(CpsError, match="inbox folder not found"):
        ingest_all(inbox=tmp_path / "no-inbox", catalog=catalog, database=database)
    (inbox / "service_jobs" / "2026-11-02_jobs.csv").unlink()
    (inbox / "service_jobs").rmdir()
    with pytest.raises(CpsError, match="inbox folder for service_jobs not found"):
        ingest_all(inbox=inbox, catalog=catalog, database=database, max_quarantined_share=NO_SHARE_LIMIT)
    with pytest.raises(CpsError, match="catalogue file not found"):
        ingest_all(inbox=inbox, catalog=tmp_path / "no-catalog", database=database)
    assert not database.exists(), "nothing is loaded when a folder is missing"


def test_an_optional_source_may_be_absent(prefect_harness: None, tmp_path: Path, database: Path) -> None:
    (tmp_path / "inbox").mkdir()
    assert ingest_source("legacy_accounts", tmp_path / "inbox", database) == []


def test_an_empty_source_folder_is_fine(prefect_harness: None, tmp_path: Path, database: Path) -> None:
    (tmp_path / "inbox" / "service_jobs").mkdir(parents=True)

    assert ingest_source("service_jobs", tmp_path / "inbox", database) == []
    assert query(database, "select count(*) from raw.service_jobs") == [(0,)]


# ---------------------------------------------------------------- rows (loader without a flow)


def test_change_records_of_one_key_are_all_kept_in_file_and_row_order(tmp_path: Path, database: Path) -> None:
    first = write_csv(tmp_path / "a.csv", [member("M1", "2026-11-01T10:00:00Z"), member("M2")])
    second = write_csv(tmp_path / "b.csv", [member("M9"), member("M1", "2026-11-02T10:00:00Z", email="new@x.org")])
    load(database, MEMBERS, first)
    load(database, MEMBERS, second)

    rows = query(
        database,
        "select email, updated_at, _file_id, _row_number from raw.members where member_id = 'M1' order by _file_id",
    )

    assert rows == [
        ("m1@example.com", datetime(2026, 11, 1, 10), 1, 1),
        ("new@x.org", datetime(2026, 11, 2, 10), 2, 2),
    ]


def test_each_schema_break_is_quarantined_with_its_reason(tmp_path: Path, database: Path) -> None:
    rows = [
        member("M1"),  # 1: fits
        member(""),  # 2
        member("M3", email="   "),  # 3: only spaces is missing for a required value
        member("M4", joined_at="2024-13-45T10:00:00Z"),  # 4
        member("M5", updated_at="yesterday"),  # 5
        member("M6", marketing_opt_in="yes"),  # 6
        member("", marketing_opt_in="", updated_at="2024-01-05"),  # 7: several reasons, in column order
        member("M8", joined_at="2024-1-5T10:00:00Z"),  # 8: not the ISO shape
    ]
    load(database, MEMBERS, write_csv(tmp_path / "members.csv", rows))

    assert quarantine(database) == {
        2: "missing_required:member_id",
        3: "missing_required:email",
        4: "bad_timestamp:joined_at",
        5: "bad_timestamp:updated_at",
        6: "bad_boolean:marketing_opt_in",
        7: "missing_required:member_id,missing_required:marketing_opt_in,bad_timestamp:updated_at",
        8: "bad_timestamp:joined_at",
    }
    assert query(database, "select member_id, _row_number from raw.members") == [("M1", 1)]


def test_registration_types_and_the_second_hand_default(tmp_path: Path, database: Path) -> None:
    rows = [
        registration("R1", second_hand=""),  # 1: blank -> false
        registration("R2", second_hand=" TRUE "),  # 2: any case, spaces around
        registration("R3", second_hand="maybe"),  # 3
        registration("R4", purchase_date="31/12/2023"),  # 4
        registration("R5", purchase_date="2023-02-30"),  # 5: no such day
        registration("R6", purchase_date="", serial_number="", retailer=" "),  # 6: optional blanks load
        registration("R7", registered_at=""),  # 7
        registration("R8", removed_at="2024-01-05 10:00:00+02:00", updated_at="2024-01-05T10:00:00"),  # 8
    ]
    load(database, REGISTRATIONS, write_csv(tmp_path / "registrations.csv", rows))

    assert quarantine(database) == {
        3: "bad_boolean:second_hand",
        4: "bad_date:purchase_date",
        5: "bad_date:purchase_date",
        7: "missing_required:registered_at",
    }
    loaded = query(
        database,
        "select registration_id, second_hand, purchase_date, serial_number, retailer, removed_at, updated_at "
        "from raw.registrations order by _row_number",
    )
    assert loaded == [
        ("R1", False, date(2021, 5, 1), "123456", "Calumet", None, datetime(2021, 5, 2, 9)),
        ("R2", True, date(2021, 5, 1), "123456", "Calumet", None, datetime(2021, 5, 2, 9)),
        ("R6", False, None, None, " ", None, datetime(2021, 5, 2, 9)),  # text kept verbatim
        ("R8", False, date(2021, 5, 1), "123456", "Calumet", datetime(2024, 1, 5, 8), datetime(2024, 1, 5, 10)),
    ]


def test_enum_and_integer_checks(tmp_path: Path, database: Path) -> None:
    jobs = [service_job("J1"), service_job("J2", service_type="cleaning"), service_job("J3", service_type="Repair")]
    load(database, SERVICE_JOBS, write_csv(tmp_path / "jobs.csv", jobs))
    reasons = query(database, "select source, row_number, reason from raw.quarantine order by file_id, row_number")
    assert reasons == [
        ("service_jobs", 2, "bad_enum:service_type"),
        ("service_jobs", 3, "bad_enum:service_type"),  # enum values are lowercase, as the rules write them
    ]
    # A catalogue row is never quarantined: it fails the load naming the product and line.
    plain = {**TINY_PRODUCTS[0], "superseded_by": "", "superseded_on": ""}
    for changes, reason in [
        ({"base_points": "-1"}, "below_minimum:base_points"),
        ({"base_points": "1.5"}, "bad_integer:base_points"),
        ({"base_points": "1e3"}, "bad_integer:base_points"),
        ({"category": "drone"}, "bad_enum:category"),
    ]:
        path = write_csv(tmp_path / "products.csv", [plain, {**plain, "product_sku": "P2", **changes}])
        with pytest.raises(CatalogueRowError) as failure:
            load(database, PRODUCTS, path)
        assert (failure.value.key, failure.value.line, failure.value.reason) == ("P2", 3, reason)
    load(database, PRODUCTS, write_csv(tmp_path / "products.csv", [{**plain, "base_points": " 0 "}]))
    assert query(database, "select product_sku, base_points from raw.products order by 1") == [("EOS-R5", 0)]


def test_quarantined_record_is_the_row_as_read_with_extra_columns(tmp_path: Path, database: Path) -> None:
    header = ["updated_at", "note", *[name for name in MEMBERS.column_names if name != "updated_at"]]
    rows = [
        member("M1", note="first, with a comma"),
        member("M2", updated_at="soon", note='said "hi"\non two lines', email=" spaced@example.com "),
    ]
    load(database, MEMBERS, write_csv(tmp_path / "members.csv", rows, header=header))

    ((row_number, record),) = query(database, "select row_number, record from raw.quarantine")
    assert row_number == 2
    assert json.loads(record) == {**rows[1], "legacy_cps_number": None}
    assert query(database, "select member_id, email, updated_at from raw.members") == [
        ("M1", "m1@example.com", datetime(2026, 11, 1, 10))
    ]


def test_parquet_goes_through_the_same_checks(tmp_path: Path, database: Path) -> None:
    typed = write_parquet(
        tmp_path / "typed.parquet",
        {
            "member_id": ["M1", "M2", None],
            "email": ["a@x.org", "b@x.org", "c@x.org"],
            "country": ["DE", "GB", "IT"],
            "marketing_opt_in": [True, False, True],
            "joined_at": [datetime(2020, 1, 1), datetime(2021, 6, 1, 12, 30), datetime(2020, 1, 1)],
            "updated_at": [datetime(2026, 11, 1, 10), datetime(2026, 11, 2, 10, 0, 0, 250000), datetime(2026, 1, 1)],
        },
    )
    as_text = tmp_path / "text.parquet"
    pq.write_table(pa.table({name: [value] for name, value in member("M4", joined_at="01.01.2020").items()}), as_text)

    load(database, MEMBERS, typed)
    load(database, MEMBERS, as_text)

    assert query(database, "select member_id, language, joined_at, updated_at, _row_number from raw.members") == [
        ("M1", None, datetime(2020, 1, 1), datetime(2026, 11, 1, 10), 1),
        ("M2", None, datetime(2021, 6, 1, 12, 30), datetime(2026, 11, 2, 10, 0, 0, 250000), 2),
    ]
    assert query(database, "select file_id, row_number, reason from raw.quarantine order by file_id") == [
        (1, 3, "missing_required:member_id"),
        (2, 1, "bad_timestamp:joined_at"),
    ]


def test_reconciliation_fails_when_rows_go_missing(tmp_path: Path, database: Path) -> None:
    load(database, MEMBERS, write_csv(tmp_path / "members.csv", [member("M1"), member("M2"), member("")]))
    assert reconcile(database) == 1
    assert query(database, "select rows_read, rows_in_raw, rows_in_quarantine, balanced from raw.reconciliation") == [
        (3, 2, 1, True)
    ]

    connection = duckdb.connect(str(database))
    connection.execute("delete from raw.members where member_id = 'M2'")
    connection.close()

    with pytest.raises(CpsError, match="does not reconcile"):
        reconcile(database)


def test_same_content_under_another_name_is_skipped(tmp_path: Path, database: Path) -> None:
    first = write_csv(tmp_path / "a.csv", [member("M1")])
    copy = tmp_path / "b.csv"
    copy.write_bytes(first.read_bytes())

    assert load(database, MEMBERS, first).status == "loaded"
    skipped = load(database, MEMBERS, copy)
    assert (skipped.status, skipped.error) == ("skipped", "same content already loaded as file 1")


def test_a_file_unchanged_since_it_was_loaded_is_skipped_and_a_rewritten_one_is_read_again(
    tmp_path: Path, database: Path
) -> None:
    path = write_csv(tmp_path / "members.csv", [member("M1", country="DE")])
    assert load(database, MEMBERS, path).status == "loaded"

    again = load(database, MEMBERS, path)
    assert (again.status, again.error) == ("skipped", "already loaded as file 1")  # found without hashing

    write_csv(path, [member("M1", country="FR")])  # same size, new content, newer modification time
    os.utime(path, (time.time() + 5, time.time() + 5))
    rewritten = load(database, MEMBERS, path)
    assert (rewritten.status, rewritten.rows_loaded) == ("loaded", 1)
    assert query(database, "select country from raw.members order by _file_id") == [("DE",), ("FR",)]


KILL_MID_FILE = """
import os, signal, sys
from pathlib import Path
import pipelines.ingestion.load as loader
from pipelines.ingestion.ingest import open_warehouse
from pipelines.core.sources import ALL_SOURCES, MEMBERS

database, first, second = (Path(argument) for argument in sys.argv[1:])
connection = open_warehouse(database)
loader.create_raw_tables(connection, ALL_SOURCES)
loader.ingest_file(connection, MEMBERS, first, 1.0)
# Killed after the second file's rows are written, before its ledger row and the commit.
loader._record_ledger = lambda *arguments: os.kill(os.getpid(), signal.SIGKILL)
loader.ingest_file(connection, MEMBERS, second, 1.0)
"""


def test_a_kill_in_the_middle_of_a_file_leaves_nothing_of_it(tmp_path: Path, database: Path) -> None:
    first = write_csv(tmp_path / "first.csv", [member("M1")])
    second = write_csv(tmp_path / "second.csv", [member(f"K{number}") for number in range(500)] + [member("")])

    killed = subprocess.run(
        [sys.executable, "-c", KILL_MID_FILE, str(database), str(first), str(second)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=False,
    )

    assert killed.returncode == -9, killed.stderr.decode()
    assert query(database, "select count(*) from raw.members") == [(1,)]
    assert query(database, "select count(*) from raw.quarantine") == [(0,)]
    assert query(database, "select file_name from raw.file_ledger") == [("first.csv",)]
    result = load(database, MEMBERS, second)
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 500, 1)
    assert reconcile(database) == 2


def test_every_source_has_a_raw_table_with_the_contract_columns(tmp_path: Path, database: Path) -> None:
    load(database, MEMBERS, write_csv(tmp_path / "members.csv", [member("M1")]))

    for source in SOURCES_BY_NAME.values():
        columns = [name for (name,) in query(database, f"select column_name from (describe raw.{source.name})")]
        assert columns == [*source.column_names, "_file_id", "_row_number"]
