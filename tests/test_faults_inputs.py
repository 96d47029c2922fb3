"""Fault injection on the inputs: every kind of bad inbox or catalogue file a user may send.

Each file is loaded, quarantined row by row, or rejected with a reason; a rejected file fails the
night (exit 65, one line) unless the operator accepts rejected files; counts always reconcile.
Ingestion runs in-process under one Prefect test harness on tiny files; three `cps nightly`
processes (one published night, a failing one, an accepted one) check the exit code, the one-line
message and that a failed night leaves the published marts unchanged.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from pipelines.core.errors import InputRejected
from pipelines.core.policy import policy
from pipelines.core.sources import MAX_VALUE_LENGTH, MEMBERS, REGISTRATIONS, SERVICE_JOBS
from pipelines.ingestion.ingest import IngestSummary, ingest_all, reconcile
from tests.nightly_helpers import night_paths, run_cli, run_night_in_process, table_fingerprints
from tests.test_ingest import TINY_CENTRES, TINY_PRODUCTS, member, query, registration, service_job, write_csv

NIGHT = date(2026, 11, 20)
SHARE = float(policy()["max_quarantined_share"])
# A file big enough that one bad row stays within the allowed share of quarantined rows.
ROWS = round(2 / SHARE)


def members(count: int = ROWS, prefix: str = "M") -> list[dict[str, str]]:
    return [member(f"{prefix}{number}") for number in range(1, count + 1)]


def csv_bytes(rows: list[dict[str, str]], newline: str = "\n") -> bytes:
    handle = io.StringIO()
    writer = csv.writer(handle, lineterminator=newline)
    writer.writerow(list(rows[0]))
    writer.writerows([list(row.values()) for row in rows])
    return handle.getvalue().encode("utf-8")


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    write_csv(folder / "products.csv", TINY_PRODUCTS + [{**TINY_PRODUCTS[1], "product_sku": "EOS-R5M2"}])
    write_csv(folder / "service_centres.csv", TINY_CENTRES)
    return folder


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    root = tmp_path / "inbox"
    for source in (MEMBERS, REGISTRATIONS, SERVICE_JOBS):
        (root / source.name).mkdir(parents=True)
    return root


def ingest(inbox: Path, catalog: Path, database: Path, accept: bool = False) -> IngestSummary:
    return ingest_all(inbox=inbox, catalog=catalog, database=database, as_of=NIGHT, accept_rejected=accept)


def status_of(summary: IngestSummary, name: str) -> tuple[str, str | None]:
    (result,) = [result for result in summary.files if result.file_name == name]
    return result.status, result.error


def assert_reconciles(database: Path) -> None:
    assert reconcile(database) >= 1
    assert query(database, "select count(*) from raw.reconciliation where not balanced") == [(0,)]


def assert_rejected(inbox: Path, catalog: Path, database: Path, file_name: str, reason: str) -> None:
    """The night fails with one line naming the file and the reason; accepted, the file loads nothing."""
    with pytest.raises(InputRejected) as failure:
        ingest(inbox, catalog, database)
    message = str(failure.value)
    assert "\n" not in message
    assert f"rejected inbox file members/{file_name}: " in message and reason in message
    assert message.endswith("fix or remove it and run again, or pass --accept-rejected")
    assert failure.value.exit_code == 65

    accepted = ingest(inbox, catalog, database.with_name("accepted.duckdb"), accept=True)

    status, error = status_of(accepted, file_name)
    assert status == "rejected" and reason in (error or "")
    assert f"REJECTED members/{file_name}" in accepted.render()
    ledger = query(
        database.with_name("accepted.duckdb"),
        "select as_of_date, rows_read, error from raw.rejected_files where file_name = ?",
        [file_name],
    )
    assert ledger == [(NIGHT, None, error)], "rows of a rejected file are unknown, not 0"
    assert_reconciles(database.with_name("accepted.duckdb"))


# ---------------------------------------------------------------- files that load


def test_bom_crlf_and_quoted_newlines_load(prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path) -> None:
    (inbox / "members" / "bom.csv").write_bytes(b"\xef\xbb\xbf" + csv_bytes(members(3)))
    (inbox / "members" / "crlf.csv").write_bytes(csv_bytes(members(3, "C"), newline="\r\n"))
    spanning = [registration("R1", retailer="Calumet\nBerlin"), registration("R2")]
    (inbox / "registrations" / "quoted.csv").write_bytes(csv_bytes(spanning, newline="\r\n"))
    database = tmp_path / "w.duckdb"

    summary = ingest(inbox, catalog, database)

    outcome = {r.file_name: (r.status, r.rows_loaded) for r in summary.files if not r.file_name.startswith(("p", "s"))}
    assert outcome == {"bom.csv": ("loaded", 3), "crlf.csv": ("loaded", 3), "quoted.csv": ("loaded", 2)}
    assert query(database, "select count(*) from raw.members where member_id = 'M1'") == [(1,)], "BOM not in name"
    assert query(database, "select max(length(email)) from raw.members where member_id like 'C%'") == [
        (len("c3@example.com"),)
    ], "no carriage return left in the last column"
    assert query(database, "select retailer, _row_number from raw.registrations order by 2") == [
        ("Calumet\nBerlin", 1),
        ("Calumet", 2),
    ]
    assert_reconciles(database)


def test_header_only_is_an_empty_batch_and_an_empty_file_is_rejected(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    write_csv(inbox / "members" / "a_header_only.csv", [], header=MEMBERS.column_names)
    (inbox / "members" / "b_empty.csv").write_bytes(b"")

    assert_rejected(inbox, catalog, tmp_path / "w.duckdb", "b_empty.csv", "empty file")
    summary = ingest(inbox, catalog, tmp_path / "w2.duckdb", accept=True)
    assert status_of(summary, "a_header_only.csv") == ("loaded", None)


def test_csv_gz_is_read_and_other_files_are_listed_as_ignored(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    (inbox / "members" / "batch.csv.gz").write_bytes(gzip.compress(csv_bytes(members(4))))
    (inbox / "members" / "batch.xlsx").write_bytes(b"PK\x03\x04 a spreadsheet")
    database = tmp_path / "w.duckdb"

    summary = ingest(inbox, catalog, database)

    assert status_of(summary, "batch.csv.gz")[0] == "loaded"
    assert query(database, "select count(*) from raw.members") == [(4,)]
    assert status_of(summary, "batch.xlsx")[0] == "ignored"
    assert "WARNING ignored members/batch.xlsx" in summary.render()
    assert query(database, "select as_of_date, file_name from raw.ignored_files") == [(NIGHT, "batch.xlsx")]
    assert_reconciles(database)


def test_folders_broken_links_and_pipes_in_a_source_folder_are_listed_as_ignored(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (inbox / "members" / "batch.csv").write_bytes(csv_bytes(members(4)))
    (inbox / "members" / "older").mkdir()
    (inbox / "members" / "older" / "batch.csv").write_bytes(csv_bytes(members(4, "O")))
    (inbox / "members" / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    os.mkfifo(inbox / "members" / "pipe.csv")  # read, it would block the night
    (inbox / "members.csv").write_bytes(csv_bytes(members(4, "T")))  # beside the source folders
    database = tmp_path / "w.duckdb"

    summary = ingest(inbox, catalog, database)

    assert query(database, "select count(*) from raw.members") == [(4,)]
    assert {result.file_name: result.status for result in summary.files if result.source == "members"} == {
        "batch.csv": "loaded",
        "older": "ignored",
        "gone.csv": "ignored",
        "pipe.csv": "ignored",
    }
    rendered = summary.render()
    assert "WARNING ignored members/older: not read: a folder" in rendered
    assert "WARNING ignored members/gone.csv: not read: not a regular file" in rendered
    assert f"not read: {inbox / 'members.csv'} is in the inbox but in no source folder" in caplog.text
    # the ledger names where the broken link is, not the target it points to
    assert query(database, "select file_path from raw.file_ledger where file_name = 'gone.csv'") == [
        (str((inbox / "members" / "gone.csv").absolute()),)
    ]
    assert query(database, "select file_name from raw.ignored_files order by 1") == [
        ("gone.csv",),
        ("older",),
        ("pipe.csv",),
    ]
    assert_reconciles(database)


def test_offsets_are_converted_to_utc_and_an_impossible_offset_is_quarantined(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    rows = members()
    rows[0]["updated_at"] = "2026-11-01T10:00:00+02:00"
    rows[1]["updated_at"] = "2026-11-01T10:00:00-05:30"
    rows[2]["updated_at"] = "2026-11-01T10:00:00+14:00"
    rows[3]["updated_at"] = "2026-11-01T10:00:00+25:00"
    write_csv(inbox / "members" / "offsets.csv", rows)
    database = tmp_path / "w.duckdb"

    ingest(inbox, catalog, database)

    updated = dict(query(database, "select member_id, updated_at from raw.members where member_id in ('M1','M2','M3')"))
    assert updated == {
        "M1": datetime(2026, 11, 1, 8, 0),
        "M2": datetime(2026, 11, 1, 15, 30),
        "M3": datetime(2026, 10, 31, 20, 0),
    }
    assert query(database, "select row_number, reason from raw.quarantine") == [(4, "bad_timestamp:updated_at")]
    assert_reconciles(database)


def test_one_oversized_and_one_malformed_row_are_quarantined_alone(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    rows = members()
    rows[4]["email"] = "x" * (10 * 1024 * 1024)  # a 10 MB field
    lines = csv_bytes(rows).split(b"\n")
    lines[10] += b",an,extra,field"  # data row 10 has too many fields
    (inbox / "members" / "dirty.csv").write_bytes(b"\n".join(lines))
    database = tmp_path / "w.duckdb"

    summary = ingest(inbox, catalog, database)

    assert status_of(summary, "dirty.csv")[0] == "loaded"
    assert dict(query(database, "select row_number, reason from raw.quarantine")) == {
        5: "too_long:email",
        10: "malformed_row:too_many_fields",
    }
    assert query(database, "select count(*) from raw.members") == [(ROWS - 2,)]
    # Rows after the malformed one keep their place in the file (the later row of a key wins by it).
    assert query(database, "select _row_number from raw.members where member_id = 'M11'") == [(11,)]
    assert query(database, "select max(length(record)) < 3 * ? from raw.quarantine", [MAX_VALUE_LENGTH]) == [(True,)]
    assert_reconciles(database)


def test_one_bad_row_never_rejects_its_file_however_small_but_two_over_the_share_do(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    tiny = members(2, "T")
    tiny[1]["email"] = "x" * (10 * 1024 * 1024)  # one 10 MB field in a file of two rows (50%)
    write_csv(inbox / "members" / "tiny.csv", tiny)
    pair = members(3, "P")
    pair[0]["email"], pair[1]["country"] = "", ""  # two rows of three: mass quarantine, rejected
    write_csv(inbox / "members" / "pair.csv", pair)
    database = tmp_path / "w.duckdb"

    summary = ingest(inbox, catalog, database, accept=True)

    assert status_of(summary, "tiny.csv")[0] == "loaded"
    assert query(database, "select member_id from raw.members") == [("T1",)]
    assert query(database, "select row_number, reason from raw.quarantine") == [(2, "too_long:email")]
    assert status_of(summary, "pair.csv") == (
        "rejected",
        "2 of 3 rows break the schema (66.7%, more than the 5.0% allowed: a changed export format?)",
    )
    assert_reconciles(database)


def test_text_after_a_closing_quote_is_one_quarantined_row_but_a_quote_never_closed_rejects_the_file(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    rows = members()
    rows[2]["email"] = "STRAY"
    data = csv_bytes(rows).replace(b"STRAY", b'"abc"def@example.com')  # data row 3: text after the quote
    (inbox / "members" / "stray.csv").write_bytes(data)
    database = tmp_path / "w.duckdb"

    summary = ingest(inbox, catalog, database)

    assert status_of(summary, "stray.csv")[0] == "loaded"
    assert query(database, "select row_number, reason from raw.quarantine") == [(3, "malformed_row:stray_quote")]
    assert query(database, "select count(*) from raw.members") == [(ROWS - 1,)]
    assert query(database, "select _row_number from raw.members where member_id = 'M4'") == [(4,)]
    assert_reconciles(database)

    (inbox / "members" / "stray.csv").unlink()
    rows = members(ROWS, "Q")
    rows[2]["email"] = "OPEN"
    data = csv_bytes(rows).replace(b"OPEN", b'"abc@example.com')  # the quote runs on to the end of the file
    (inbox / "members" / "open.csv").write_bytes(data)
    assert_rejected(inbox, catalog, tmp_path / "w2.duckdb", "open.csv", "a quote opened at line 4 is never closed")


def test_a_nul_byte_in_one_field_is_that_rows_problem_not_the_files(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    rows = members()
    rows[4]["email"] = "NULHERE"
    (inbox / "members" / "nul.csv").write_bytes(csv_bytes(rows).replace(b"NULHERE", b"m5@exa\0mple.com"))
    database = tmp_path / "w.duckdb"

    summary = ingest(inbox, catalog, database)

    assert status_of(summary, "nul.csv")[0] == "loaded"
    assert query(database, "select row_number, reason from raw.quarantine") == [(5, "nul_byte:email")]
    assert query(database, "select count(*) from raw.members") == [(ROWS - 1,)]
    assert_reconciles(database)


def test_carriage_returns_alone_reject_the_file_with_a_reason_the_operator_can_act_on(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    (inbox / "members" / "old_mac.csv").write_bytes(csv_bytes(members(4), newline="\r"))
    assert_rejected(inbox, catalog, tmp_path / "w.duckdb", "old_mac.csv", "a carriage return alone")

    (inbox / "members" / "old_mac.csv").unlink()
    rows = members()
    rows[4]["email"] = "CRHERE"
    (inbox / "members" / "stray_cr.csv").write_bytes(csv_bytes(rows).replace(b"CRHERE", b"m5@exa\rmple.com"))
    assert_rejected(inbox, catalog, tmp_path / "w2.duckdb", "stray_cr.csv", "a carriage return (or a quote) inside")


def test_a_header_column_without_a_name_rejects_the_file(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    lines = csv_bytes(members(4)).split(b"\n")
    lines = [line + b"," for line in lines if line]  # a trailing comma on every line, as spreadsheets write
    (inbox / "members" / "trailing.csv").write_bytes(b"\n".join(lines) + b"\n")

    assert_rejected(inbox, catalog, tmp_path / "w.duckdb", "trailing.csv", "header column 9 has no name")


def test_bad_enums_are_quarantined_and_unknown_members_loaded(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    jobs = [service_job(f"J{n}", member_id="M-NOBODY") for n in range(1, ROWS + 1)]
    jobs[0]["service_type"] = "teleport"
    write_csv(inbox / "service_jobs" / "jobs.csv", jobs)
    database = tmp_path / "w.duckdb"

    ingest(inbox, catalog, database)

    assert query(database, "select row_number, reason from raw.quarantine") == [(1, "bad_enum:service_type")]
    assert query(database, "select count(*) from raw.service_jobs where member_id = 'M-NOBODY'") == [(ROWS - 1,)]
    assert_reconciles(database)


# ---------------------------------------------------------------- files that are rejected


def test_a_latin1_byte_rejects_the_file(prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path) -> None:
    data = csv_bytes(members()).split(b"\n")
    data[11] = data[11].replace(b"@example", "@ex\u00e9mple".encode("latin-1"))
    (inbox / "members" / "latin1.csv").write_bytes(b"\n".join(data))

    assert_rejected(inbox, catalog, tmp_path / "w.duckdb", "latin1.csv", "not UTF-8 (byte 0xe9 at line 12)")


def test_a_png_named_csv_is_rejected(prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path) -> None:
    (inbox / "members" / "photo.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))

    assert_rejected(inbox, catalog, tmp_path / "w.duckdb", "photo.csv", "binary")


def test_a_truncated_gzip_is_rejected(prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path) -> None:
    whole = gzip.compress(csv_bytes(members(2000)))
    (inbox / "members" / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])

    assert_rejected(inbox, catalog, tmp_path / "w.duckdb", "cut.csv.gz", "gzip")


def test_a_missing_required_column_rejects_the_file(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    write_csv(inbox / "members" / "old_format.csv", [{k: v for k, v in member("M1").items() if k != "updated_at"}])

    assert_rejected(inbox, catalog, tmp_path / "w.duckdb", "old_format.csv", "missing required columns: updated_at")


def test_more_than_the_allowed_share_quarantined_rejects_the_file(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    at_limit = members(round(1 / SHARE), "A")  # exactly the allowed share: loads
    at_limit[0]["country"] = ""
    over = members(round(1 / SHARE), "B")  # one row more than the share: rejected
    over[0]["country"] = ""
    over[1]["country"] = ""
    write_csv(inbox / "members" / "at_limit.csv", at_limit)
    write_csv(inbox / "members" / "over.csv", over)

    assert_rejected(inbox, catalog, tmp_path / "w.duckdb", "over.csv", f"2 of {round(1 / SHARE)} rows break the schema")
    summary = ingest(inbox, catalog, tmp_path / "w3.duckdb", accept=True)
    assert status_of(summary, "at_limit.csv")[0] == "loaded"


# ---------------------------------------------------------------- the catalogue


def rewrite_product(catalog: Path, sku: str, **changes: str) -> None:
    path = catalog / "products.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    write_csv(path, [{**row, **changes} if row["product_sku"] == sku else row for row in rows])


@pytest.mark.parametrize(
    ("sku", "changes", "reason"),
    [
        ("C70", {"base_points": "-5"}, "below_minimum:base_points"),
        ("C70", {"base_points": "1.5"}, "bad_integer:base_points"),
        ("C70", {"base_points": "lots"}, "bad_integer:base_points"),
        ("C70", {"category": "drone"}, "bad_enum:category"),
        ("C70", {"product_sku": "EOS-R5"}, "duplicate product_sku"),
        ("C70", {"superseded_by": "NO-SUCH", "superseded_on": "2025-01-01"}, "superseded_by NO-SUCH is not"),
        ("EOS-R5M2", {"superseded_by": "EOS-R5", "superseded_on": "2025-01-01"}, "a cycle"),
    ],
)
def test_a_bad_catalogue_row_fails_the_night_naming_the_sku_and_line(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path, sku: str, changes: dict[str, str], reason: str
) -> None:
    rewrite_product(catalog, sku, **changes)
    named = changes.get("product_sku", sku)
    line = {"EOS-R5": 2, "C70": 3, "EOS-R5M2": 4}[sku]
    if reason == "a cycle":
        named, line = "EOS-R5", 2  # the first product on the cycle

    with pytest.raises(InputRejected) as failure:
        ingest(inbox, catalog, tmp_path / "w.duckdb", accept=True)

    message = str(failure.value)
    assert f"bad catalogue row in products.csv: product_sku {named} at line {line}: " in message
    assert reason in message and "\n" not in message


def test_a_bad_catalogue_row_is_named_by_its_line_in_the_file_after_a_name_spanning_two_lines(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    rewrite_product(catalog, "EOS-R5", product_name="EOS R5\n(body only)")  # line 2 runs on to line 3
    rewrite_product(catalog, "EOS-R5M2", base_points="-5")  # data row 3, on line 5 of the file

    with pytest.raises(InputRejected) as failure:
        ingest(inbox, catalog, tmp_path / "w.duckdb", accept=True)

    assert "product_sku EOS-R5M2 at line 5: below_minimum:base_points" in str(failure.value)


def test_an_empty_or_bad_service_centre_list_fails_the_night(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    write_csv(catalog / "service_centres.csv", [], header=list(TINY_CENTRES[0]))
    with pytest.raises(InputRejected, match="service_centres.csv: centre_id .* no rows"):
        ingest(inbox, catalog, tmp_path / "w.duckdb")
    write_csv(catalog / "service_centres.csv", [TINY_CENTRES[0], {**TINY_CENTRES[1], "centre_type": "garage"}])
    with pytest.raises(InputRejected, match="centre_id AP-IT at line 3: bad_enum:centre_type"):
        ingest(inbox, catalog, tmp_path / "w2.duckdb")


def test_restoring_an_older_catalogue_restores_it_and_each_night_records_its_catalogue(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    database = tmp_path / "w.duckdb"
    original = (catalog / "products.csv").read_bytes()
    ingest_all(inbox=inbox, catalog=catalog, database=database, as_of=date(2026, 11, 18))
    rewrite_product(catalog, "C70", base_points="999")
    ingest_all(inbox=inbox, catalog=catalog, database=database, as_of=date(2026, 11, 19))
    (catalog / "products.csv").write_bytes(original)
    ingest_all(inbox=inbox, catalog=catalog, database=database, as_of=date(2026, 11, 20))

    snapshots = query(
        database, "select as_of_date, sha256 from raw.catalog_snapshots where source = 'products' order by 1"
    )
    assert [sha for _, sha in snapshots][0] == [sha for _, sha in snapshots][2] != [sha for _, sha in snapshots][1]
    in_use = "(select max(_file_id) from raw.products)"
    assert query(
        database, f"select base_points from raw.products where _file_id = {in_use} and product_sku = 'C70'"
    ) == [(int(TINY_PRODUCTS[1]["base_points"]),)]
    assert query(database, "select count(*) from raw.catalog_snapshots") == [(6,)], "2 sources x 3 nights"


# ---------------------------------------------------------------- whole nights (processes)


def night_inbox(root: Path) -> Path:
    """A small inbox for a real night, with the awkward cases a night must get right."""
    inbox = root / "inbox"
    rows = members(ROWS)
    rows.append(member("M1", "2026-11-05T10:00:00+01:00", email="first@example.com"))
    rows.append(member("M1", "2026-11-05T09:00:00Z", email="second@example.com"))  # same instant: later row wins
    rows.append(member("M2", "2026-11-25T10:00:00Z", email="future@example.com"))  # stamped after the night
    rows.append(member("M-LATER", "2026-11-25T10:00:00Z"))
    write_csv(inbox / "members" / "members.csv", rows)
    write_csv(inbox / "registrations" / "registrations.csv", [registration("R1", member_id="M-NOBODY")])
    write_csv(inbox / "service_jobs" / "jobs.csv", [service_job("J1")])
    return inbox


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Path:
    """One night published by the nightly flow (in this process: no `cps` start-up); tests copy its folder."""
    root = tmp_path_factory.mktemp("published")
    paths = night_paths(root, night_inbox(root))
    assert run_night_in_process(paths, NIGHT).as_of == NIGHT
    return root


def test_a_published_night_gets_ties_future_records_and_unknown_members_right(published: Path) -> None:
    warehouse = published / "warehouse" / "cps.duckdb"
    emails = dict(query(warehouse, "select member_id, email from marts.dim_members where member_id in ('M1', 'M2')"))
    assert emails == {"M1": "second@example.com", "M2": "m2@example.com"}
    assert query(warehouse, "select count(*) from marts.dim_members where member_id = 'M-LATER'") == [(0,)]
    assert query(warehouse, "select member_known from marts.fct_registrations where registration_id = 'R1'") == [
        (False,)
    ]
    assert query(warehouse, "select as_of_date, source from raw.catalog_snapshots order by source") == [
        (NIGHT, "products"),
        (NIGHT, "service_centres"),
    ]


def test_a_rejected_file_fails_the_night_with_exit_65_and_accepting_it_publishes(
    published: Path, tmp_path: Path, prefect_api: str
) -> None:
    root = tmp_path / "night"
    shutil.copytree(published, root, ignore=shutil.ignore_patterns("prefect"))
    paths = night_paths(root, root / "inbox")
    before = table_fingerprints(paths.warehouse)
    bad = csv_bytes([member("M900", email="j\u00e9r\u00f4me@example.com")]).decode().encode("latin-1")
    (paths.inbox / "members" / "batch_07.csv").write_bytes(bad)
    next_night = "2026-11-21"

    failed = run_cli(paths.cli_args(next_night), paths.prefect_home, api_url=prefect_api)

    assert failed.returncode == 65, failed.stdout + failed.stderr
    # The one line may end with where the night's run log is: " (details: <log>)".
    last_line = failed.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        "cps: rejected inbox file members/batch_07.csv: not UTF-8 (byte 0xe9 at line 2); "
        "fix or remove it and run again, or pass --accept-rejected"
    )
    assert "Traceback" not in failed.stderr
    assert table_fingerprints(paths.warehouse) == before, "a failed night publishes nothing"

    # An ignored file whose name is markup: the reports must show it as text.
    ignored_name = "<i>notes&co.xlsx"
    (paths.inbox / "members" / ignored_name).write_bytes(b"PK")
    # A file loaded before, sent again under another name: skipped for its content, and named.
    loaded_before = sorted(path for path in (paths.inbox / "members").glob("*.csv") if path.name != "batch_07.csv")[0]
    (paths.inbox / "members" / "resent.csv").write_bytes(loaded_before.read_bytes())
    accepted = run_cli([*paths.cli_args(next_night), "--accept-rejected"], paths.prefect_home, api_url=prefect_api)

    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "REJECTED (accepted) members/batch_07.csv: not UTF-8 (byte 0xe9 at line 2)" in accepted.stdout
    assert f"ignored members/{ignored_name}" in accepted.stdout + accepted.stderr
    repeated = rf"WARNING skipped members/resent\.csv: repeats {re.escape(loaded_before.name)} \(same content already"
    assert re.search(repeated, accepted.stdout), accepted.stdout
    # The night's copy of the site moved every file seen before: under their own names they are no news,
    # nor is the unchanged catalogue.
    assert accepted.stdout.count("WARNING skipped") == 1, accepted.stdout
    overview = (paths.reports / next_night / "overview.html").read_text(encoding="utf-8")
    listed = overview.split("Inbox files not loaded tonight", 1)[1].split("</section>", 1)[0]
    assert "batch_07.csv" in listed and "not UTF-8 (byte 0xe9 at line 2)" in listed and "unknown" in listed
    assert "&lt;i&gt;notes&amp;co.xlsx" in listed and "<i>notes" not in overview
    first_night = (paths.reports / NIGHT.isoformat() / "overview.html").read_text(encoding="utf-8")
    assert "Every inbox file was loaded tonight: none rejected, none ignored." in first_night
    assert query(paths.warehouse, "select as_of_date, file_name from raw.rejected_files") == [
        (date.fromisoformat(next_night), "batch_07.csv")
    ]
    assert query(paths.warehouse, "select count(*) from raw.reconciliation where not balanced") == [(0,)]

    # Accepted once, not for good: left in the inbox, the file loaded nothing, so the next night reads
    # it again and fails on it too (it is neither "already loaded" nor skipped in silence).
    # Run as a scheduler runs it (its output captured, progress at its default): one line, nothing else.
    again = run_cli(
        paths.cli_args("2026-11-22"), paths.prefect_home, api_url=prefect_api, extra_env={"CPS_PROGRESS": "auto"}
    )
    assert again.returncode == 65, again.stdout + again.stderr
    (line,) = again.stderr.strip().splitlines()
    assert line.startswith("cps: rejected inbox file members/batch_07.csv: not UTF-8"), line
    assert again.stdout == ""
    run_log = Path(re.fullmatch(r".*\(details: (.+\.log)\)", line).group(1))  # type: ignore[union-attr]
    assert "ingest members/batch_07.csv rejected" in run_log.read_text(encoding="utf-8"), "progress is in its log"


# ---------------------------------------------------------------- policy overrides of a night


def test_a_nights_policy_override_reaches_ingestion_and_a_misspelt_one_stops_the_night(
    prefect_harness: None, inbox: Path, catalog: Path, tmp_path: Path
) -> None:
    """Overrides (CPS_POLICY_OVERRIDES) are the night's policy for every step, not for dbt alone."""
    from pipelines.core.errors import UsageError

    at_limit = members(round(2 / SHARE), "A")  # exactly the shipped share: the shipped policy loads it
    at_limit[0]["country"], at_limit[1]["country"] = "", ""
    write_csv(inbox / "members" / "at_limit.csv", at_limit)
    paths = night_paths(tmp_path / "night", inbox)

    misspelt_name = "not a policy value: max_quarantine_shares; valid names: .*max_quarantined_share"
    with pytest.raises(UsageError, match=misspelt_name) as misspelt:
        run_night_in_process(paths, NIGHT, catalog, policy_overrides={"max_quarantine_shares": 0.5})
    assert misspelt.value.exit_code == 2
    assert not paths.warehouse.exists(), "a refused night touches nothing"

    with pytest.raises(InputRejected, match=r"members/at_limit\.csv: 2 of \d+ rows break the schema"):
        run_night_in_process(paths, NIGHT, catalog, policy_overrides={"max_quarantined_share": SHARE / 2})
    assert not paths.warehouse.exists(), "a rejected night publishes nothing"
