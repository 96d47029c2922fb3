"""Incremental nights: when a night builds on the current night's stored rows, and that it then
publishes exactly what a full rebuild of the same night publishes.

The decision is tested directly on small warehouses (no dbt). Equality is tested with real in-process
nights (Prefect flow under the test harness, real dbt, real Great Expectations) on a generated inbox
of a few dozen members plus crafted registrations, one for each kind of change between two nights:
night 2 is built twice from the same night-1 warehouse, incrementally and with --full-refresh, and
every published table must hold the same rows (EXCEPT ALL in both directions).
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.core.build_plan import plan_build, policy_sha256
from pipelines.core.nights import NightKind, classify
from pipelines.core.policy import policy
from pipelines.core.settings import PROJECT_ROOT, Settings, dbt_artifacts_dir
from pipelines.core.sources import MEMBERS, REGISTRATIONS
from pipelines.core.warehouse import connect
from pipelines.publishing.nights import record_night
from pipelines.transformation.dbt_schedule import previous_node_seconds
from tests.nightly_helpers import VOLATILE_COLUMNS, NightPaths, night_paths

NIGHT_1 = date(2026, 11, 20)  # C
BETWEEN = date(2026, 11, 21)  # C + 1: no night runs on it
NIGHT_2 = date(2026, 11, 22)  # D
PUBLISHED_SCHEMAS = ("marts", "reporting")

# Crafted members and registrations, one per kind of change (see crafted_inbox)
STAMPED_BETWEEN = "RINC_STAMPED"  # incomplete on C, completed by a version stamped C+1 (file loaded on C)
ARRIVES_TONIGHT = "RINC_TONIGHT"  # first seen tonight: a file loaded on D, stamped on D
LATE_FILE = "RINC_LATE"  # stamped before C, in a file that only arrives on D
REMOVED_AHEAD = "RINC_REMOVED"  # removal dated D, known since C
ANNIVERSARY = "RINC_ANNIV"  # product turns grace_years + 1 on C + 1
SUPERSEDED = "RINC_SUPER"  # product superseded on D
SERVICE_ENDED = "RINC_ENDED"  # product's service ends on C + 1
PURCHASED_AHEAD = "RINC_PURCHASE"  # purchase dated C + 1: purchase_in_future on C
SERIAL_HOLDER = "RINC_HOLDER"  # holds a serial on C, removed by a version stamped C + 1 (file of D)
SERIAL_SECOND = "RINC_SECOND"  # duplicate_serial on C, holds the serial on D
OF_NEW_MEMBER = "RINC_NEWMEMBER"  # its member's record is stamped C + 1: member_known from D on
# A serial's holder kept, and a registration that only an OLD version ties to a serial taken tonight:
# recomputed for that old serial, it must still be ranked in its current serial's group (it was
# counted instead of duplicate_serial when only the old serial's group was recomputed).
KEPT_HOLDER = "RINC_KEPTHOLDER"  # holds MOVED0002 since before C
MOVED_SERIAL = "RINC_MOVED"  # had MOVED0001, corrected to MOVED0002 before C: duplicate_serial
TAKES_OLD_SERIAL = "RINC_TAKESOLD"  # arrives tonight with MOVED0001
NEW_MEMBER = "MINC_NEW"


@dataclass(frozen=True)
class CraftedProducts:
    anniversary: str
    superseded: str
    service_ended: str
    plain: str


def write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in columns})


def crafted_catalog(folder: Path) -> CraftedProducts:
    """The shipped catalogue with four products re-dated so that their points change between the nights."""
    shutil.copytree(PROJECT_ROOT / "catalog", folder)
    with (folder / "products.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        products = list(reader)
    plain = [
        p for p in products if not p["superseded_on"] and not p["service_end_date"] and int(p["base_points"]) >= 100
    ]
    chosen = CraftedProducts(*(p["product_sku"] for p in plain[:4]))
    grace = int(policy()["grace_years"])
    redated = {
        # age grace_years on C, grace_years + 1 on C + 1 (one more decay step)
        chosen.anniversary: {"launch_date": BETWEEN.replace(year=BETWEEN.year - grace - 1).isoformat()},
        chosen.superseded: {
            "launch_date": "2025-01-01",
            "superseded_by": chosen.plain,
            "superseded_on": NIGHT_2.isoformat(),
        },
        chosen.service_ended: {"launch_date": "2025-01-01", "service_end_date": BETWEEN.isoformat()},
        chosen.plain: {"launch_date": "2025-01-01"},
    }
    for product in products:
        product.update(redated.get(product["product_sku"], {}))
    write_csv(folder / "products.csv", columns, products)
    return chosen


def member_row(member_id: str, updated_at: str = "2026-01-05T10:00:00Z") -> dict[str, Any]:
    return {
        "member_id": member_id,
        "email": f"{member_id.lower()}@example.com",
        "country": "DE",
        "language": "de",
        "marketing_opt_in": "true",
        "joined_at": "2026-01-05T10:00:00Z",
        "updated_at": updated_at,
    }


def registration_row(registration_id: str, member_id: str, sku: str, **overrides: Any) -> dict[str, Any]:
    return {
        "registration_id": registration_id,
        "member_id": member_id,
        "product_sku": sku,
        "serial_number": f"SN{registration_id[5:]}",
        "purchase_date": "2026-02-01",
        "purchase_country": "DE",
        "retailer": "Shop",
        "second_hand": "false",
        "registered_at": "2026-02-02T10:00:00Z",
        "updated_at": "2026-02-02T10:00:00Z",
        **overrides,
    }


def crafted_inbox(inbox: Path, products: CraftedProducts) -> Path:
    """Files of night 1 in `inbox`; returns the folder of files that arrive for night 2 (copied in later)."""
    member_columns = MEMBERS.column_names
    registration_columns = REGISTRATIONS.column_names
    owners = [f"MINC_{n}" for n in range(1, 7)]
    write_csv(inbox / "members" / "2026-11-19_crafted.csv", list(member_columns), [member_row(m) for m in owners])
    write_csv(
        inbox / "members" / "2026-11-19_crafted_new.csv",
        list(member_columns),
        [member_row(NEW_MEMBER, updated_at=f"{BETWEEN}T08:00:00Z")],  # known from C + 1 on
    )
    night_1_rows = [
        registration_row(STAMPED_BETWEEN, owners[0], products.plain, retailer=""),
        registration_row(STAMPED_BETWEEN, owners[0], products.plain, updated_at=f"{BETWEEN}T09:00:00Z"),
        registration_row(REMOVED_AHEAD, owners[0], products.plain, removed_at=f"{NIGHT_2}T07:00:00Z"),
        registration_row(ANNIVERSARY, owners[1], products.anniversary, purchase_date="2023-01-01"),
        registration_row(SUPERSEDED, owners[1], products.superseded),
        registration_row(SERVICE_ENDED, owners[2], products.service_ended),
        registration_row(PURCHASED_AHEAD, owners[2], products.plain, purchase_date=BETWEEN.isoformat()),
        registration_row(SERIAL_HOLDER, owners[3], products.plain, serial_number="DUPSERIAL1"),
        registration_row(
            SERIAL_SECOND, owners[4], products.plain, serial_number=" dupserial1 ", registered_at="2026-03-01T10:00:00Z"
        ),
        registration_row(OF_NEW_MEMBER, NEW_MEMBER, products.plain),
        registration_row(KEPT_HOLDER, owners[0], products.plain, serial_number="MOVED0002"),
        registration_row(
            MOVED_SERIAL, owners[1], products.plain, serial_number="MOVED0001", registered_at="2026-03-01T10:00:00Z"
        ),
        registration_row(
            MOVED_SERIAL,
            owners[1],
            products.plain,
            serial_number="MOVED0002",
            registered_at="2026-03-01T10:00:00Z",
            updated_at="2026-04-01T10:00:00Z",
        ),
    ]
    write_csv(inbox / "registrations" / "2026-11-19_crafted.csv", list(registration_columns), night_1_rows)
    later = inbox.parent / "arrives_for_night_2"
    stamped_tonight = {"registered_at": f"{NIGHT_2}T08:00:00Z", "updated_at": f"{NIGHT_2}T08:00:00Z"}
    night_2_rows = [
        registration_row(
            ARRIVES_TONIGHT,
            owners[5],
            products.plain,
            **stamped_tonight,
        ),
        registration_row(LATE_FILE, owners[5], products.plain, serial_number="LATE0001"),
        registration_row(
            TAKES_OLD_SERIAL,
            owners[2],
            products.plain,
            serial_number="MOVED0001",
            **stamped_tonight,
        ),
        registration_row(
            SERIAL_HOLDER,
            owners[3],
            products.plain,
            serial_number="DUPSERIAL1",
            removed_at=f"{BETWEEN}T12:00:00Z",
            updated_at=f"{BETWEEN}T12:00:00Z",
        ),
    ]
    write_csv(later / "registrations" / "2026-11-22_crafted.csv", list(registration_columns), night_2_rows)
    return later


def settings_for(paths: NightPaths, night: date, catalog: Path, full_refresh: bool = False) -> Settings:
    return Settings(
        inbox=paths.inbox,
        warehouse=paths.warehouse,
        reports=paths.reports,
        catalog=catalog,
        as_of=night,
        dbt_node_tasks=False,
        full_refresh=full_refresh,
    )


def run_night(paths: NightPaths, night: date, catalog: Path, full_refresh: bool = False) -> Any:
    from pipelines.flows.nightly import run_nightly

    return run_nightly(settings_for(paths, night, catalog, full_refresh))


def copy_night(source: NightPaths, root: Path) -> NightPaths:
    """Another copy of a published warehouse (same inbox), to build the next night a second way."""
    paths = NightPaths(
        inbox=source.inbox, warehouse=root / "warehouse" / "cps.duckdb", reports=root / "reports", prefect_home=root
    )
    shutil.copytree(source.warehouse.parent, paths.warehouse.parent, ignore=shutil.ignore_patterns("*.lock", ".build"))
    return paths


def published_tables(warehouse: Path, folder: Path) -> dict[str, Path]:
    """Every published table's rows (volatile run timestamps left out) written to parquet files."""
    folder.mkdir(parents=True, exist_ok=True)
    connection = connect(warehouse, read_only=True)
    try:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables"
            f" where table_schema in {PUBLISHED_SCHEMAS} and table_catalog = current_database() order by 1, 2"
        ).fetchall()
        files: dict[str, Path] = {}
        for schema, table in tables:
            columns = [
                row[0]
                for row in connection.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
                    " order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if row[0] not in VOLATILE_COLUMNS
            ]
            path = folder / f"{schema}.{table}.parquet"
            select_list = ", ".join(f'"{column}"' for column in columns)
            connection.execute(f"copy (select {select_list} from {schema}.\"{table}\") to '{path}' (format parquet)")
            files[f"{schema}.{table}"] = path
        return files
    finally:
        connection.close()


def differences(incremental: dict[str, Path], full: dict[str, Path]) -> dict[str, tuple[int, int]]:
    """Per table: rows only in the incremental night, rows only in the full rebuild (EXCEPT ALL both ways)."""
    assert incremental.keys() == full.keys()
    found: dict[str, tuple[int, int]] = {}
    connection = duckdb.connect()
    try:
        for table in incremental:
            a, b = f"read_parquet('{incremental[table]}')", f"read_parquet('{full[table]}')"
            only_a = connection.execute(f"select count(*) from (select * from {a} except all select * from {b})")
            count_a = only_a.fetchone()[0]
            count_b = connection.execute(
                f"select count(*) from (select * from {b} except all select * from {a})"
            ).fetchone()[0]
            if count_a or count_b:
                found[table] = (count_a, count_b)
    finally:
        connection.close()
    return found


def registrations(warehouse: Path) -> dict[str, tuple[str, int, bool]]:
    connection = connect(warehouse, read_only=True)
    try:
        rows = connection.execute(
            "select registration_id, status, effective_points, member_known from marts.fct_registrations"
            " where registration_id like 'RINC_%'"
        ).fetchall()
    finally:
        connection.close()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


@dataclass(frozen=True)
class TwoNights:
    night_1: NightPaths
    incremental: NightPaths
    full: NightPaths
    incremental_summary: Any
    full_summary: Any
    catalog: Path


@pytest.fixture(scope="module")
def two_nights(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> TwoNights:
    from tools.synthetic.generate import generate_inbox

    root = tmp_path_factory.mktemp("incremental")
    catalog = root / "catalog"
    products = crafted_catalog(catalog)
    inbox = root / "inbox"
    generate_inbox(out=inbox, members=30, seed=13, as_of=NIGHT_1, catalog_dir=catalog)
    later = crafted_inbox(inbox, products)
    night_1 = night_paths(root / "night-1", inbox)
    run_night(night_1, NIGHT_1, catalog)
    shutil.copytree(later, inbox, dirs_exist_ok=True)  # files that arrive after night 1
    incremental = copy_night(night_1, root / "night-2-incremental")
    full = copy_night(night_1, root / "night-2-full")
    incremental_summary = run_night(incremental, NIGHT_2, catalog)
    full_summary = run_night(full, NIGHT_2, catalog, full_refresh=True)
    return TwoNights(night_1, incremental, full, incremental_summary, full_summary, catalog)


def test_the_night_after_the_current_one_is_incremental_and_the_rebuild_says_why(two_nights: TwoNights) -> None:
    assert two_nights.incremental_summary.build == f"incremental since {NIGHT_1}"
    assert two_nights.full_summary.build == "full rebuild: --full-refresh was asked for"
    assert f"build: incremental since {NIGHT_1}" in two_nights.incremental_summary.render()


def test_an_incremental_night_recomputes_only_what_changed(two_nights: TwoNights) -> None:
    connection = connect(two_nights.incremental.warehouse, read_only=True)
    try:
        recomputed = {
            row[0]
            for row in connection.execute(
                "select registration_id from intermediate.int_registration_changes"
            ).fetchall()
        }
        total = connection.execute("select count(*) from intermediate.int_registration_status").fetchone()[0]
    finally:
        connection.close()
    crafted = {
        STAMPED_BETWEEN, ARRIVES_TONIGHT, LATE_FILE, REMOVED_AHEAD, ANNIVERSARY, SUPERSEDED, SERVICE_ENDED,
        PURCHASED_AHEAD, SERIAL_HOLDER, SERIAL_SECOND, OF_NEW_MEMBER,
    }  # fmt: skip
    assert crafted <= recomputed
    assert len(recomputed) < total / 2  # the generated members' registrations mostly kept their rows


def dbt_nodes_run(night: NightPaths) -> set[str]:
    """The resource types of the nodes the night's dbt build ran (its run_results.json)."""
    return {node.split(".")[0] for node in previous_node_seconds(dbt_artifacts_dir(night.warehouse) / "target")}


def test_an_incremental_night_does_not_load_the_seeds_again_and_a_full_rebuild_does(two_nights: TwoNights) -> None:
    incremental, full = dbt_nodes_run(two_nights.incremental), dbt_nodes_run(two_nights.full)
    assert "model" in incremental and "test" in incremental
    assert "seed" not in incremental
    assert "seed" in full


def test_every_kind_of_change_changes_the_registration_between_the_nights(two_nights: TwoNights) -> None:
    """What the equality below covers: each crafted registration really moves from night 1 to night 2."""
    before = registrations(two_nights.night_1.warehouse)
    after = registrations(two_nights.incremental.warehouse)
    assert before[STAMPED_BETWEEN][0] == "incomplete" and after[STAMPED_BETWEEN][0] == "counted"
    assert ARRIVES_TONIGHT not in before and after[ARRIVES_TONIGHT][0] == "counted"
    assert LATE_FILE not in before and after[LATE_FILE][0] == "counted"
    assert before[REMOVED_AHEAD][0] == "counted" and after[REMOVED_AHEAD][0] == "removed"
    for decayed in (ANNIVERSARY, SUPERSEDED, SERVICE_ENDED):
        assert before[decayed][0] == after[decayed][0] == "counted"
        assert after[decayed][1] < before[decayed][1], decayed
    assert before[PURCHASED_AHEAD][0] == "invalid" and after[PURCHASED_AHEAD][0] == "counted"
    assert before[SERIAL_HOLDER][0] == "counted" and after[SERIAL_HOLDER][0] == "removed"
    assert before[SERIAL_SECOND][0] == "duplicate_serial" and after[SERIAL_SECOND][0] == "counted"
    assert before[OF_NEW_MEMBER][2] is False and after[OF_NEW_MEMBER][2] is True
    assert before[MOVED_SERIAL][0] == after[MOVED_SERIAL][0] == "duplicate_serial"
    assert before[KEPT_HOLDER][0] == after[KEPT_HOLDER][0] == "counted" and after[TAKES_OLD_SERIAL][0] == "counted"


def test_an_incremental_night_publishes_exactly_what_a_full_rebuild_publishes(
    two_nights: TwoNights, tmp_path: Path
) -> None:
    incremental = published_tables(two_nights.incremental.warehouse, tmp_path / "incremental")
    full = published_tables(two_nights.full.warehouse, tmp_path / "full")
    assert "marts.fct_registrations" in incremental and "marts.dim_members" in incremental
    assert differences(incremental, full) == {}


def test_a_changed_catalogue_rebuilds_the_night_in_full(two_nights: TwoNights, tmp_path: Path) -> None:
    paths = copy_night(two_nights.night_1, tmp_path / "night-2-new-catalogue")
    catalog = tmp_path / "catalog"
    shutil.copytree(two_nights.catalog, catalog)
    with (catalog / "products.csv").open("a", encoding="utf-8") as handle:
        handle.write("CAM-INCR-NEW,Canon Test Body,camera,false,2026-01-01,120,false,,,\n")
    summary = run_night(paths, NIGHT_2, catalog)
    assert summary.build == f"full rebuild: the catalogue changed since {NIGHT_1}"
    rebuilt = published_tables(paths.warehouse, tmp_path / "rebuilt")
    reference = published_tables(two_nights.full.warehouse, tmp_path / "full")
    changed = differences(rebuilt, reference)
    assert "marts.dim_products" in changed  # the new product
    assert not set(changed) & {"marts.fct_registrations", "marts.dim_members", "marts.fct_member_levels"}


# ---------------------------------------------------------------- the decision, without dbt


@pytest.fixture
def recorded_warehouse(tmp_path: Path) -> Path:
    """A warehouse copy whose raw.nights records night 1 as built with this catalogue, policy and project."""
    database = tmp_path / "cps.duckdb"
    connection = connect(database)
    connection.execute("create schema raw")
    connection.execute("create table raw.registrations (registration_id varchar, _file_id bigint)")
    connection.execute("insert into raw.registrations values ('R1', 7)")
    connection.close()
    record_night(database, NIGHT_1, NightKind.NEW, PROJECT_ROOT / "catalog")
    return database


def plan(
    database: Path,
    night: date = NIGHT_2,
    current: date | None = NIGHT_1,
    full_refresh: bool = False,
    catalog: Path = PROJECT_ROOT / "catalog",
) -> str:
    kind = classify(night, current)
    return plan_build(database, night, current, kind, full_refresh, catalog).describe()


def test_a_new_night_builds_on_the_current_one(recorded_warehouse: Path) -> None:
    built = plan_build(recorded_warehouse, NIGHT_2, NIGHT_1, NightKind.NEW, False, PROJECT_ROOT / "catalog")
    assert built.describe() == f"incremental since {NIGHT_1}"
    assert built.files_after == 7  # rows of later files arrived after night 1 was built


def test_every_reason_for_a_full_rebuild(recorded_warehouse: Path, tmp_path: Path) -> None:
    assert plan(recorded_warehouse, full_refresh=True) == "full rebuild: --full-refresh was asked for"
    assert plan(recorded_warehouse, current=None) == "full rebuild: no current night yet"
    assert plan(recorded_warehouse, night=NIGHT_1) == f"full rebuild: re-run of the current night {NIGHT_1}"
    assert plan(recorded_warehouse, night=date(2026, 11, 1)) == (
        f"full rebuild: backfill of a night before the current night {NIGHT_1}"
    )
    assert (
        plan(recorded_warehouse, current=BETWEEN)
        == f"full rebuild: no record of how the current night {BETWEEN} was built"
    )
    assert plan(tmp_path / "none.duckdb") == f"full rebuild: no record of how the current night {NIGHT_1} was built"

    catalog = tmp_path / "catalog"
    shutil.copytree(PROJECT_ROOT / "catalog", catalog)
    with (catalog / "service_centres.csv").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    assert plan(recorded_warehouse, catalog=catalog) == f"full rebuild: the catalogue changed since {NIGHT_1}"

    # Policy values live in the dbt project file, which a test must not edit: night 1's record says
    # it was built with other values instead (what a later edit of the policy gives).
    connection = connect(recorded_warehouse)
    connection.execute("update raw.nights set policy_sha256 = 'another policy'")
    connection.close()
    assert policy_sha256() != "another policy"
    assert plan(recorded_warehouse) == f"full rebuild: the policy changed since {NIGHT_1}"

    connection = connect(recorded_warehouse)
    connection.execute("update raw.nights set policy_sha256 = ?, project_sha256 = 'older models'", [policy_sha256()])
    connection.close()
    assert plan(recorded_warehouse) == f"full rebuild: the dbt project changed since {NIGHT_1}"


def test_a_warehouse_recorded_before_incremental_nights_is_rebuilt_in_full(tmp_path: Path) -> None:
    database = tmp_path / "cps.duckdb"
    connection = connect(database)
    connection.execute("create schema raw")
    connection.execute(
        "create table raw.nights (as_of_date date not null, kind varchar not null, run_at timestamp not null,"
        " catalogue_sha256 varchar, policy_sha256 varchar, policy json)"
    )
    connection.execute("insert into raw.nights values (?, 'night', now(), null, null, null)", [NIGHT_1])
    connection.close()
    assert plan(database) == f"full rebuild: no record of how the current night {NIGHT_1} was built"
    record_night(database, NIGHT_1, NightKind.RERUN, PROJECT_ROOT / "catalog")  # adds the new columns
    assert plan(database) == f"incremental since {NIGHT_1}"
