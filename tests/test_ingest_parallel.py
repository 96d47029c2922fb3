"""Ingestion at speed: files loaded two at a time keep their arrival order, content seen twice in one night
loads once, typed Parquet columns are taken as they are, and the fast ways of reading a value give what
the slow ones give.

Real DuckDB on small files the tests write; the flow runs on the suite's real Prefect API.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.core.sources import MEMBERS, REGISTRATIONS
from pipelines.ingestion.ingest import ingest_all, reconcile
from tests.test_faults_inputs import catalog  # noqa: F401  (the tiny catalogue fixture)
from tests.test_ingest import database, load, member, quarantine, query, registration, write_csv  # noqa: F401

NIGHT = date(2026, 11, 20)


def test_files_loaded_together_keep_file_name_order_and_same_content_loads_once(
    prefect_harness: None,
    tmp_path: Path,
    catalog: Path,  # noqa: F811
    database: Path,  # noqa: F811
) -> None:
    inbox = tmp_path / "inbox"
    folder = inbox / "members"
    # Big and small files mixed, so that a later file may finish loading before an earlier one.
    write_csv(folder / "2026-11-01_a.csv", [member(f"A{number}") for number in range(3000)])
    write_csv(folder / "2026-11-01_b.csv", [member("A1", "2026-11-01T10:00:00Z", email="b@example.com")])
    copy = folder / "2026-11-01_c.csv"
    copy.write_bytes((folder / "2026-11-01_b.csv").read_bytes())  # same content again, same night
    write_csv(folder / "2026-11-02_d.csv", [member(f"D{number}") for number in range(2000)] + [member("")])
    (folder / "2026-11-02_e.txt").write_text("not a batch")
    write_csv(folder / "2026-11-03_f.csv", [member("A1", "2026-11-03T10:00:00Z", email="f@example.com")])
    write_csv(inbox / "registrations" / "r.csv", [registration("R1")])
    (inbox / "service_jobs").mkdir(parents=True)

    summary = ingest_all(inbox=inbox, catalog=catalog, database=database, as_of=NIGHT, max_quarantined_share=1.0)

    members = [(r.file_name, r.status, r.file_id) for r in summary.files if r.source == "members"]
    assert members == [
        ("2026-11-01_a.csv", "loaded", 3),
        ("2026-11-01_b.csv", "loaded", 4),
        ("2026-11-01_c.csv", "skipped", None),
        ("2026-11-02_d.csv", "loaded", 5),
        ("2026-11-03_f.csv", "loaded", 6),
        ("2026-11-02_e.txt", "ignored", 7),
    ]
    (skipped,) = [r for r in summary.files if r.file_name == "2026-11-01_c.csv"]
    assert skipped.error == "same content already loaded as file 4"
    assert query(database, "select file_id, file_name from raw.file_ledger where source = 'registrations'") == [
        (8, "r.csv")
    ]
    assert query(database, "select _file_id, email from raw.members where member_id = 'A1' order by _file_id") == [
        (3, "a1@example.com"),
        (4, "b@example.com"),
        (6, "f@example.com"),
    ]
    assert query(database, "select file_id, row_number, reason from raw.quarantine") == [
        (5, 2001, "missing_required:member_id")
    ]
    assert reconcile(database) == 8

    again = ingest_all(inbox=inbox, catalog=catalog, database=database, as_of=NIGHT, max_quarantined_share=1.0)

    assert {r.status for r in again.files if r.source in ("members", "registrations")} == {"skipped", "ignored"}
    assert query(database, "select count(*) from raw.members") == [(3000 + 1 + 2000 + 1,)]


def write_table(path: Path, columns: dict[str, pa.Array]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def test_typed_parquet_columns_are_taken_as_they_are_and_other_types_are_checked_as_text(
    tmp_path: Path,
    database: Path,  # noqa: F811
) -> None:
    utc = pa.timestamp("us", tz="UTC")
    typed = write_table(
        tmp_path / "registrations.parquet",
        {
            "registration_id": pa.array(["R1", "R2", "R3"]),
            "member_id": pa.array(["M1", "M1", "M1"]),
            "product_sku": pa.array(["EOS-R5", "EOS-R5", "EOS-R5"]),
            "purchase_date": pa.array([date(2021, 5, 1), None, date(2021, 5, 3)]),
            "second_hand": pa.array([True, None, False]),  # blank takes the default (false)
            "registered_at": pa.array([datetime(2021, 5, 2, 9), datetime(2021, 5, 2, 10), None], type=utc),
            "removed_at": pa.array([None, None, None], type=utc),
            "updated_at": pa.array([datetime(2021, 5, 2, 9), datetime(2021, 5, 2, 10), datetime(2021, 5, 3)], type=utc),
        },
    )
    load(database, REGISTRATIONS, typed)

    assert query(
        database,
        "select registration_id, purchase_date, second_hand, registered_at, updated_at, _row_number "
        "from raw.registrations order by 1",
    ) == [
        ("R1", date(2021, 5, 1), True, datetime(2021, 5, 2, 9), datetime(2021, 5, 2, 9), 1),
        ("R2", None, False, datetime(2021, 5, 2, 10), datetime(2021, 5, 2, 10), 2),
    ]
    assert quarantine(database) == {3: "missing_required:registered_at"}
    (record,) = query(database, "select record from raw.quarantine")[0]
    assert '"registered_at":null' in record and '"updated_at":"2021-05-03 00:00:00+00"' in record

    # A date where a timestamp belongs, or nanoseconds, are not the column's type: read as text and checked.
    other = write_table(
        tmp_path / "members.parquet",
        {
            **{name: pa.array([value, value]) for name, value in member("M1").items() if name != "joined_at"},
            "joined_at": pa.array([date(2020, 1, 1), date(2020, 1, 2)]),
            "updated_at": pa.array([datetime(2026, 11, 1, 10, 0, 0, 1), datetime(2026, 11, 1, 11)], pa.timestamp("ns")),
        },
    )
    load(database, MEMBERS, other)

    assert query(database, "select row_number, reason from raw.quarantine where source = 'members'") == [
        (1, "bad_timestamp:joined_at"),
        (2, "bad_timestamp:joined_at"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10)),
        ("2026-11-01 10:00", datetime(2026, 11, 1, 10)),
        ("2026-11-01T10:00Z", datetime(2026, 11, 1, 10)),
        ("2026-11-01T10:00:00.123456789Z", datetime(2026, 11, 1, 10, 0, 0, 123456)),
        ("2026-11-01T10:00:00+0530", datetime(2026, 11, 1, 4, 30)),
        ("2026-11-01T10:00:00-01", datetime(2026, 11, 1, 11)),
        ("2026-11-01T10:00:00.5+14:00", datetime(2026, 10, 31, 20, 0, 0, 500000)),
        (" 2026-11-01T10:00:00+01:00 ", datetime(2026, 11, 1, 9)),
        (" 2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10)),
        ("2026-11-01T24:00:00Z", datetime(2026, 11, 2)),
        ("2026-02-30T10:00:00Z", None),
        ("2026-11-01T10:00:00+25:00", None),
        ("2026-11-01T10:00:00z", None),
        ("2026-11-01", None),
    ],
)
def test_a_timestamp_in_utc_and_one_with_an_offset_read_the_same_instant(
    tmp_path: Path,
    database: Path,  # noqa: F811
    text: str,
    expected: datetime | None,
) -> None:
    load(database, MEMBERS, write_csv(tmp_path / "members.csv", [member("M1", updated_at=text)]))

    if expected is None:
        assert quarantine(database) == {1: "bad_timestamp:updated_at"}
    else:
        assert query(database, "select updated_at from raw.members") == [(expected,)]


@pytest.mark.parametrize(
    ("email", "country", "reasons"),
    [
        ("\u00a0\u2003", "DE", "missing_required:email"),  # Unicode spaces only: blank
        ("\t", "DE", None),  # a tab is a character, not a space
        ("  x@example.com", " ", "missing_required:country"),
        ("\u00e9@example.com", "DE", None),  # starts with a non-ASCII letter: not blank
        ("", "", "missing_required:email,missing_required:country"),
    ],
)
def test_blank_means_nothing_but_spaces(
    tmp_path: Path,
    database: Path,  # noqa: F811
    email: str,
    country: str,
    reasons: str | None,
) -> None:
    load(database, MEMBERS, write_csv(tmp_path / "members.csv", [member("M1", email=email, country=country)]))

    assert quarantine(database) == ({1: reasons} if reasons else {})
