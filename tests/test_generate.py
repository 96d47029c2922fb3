"""`cps generate`: determinism, the source contract, and every kind of record the rules must handle."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.core.errors import CpsError
from pipelines.core.settings import PROJECT_ROOT
from pipelines.core.sources import INBOX_SOURCES, LEGACY_ACCOUNTS, MEMBERS, REGISTRATIONS, SERVICE_JOBS
from tools.synthetic import generate as generate_module
from tools.synthetic.generate import generate_inbox
from tools.synthetic.registrations import UNKNOWN_SKUS

AS_OF = date(2026, 11, 23)
END_OF_AS_OF = "2026-11-23T23:59:59Z"
MEMBER_COUNT = 400
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
VALID_SERIAL = re.compile(r"[A-Za-z0-9]{4,20}")

PRODUCTS_CSV = (
    (
        "product_sku,product_name,category,is_video,launch_date,base_points,fast_track,"
        "superseded_by,superseded_on,service_end_date\n"
    )
    + """EOS-R5,Canon EOS R5,camera,false,2020-07-09,300,true,EOS-R5M2,2024-08-01,
EOS-R5M2,Canon EOS R5 Mark II,camera,false,2024-08-01,320,true,,,
EOS-R50,Canon EOS R50,camera,false,2023-03-01,40,false,,,
EOS-5D3,Canon EOS 5D Mark III,camera,false,2012-03-22,235,true,,,2023-12-31
RF24-70,Canon RF 24-70mm F2.8L IS USM,lens,false,2019-09-01,150,true,,,
RF50,Canon RF 50mm F1.8 STM,lens,false,2020-12-01,15,false,,,
EF40,Canon EF 40mm f/2.8 STM,lens,false,2012-06-08,15,false,,,
C70,Canon EOS C70,cinema_camera,true,2020-11-01,450,true,,,
XF605,Canon XF605,camcorder,true,2022-09-01,250,true,,,
EL5,Canon Speedlite EL-5,flash,false,2023-02-01,50,false,,,
PRO200,Canon PIXMA PRO-200,printer,false,2020-04-01,40,false,,,
LPE6NH,Canon LP-E6NH,accessory,false,2020-07-09,3,false,,,
FUTURE1,Canon EOS Future,camera,false,2027-06-01,200,false,,,
"""
)
CENTRES_CSV = """centre_id,name,country,centre_type
CSC-DE,Canon Service Centre Krefeld,DE,canon_service_centre
CSC-GB,Canon Service Centre Uxbridge,GB,canon_service_centre
AP-IT,Foto Riparazioni Milano,IT,authorised_partner
AP-AE,Dubai Camera Repairs,AE,authorised_partner
"""


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalog")
    (folder / "products.csv").write_text(PRODUCTS_CSV, encoding="utf-8")
    (folder / "service_centres.csv").write_text(CENTRES_CSV, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory, catalog_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("inbox")
    generate_inbox(out=out, members=MEMBER_COUNT, seed=7, as_of=AS_OF, catalog_dir=catalog_dir)
    return out


def file_digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def as_text(table: pa.Table) -> pa.Table:
    """A Parquet batch read back as the text its CSV twin would hold (for uniform checks)."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            seconds = pc.cast(column, pa.timestamp("s", tz="UTC"))
            columns.append(pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%SZ"))
        else:
            columns.append(pc.cast(column, pa.string()))
    return pa.table(columns, names=table.column_names)


def read_batch(path: Path, column_names: list[str]) -> list[dict[str, str | None]]:
    if path.suffix == ".parquet":
        table = as_text(pq.read_table(path))
    else:
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in column_names}, strings_can_be_null=False
        )
        table = pacsv.read_csv(path, convert_options=convert)
    return [{key: (value if value != "" else None) for key, value in row.items()} for row in table.to_pylist()]


def rows_of(inbox: Path, source_name: str) -> list[dict[str, str | None]]:
    """Every row of a source in arrival order, each tagged with its file's position."""
    source = next(s for s in INBOX_SOURCES if s.name == source_name)
    rows = []
    for position, path in enumerate(sorted((inbox / source_name).iterdir())):
        for row in read_batch(path, source.column_names):
            rows.append({**row, "_file": position})
    return rows


def parses(value: str | None, kind: str) -> bool:
    if value is None:
        return True
    try:
        if kind == "timestamp":
            return bool(ISO_TIMESTAMP.fullmatch(value)) and bool(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
        if kind == "date":
            return bool(datetime.strptime(value, "%Y-%m-%d"))
        return value in ("true", "false")
    except ValueError:
        return False


def well_formed(row: dict[str, str | None], source) -> bool:
    for column in source.columns:
        value = row[column.name]
        if column.required and (value is None or not value.strip()):
            return False
        if column.type.value in ("timestamp", "date", "boolean") and not parses(value, column.type.value):
            return False
        if column.allowed and value is not None and value not in column.allowed:
            return False
    return True


def latest_versions(rows: list[dict[str, str | None]], key: str) -> dict[str, dict[str, str | None]]:
    latest: dict[str, dict[str, str | None]] = {}
    for row in rows:
        current = latest.get(row[key])
        if current is None or (row["updated_at"], row["_file"]) >= (current["updated_at"], current["_file"]):
            latest[row[key]] = row
    return latest


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path, catalog_dir: Path) -> None:
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate_inbox(out=tmp_path / name, members=150, seed=seed, as_of=AS_OF, catalog_dir=catalog_dir)
    first, again, other = (file_digests(tmp_path / name) for name in "abc")
    assert first == again
    assert len(first) >= 6
    assert all(first[name] != other[name] for name in set(first) & set(other))


def test_batches_follow_the_source_contract(inbox: Path) -> None:
    for source in INBOX_SOURCES:
        paths = sorted((inbox / source.name).iterdir())
        assert len(paths) >= 2, source.name
        assert {path.suffix for path in paths} == {".csv", ".parquet"}
        assert sum(path.suffix == ".csv" for path in paths) > sum(path.suffix == ".parquet" for path in paths)
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}_batch_\d{4}\.(csv|parquet)", path.name) for path in paths)
        for path in paths:
            if path.suffix == ".csv":
                header = path.read_text(encoding="utf-8").splitlines()[0]
                assert header == ",".join(source.column_names)
            else:
                schema = pq.read_schema(path)
                assert schema.names == source.column_names
                for column in source.columns:
                    expected = {"date": pa.date32(), "boolean": pa.bool_()}.get(column.type.value, pa.string())
                    if column.type.value == "timestamp":
                        assert pa.types.is_timestamp(schema.field(column.name).type)
                    else:
                        assert schema.field(column.name).type == expected, (path, column.name)


def test_values_are_formatted_and_never_stamped_after_the_as_of_day(inbox: Path) -> None:
    for source in INBOX_SOURCES:
        rows = [row for row in rows_of(inbox, source.name) if well_formed(row, source)]
        assert rows
        for column in source.columns:
            if column.type.value == "timestamp":
                stamps = [row[column.name] for row in rows if row[column.name] is not None]
                assert stamps and max(stamps) <= END_OF_AS_OF, (source.name, column.name)
    members = rows_of(inbox, "members")
    assert all(row["member_id"] and re.fullmatch(r"M\d{8}", row["member_id"]) for row in members)


def test_schema_breaking_rows_are_rare_but_present_in_every_source(inbox: Path) -> None:
    for source in INBOX_SOURCES:
        rows = rows_of(inbox, source.name)
        broken = [row for row in rows if not well_formed(row, source)]
        assert 1 <= len(broken) <= max(3, len(rows) // 500), source.name


def test_members_vary_in_consent_language_and_legacy_accounts(inbox: Path) -> None:
    members = latest_versions(
        [row for row in rows_of(inbox, "members") if well_formed(row, MEMBERS)], "member_id"
    ).values()
    assert len(members) >= MEMBER_COUNT - 3
    assert {row["marketing_opt_in"] for row in members} == {"true", "false"}
    assert len({row["language"] for row in members if row["language"]}) >= 5
    assert any(row["language"] is None for row in members)
    assert 0 < sum(row["legacy_cps_number"] is not None for row in members) < len(members)
    assert len({row["country"] for row in members}) >= 8


def test_every_source_has_change_records_arriving_in_later_files(inbox: Path) -> None:
    for source in INBOX_SOURCES:
        by_key: dict[str, list[dict[str, str | None]]] = {}
        for row in rows_of(inbox, source.name):
            if well_formed(row, source):
                by_key.setdefault(row[source.key], []).append(row)
        later_files = [
            versions
            for versions in by_key.values()
            if len({row["_file"] for row in versions}) > 1
            and all(
                earlier["updated_at"] < later["updated_at"]
                for earlier in versions
                for later in versions
                if later["_file"] > earlier["_file"]
            )
        ]
        assert later_files, source.name


def test_registrations_have_every_status_the_rules_know(inbox: Path, catalog_dir: Path) -> None:
    products = {row["product_sku"]: row for row in pacsv.read_csv(catalog_dir / "products.csv").to_pylist()}
    rows = [row for row in rows_of(inbox, "registrations") if well_formed(row, REGISTRATIONS)]
    first_versions = latest_versions(list(reversed(rows)), "registration_id")  # any version will do below
    latest = latest_versions(rows, "registration_id")
    assert len(latest) >= MEMBER_COUNT * 4

    skus = {row["product_sku"] for row in rows}
    assert skus - set(products) and skus - set(products) <= set(UNKNOWN_SKUS)
    member_ids = {row["member_id"] for row in rows_of(inbox, "members")}
    assert any(row["member_id"] not in member_ids for row in latest.values()), "orphans"

    def blank(value: str | None) -> bool:
        return value is None or not value.strip()

    for column in ("serial_number", "purchase_date", "purchase_country", "retailer"):
        assert any(blank(row[column]) for row in rows), column
    assert any(row[column] is not None and row[column].strip() == "" for row in rows for column in ("retailer",))
    assert any(row["purchase_country"] in ("UK", "EU") for row in rows)
    assert any(
        not blank(row["serial_number"]) and not VALID_SERIAL.fullmatch(row["serial_number"].strip()) for row in rows
    )
    assert any(row["purchase_date"] and row["purchase_date"] > AS_OF.isoformat() for row in rows)
    known = [row for row in rows if row["product_sku"] in products and row["purchase_date"]]
    launch_gap = [
        (
            date.fromisoformat(products[row["product_sku"]]["launch_date"].isoformat())
            - date.fromisoformat(row["purchase_date"])
        ).days
        for row in known
    ]
    assert any(gap > 30 for gap in launch_gap) and any(gap == 30 for gap in launch_gap)
    assert sum(gap <= 0 for gap in launch_gap) > 0.95 * len(launch_gap), "purchases mostly after launch"

    serial_holders: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for row in latest.values():
        if not blank(row["serial_number"]):
            key = (row["product_sku"], row["serial_number"].strip().lower())
            serial_holders.setdefault(key, set()).add((row["registration_id"], row["member_id"]))
    shared = [holders for holders in serial_holders.values() if len(holders) > 1]
    assert any(len({member for _, member in holders}) > 1 for holders in shared), "across members"
    assert any(len({member for _, member in holders}) < len(holders) for holders in shared), "same member twice"

    assert any(row["removed_at"] for row in latest.values())
    assert any(row["second_hand"] == "true" for row in latest.values())
    assert any(row["second_hand"] is None for row in latest.values()), "blank means false"
    assert len(first_versions) == len(latest)


def test_registrations_bought_abroad_exist(inbox: Path) -> None:
    home = {row["member_id"]: row["country"] for row in rows_of(inbox, "members")}
    rows = [row for row in rows_of(inbox, "registrations") if well_formed(row, REGISTRATIONS)]
    abroad = [
        row
        for row in rows
        if row["purchase_country"]
        and row["member_id"] in home
        and row["purchase_country"].strip().upper() not in (home[row["member_id"]], "UK", "EU")
    ]
    assert 0.02 * len(rows) < len(abroad) < 0.3 * len(rows)


def test_kitbags_are_small_for_most_and_large_for_a_few(inbox: Path) -> None:
    latest = latest_versions(rows_of(inbox, "registrations"), "registration_id").values()
    per_member: dict[str, int] = {}
    for row in latest:
        per_member[row["member_id"]] = per_member.get(row["member_id"], 0) + 1
    sizes = sorted(per_member.values())
    assert sizes[len(sizes) // 2] <= 8
    assert sizes[-1] >= 30
    assert 5 <= sum(sizes) / MEMBER_COUNT <= 11


def test_service_jobs_cover_members_non_members_open_and_every_type(inbox: Path, catalog_dir: Path) -> None:
    rows = [row for row in rows_of(inbox, "service_jobs") if well_formed(row, SERVICE_JOBS)]
    latest = latest_versions(rows, "job_id")
    assert MEMBER_COUNT * 0.1 <= len(latest) <= MEMBER_COUNT * 0.3
    assert any(row["member_id"] is None for row in latest.values())
    assert any(row["completed_at"] is None for row in latest.values())
    assert {row["service_type"] for row in latest.values()} == {"repair", "maintenance", "upgrade"}
    centres = {row["centre_id"] for row in latest.values()}
    assert {"CSC-DE", "CSC-GB"} & centres and {"AP-IT", "AP-AE"} & centres
    received = sorted(row["received_at"] for row in latest.values())
    assert received[0] >= "2025-05-01" and received[-1] <= END_OF_AS_OF
    registered = {
        (row["member_id"], row["product_sku"], row["serial_number"])
        for row in rows_of(inbox, "registrations")
        if row["serial_number"]
    }
    member_jobs = [row for row in latest.values() if row["member_id"]]
    matching = sum((row["member_id"], row["product_sku"], row["serial_number"]) in registered for row in member_jobs)
    assert matching > 0.7 * len(member_jobs)
    done = [row for row in latest.values() if row["completed_at"]]
    assert all(row["completed_at"] > row["received_at"] for row in done)


def test_chunks_number_records_without_clashes(tmp_path: Path, catalog_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(generate_module, "CHUNK_MEMBERS", 100)
    result = generate_inbox(out=tmp_path, members=250, seed=3, as_of=AS_OF, catalog_dir=catalog_dir)
    assert len(result.outputs["members"].files) >= 6
    for source in INBOX_SOURCES:
        rows = [row for row in rows_of(tmp_path, source.name) if row[source.key]]
        latest = latest_versions(rows, source.key)
        assert sum(output.rows for name, output in result.outputs.items() if name == source.name) == len(
            rows_of(tmp_path, source.name)
        )
        if source is MEMBERS:
            assert len(latest) == 250
    assert "members" in result.render() and "took" in result.render()


def test_refuses_to_mix_with_an_existing_inbox(tmp_path: Path, catalog_dir: Path) -> None:
    (tmp_path / "members").mkdir()
    (tmp_path / "members" / "old.csv").write_text("x\n", encoding="utf-8")
    with pytest.raises(CpsError, match="not empty: add --replace"):
        generate_inbox(out=tmp_path, members=10, seed=1, as_of=AS_OF, catalog_dir=catalog_dir)
    assert (tmp_path / "members" / "old.csv").is_file(), "refusing must not delete anything"


def test_replace_deletes_only_the_source_folders_files(tmp_path: Path, catalog_dir: Path) -> None:
    (tmp_path / "members").mkdir()
    (tmp_path / "members" / "old.csv").write_text("x\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("kept\n", encoding="utf-8")
    generate_inbox(out=tmp_path, members=10, seed=1, as_of=AS_OF, catalog_dir=catalog_dir, replace=True)
    assert not (tmp_path / "members" / "old.csv").exists()
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "kept\n"
    assert any((tmp_path / "members").iterdir())


def test_cli_generates_for_the_shipped_catalogue(tmp_path: Path) -> None:
    if not (PROJECT_ROOT / "catalog" / "products.csv").is_file():
        pytest.skip("the shipped catalogue is not in the repository yet")
    outcome = CliRunner().invoke(
        app, ["generate", "--members", "120", "--out", str(tmp_path), "--as-of", "2026-11-23", "--seed", "5"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "registrations" in outcome.output
    shipped = {row["product_sku"] for row in pacsv.read_csv(PROJECT_ROOT / "catalog" / "products.csv").to_pylist()}
    skus = {row["product_sku"] for row in rows_of(tmp_path, "registrations")}
    assert skus - shipped <= set(UNKNOWN_SKUS) and skus & shipped


def test_legacy_accounts_are_migrated_or_not_some_video_some_claimed_twice(inbox: Path) -> None:
    accounts = latest_versions(
        [row for row in rows_of(inbox, "legacy_accounts") if well_formed(row, LEGACY_ACCOUNTS)], "legacy_cps_number"
    )
    members = latest_versions(
        [row for row in rows_of(inbox, "members") if well_formed(row, MEMBERS)], "member_id"
    ).values()
    claims: dict[str, int] = {}
    for row in members:
        if row["legacy_cps_number"]:
            claims[row["legacy_cps_number"]] = claims.get(row["legacy_cps_number"], 0) + 1
    assert set(claims) <= set(accounts)  # every claimed number has an old account
    assert set(accounts) - set(claims)  # and some old accounts are not migrated yet
    assert any(count > 1 for count in claims.values())
    old_levels = {row["old_level"] for row in accounts.values()}
    assert "Video" in old_levels and len(old_levels) >= 3 and old_levels <= {"Silver", "Gold", "Platinum", "Video"}
