"""The dbt models on a real DuckDB file: build, published marts, level history over nights, re-runs, backfills."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import astuple
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.core.errors import CpsError, QualityGateFailed
from pipelines.core.policy import level_ladder
from pipelines.transformation.dbt_docs import build_static_docs
from pipelines.transformation.dbt_runner import DbtInvocation, compiled_manifest, parse_in_background, run_dbt
from tests.dbt_fixtures import (
    WITHOUT_UNIT_TESTS,
    build_night,
    create_raw_schema,
    execute,
    load_file,
    member,
    product,
    query,
    registration,
    shared_parse,
)

NIGHT_1 = date(2024, 6, 1)
NIGHT_2 = date(2024, 6, 2)
NIGHT_3 = date(2024, 6, 3)
# Point values are set against the shipped ladder, so the test follows the policy vars.
SILVER_POINTS = level_ladder()[1].min_points
LENS_POINTS = 100
BODY_POINTS = SILVER_POINTS + 100  # with the lens: Silver, still below Gold
assert level_ladder()[2].min_points > LENS_POINTS + BODY_POINTS, "the test needs Gold above lens + body"

# The published tables these models own and the columns analysts rely on (their contracts in the models' yml).
PUBLISHED_COLUMNS = {
    "dim_products": [
        "product_sku", "product_name", "category", "is_video", "fast_track", "launch_date", "base_points",
        "age_years", "is_superseded", "is_service_ended", "effective_points", "as_of_date",
    ],
    "dim_members": [
        "member_id", "country", "language", "marketing_opt_in", "level", "validated_points", "pending_points",
        "counted_products", "action_required_count", "invitation_eligible", "corporate_eligible",
        "eligible_tiers", "next_level", "points_to_next_level", "as_of_date", "email", "joined_at",
        "legacy_cps_number", "next_change_on", "points_after_next_change",
    ],
    "fct_points_forecast": ["member_id", "change_on", "validated_points", "level", "as_of_date"],
    "rpt_level_at_risk": [
        "member_id", "email", "level", "level_after", "drop_on", "validated_points", "points_after",
        "points_to_keep_level", "pending_points", "as_of_date",
    ],
    "rpt_migration": [
        "legacy_cps_number", "member_id", "old_level", "level", "comparison", "points_to_old_level",
        "pending_points", "as_of_date",
    ],
    "rpt_come_back": ["email", "old_level", "member_since", "as_of_date"],
    "fct_registrations": [
        "registration_id", "member_id", "product_sku", "status", "reasons", "effective_points",
        "pending_points", "as_of_date",
    ],
    "fct_member_levels": ["member_id", "as_of_date", "level", "validated_points"],
    "fct_level_changes": ["member_id", "as_of_date", "previous_level", "level", "direction"],
    "rpt_welcome_packs": ["member_id", "due_on"],
    "rpt_action_required": [
        "member_id", "registration_id", "product_sku", "product_name", "status", "reasons", "explanation",
        "as_of_date",
    ],
}  # fmt: skip


def write_inbox(database: Path) -> None:
    """Three members with products and one joining on night 2, chosen so levels move between nights.

    - M1: a lens from the start (Red); a body registered on night 2 takes it just past Silver.
    - M2: a camera worth exactly Silver's points whose successor comes out on night 3, capping it: Red again.
    - M3: no counted product; its lens repeats M1's serial (other case, spaces), so it is a duplicate.
    - M4: joins on night 2.
    """
    create_raw_schema(database)
    load_file(
        database,
        "products",
        [
            product("BODY", base_points=BODY_POINTS, launch_date="2023-01-01"),
            product("LENS", base_points=LENS_POINTS, launch_date="2023-01-01", category="lens"),
            product("OLDCAM", base_points=SILVER_POINTS, launch_date="2023-01-01", superseded_by="BODY",
                    superseded_on="2024-06-03"),
        ],
    )  # fmt: skip
    load_file(database, "members", [member("M1"), member("M2"), member("M3", marketing_opt_in=False)])
    load_file(database, "members", [member("M4", joined_at="2024-06-02 08:00:00", updated_at="2024-06-02 08:00:00")])
    load_file(
        database,
        "registrations",
        [
            registration("R1", "M1", "LENS", serial_number="LN0001"),
            registration("R2", "M2", "OLDCAM"),
            registration("R3", "M3", "LENS", serial_number=" ln0001 ", registered_at="2024-03-01 10:00:00",
                         updated_at="2024-03-01 10:00:00"),
            registration("R4", "M1", "BODY", retailer="  "),
            registration("R5", "M1", "BODY", registered_at="2024-06-02 12:00:00", updated_at="2024-06-02 12:00:00"),
            registration("R6", "GHOST", "LENS"),
        ],
    )  # fmt: skip


@pytest.fixture(scope="module")
def first_night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inbox built as NIGHT_1 (models and data tests), once for the module: each test copies it."""
    work = tmp_path_factory.mktemp("first-night")
    database = work / "cps.duckdb"
    write_inbox(database)
    build_night(database, NIGHT_1, work / "dbt", WITHOUT_UNIT_TESTS)
    return database


@pytest.fixture
def warehouse(first_night: Path, tmp_path: Path) -> Path:
    """This test's own copy of NIGHT_1, built."""
    database = tmp_path / "cps.duckdb"
    shutil.copyfile(first_night, database)
    return database


def test_build_with_unit_tests_publishes_the_marts_and_docs_generate(warehouse: Path, tmp_path: Path) -> None:
    # Unit tests of incremental models read the columns of their table ({{ this }}), so they run
    # once the models exist: NIGHT_1 built (the fixture), then every unit test.
    build_night(warehouse, NIGHT_1, tmp_path / "dbt", ("test", "--select", "test_type:unit"))

    for table, columns in PUBLISHED_COLUMNS.items():
        present = {row[0] for row in query(warehouse, f"select column_name from (describe marts.{table})")}
        assert set(columns) <= present, f"marts.{table} lacks {set(columns) - present}"

    statuses = dict(query(warehouse, "select registration_id, status || ':' || reasons from marts.fct_registrations"))
    assert statuses == {
        "R1": "counted:",
        "R2": "counted:",
        "R3": "duplicate_serial:",
        "R4": "incomplete:missing_retailer",
        "R6": "counted:",
    }
    members = query(
        warehouse,
        "select member_id, level, validated_points, pending_points, action_required_count, eligible_tiers"
        " from marts.dim_members order by member_id",
    )
    assert members == [
        ("M1", "Red", LENS_POINTS, BODY_POINTS, 1, ""),
        ("M2", "Silver", SILVER_POINTS, 0, 0, "Silver"),
        ("M3", "Red", 0, 0, 1, ""),
    ]
    actions = query(warehouse, "select registration_id, explanation from marts.rpt_action_required order by 1")
    assert actions[0] == ("R3", actions[0][1]) and "already registered" in actions[0][1]
    assert actions[1] == ("R4", "Add the retailer you bought it from")

    # Python's ladder (pipelines.core.policy) is the one dbt built.
    assert query(warehouse, "select * from intermediate.int_level_ladder order by level_rank") == [
        astuple(rung) for rung in level_ladder()
    ]

    build_night(warehouse, NIGHT_1, tmp_path / "dbt", ("docs", "generate"))
    assert (tmp_path / "dbt" / "target" / "catalog.json").is_file()
    assert (tmp_path / "dbt" / "target" / "index.html").is_file()


def test_the_build_runs_on_the_parse_done_ahead_and_its_docs_only_read_beside_another_reader(
    warehouse: Path, tmp_path: Path
) -> None:
    """A night parses while it ingests; its build runs on that parse, and the docs on what the build
    compiled, through the profile's read-only target: beside the gate, which holds the file read-only in
    its own process. dbt opening the file for writing is refused meanwhile: the docs must not."""
    artifacts = tmp_path / "dbt"
    with shared_parse(warehouse, artifacts) as database:
        invocation = DbtInvocation(database=database, as_of=NIGHT_1, artifacts_dir=artifacts)
        parse_in_background(invocation)
        run_dbt(invocation, ("build", "--select", "stg_products", "--quiet"))
        manifest = compiled_manifest(invocation)
        assert manifest is not None and "model.cps.dim_members" in manifest.nodes
        holder = (
            "import duckdb, sys; connection = duckdb.connect(sys.argv[1], read_only=True); "
            "print('open', flush=True); sys.stdin.read()"
        )
        reader = subprocess.Popen(
            [sys.executable, "-c", holder, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            assert reader.stdout is not None and reader.stdout.readline() == b"open\n"
            with pytest.raises((CpsError, duckdb.Error)):
                build_static_docs(database, NIGHT_1, artifacts, tmp_path / "written", compile_=False)
            page = build_static_docs(database, NIGHT_1, artifacts, tmp_path / "docs", compile_=False, manifest=manifest)
        finally:
            assert reader.stdin is not None
            reader.stdin.close()
            reader.wait(timeout=30)
    catalog = json.loads((artifacts / "target" / "catalog.json").read_text(encoding="utf-8"))
    assert {"model.cps.dim_members", "model.cps.fct_registrations"} <= set(catalog["nodes"])
    assert page.is_file() and "dim_members" in page.read_text(encoding="utf-8")
    # a later command without a parse done ahead leaves nothing compiled to reuse
    with shared_parse(warehouse, artifacts) as database:
        run_dbt(DbtInvocation(database=database, as_of=NIGHT_1, artifacts_dir=artifacts), ("ls", "--quiet"))
        assert compiled_manifest(DbtInvocation(database=database, as_of=NIGHT_1, artifacts_dir=artifacts)) is None


def history(database: Path) -> list[tuple[Any, ...]]:
    return query(
        database,
        "select member_id, as_of_date, level, validated_points from marts.fct_member_levels order by 2, 1",
    )


def changes(database: Path) -> list[tuple[Any, ...]]:
    return query(
        database,
        "select member_id, as_of_date, previous_level, level, direction from marts.fct_level_changes order by 2, 1",
    )


def welcome_packs(database: Path) -> list[tuple[Any, ...]]:
    return query(database, "select member_id, due_on from marts.rpt_welcome_packs order by 1")


def test_consecutive_nights_record_history_changes_and_welcome_packs(warehouse: Path, tmp_path: Path) -> None:
    build_night(warehouse, NIGHT_2, tmp_path / "dbt")

    assert history(warehouse) == [
        ("M1", NIGHT_1, "Red", LENS_POINTS),
        ("M2", NIGHT_1, "Silver", SILVER_POINTS),
        ("M3", NIGHT_1, "Red", 0),
        ("M1", NIGHT_2, "Silver", LENS_POINTS + BODY_POINTS),
        ("M2", NIGHT_2, "Silver", SILVER_POINTS),
        ("M3", NIGHT_2, "Red", 0),
        ("M4", NIGHT_2, "Red", 0),
    ]
    assert changes(warehouse) == [("M1", NIGHT_2, "Red", "Silver", "up")]
    assert welcome_packs(warehouse) == [("M1", NIGHT_2), ("M2", NIGHT_1)]

    # Re-running night 2 replaces it: same rows, nothing duplicated.
    build_night(warehouse, NIGHT_2, tmp_path / "dbt")
    assert len(history(warehouse)) == 7
    assert changes(warehouse) == [("M1", NIGHT_2, "Red", "Silver", "up")]
    assert welcome_packs(warehouse) == [("M1", NIGHT_2), ("M2", NIGHT_1)]

    build_night(warehouse, NIGHT_3, tmp_path / "dbt")
    assert changes(warehouse) == [("M1", NIGHT_2, "Red", "Silver", "up"), ("M2", NIGHT_3, "Silver", "Red", "down")]
    assert welcome_packs(warehouse) == [("M1", NIGHT_2), ("M2", NIGHT_1)]


def test_backfilling_a_past_night_adds_its_ledger_rows_only_and_history_survives_full_refresh(
    warehouse: Path, tmp_path: Path
) -> None:
    build_night(warehouse, NIGHT_3, tmp_path / "dbt")
    published_changes = [("M1", NIGHT_3, "Red", "Silver", "up"), ("M2", NIGHT_3, "Silver", "Red", "down")]
    assert changes(warehouse) == published_changes
    assert welcome_packs(warehouse) == [("M1", NIGHT_3), ("M2", NIGHT_1)]

    # The missed night, afterwards, while NIGHT_3 is the current night: a backfill.
    build_night(warehouse, NIGHT_2, tmp_path / "dbt", current_night=NIGHT_3)

    assert [row[:3] for row in history(warehouse) if row[1] == NIGHT_2] == [
        ("M1", NIGHT_2, "Silver"),
        ("M2", NIGHT_2, "Silver"),
        ("M3", NIGHT_2, "Red"),
        ("M4", NIGHT_2, "Red"),
    ]
    assert len(history(warehouse)) == 3 + 4 + 4
    # Ledgers: the backfilled night adds its own change (against NIGHT_1); NIGHT_3's published rows
    # and M1's welcome pack (due on NIGHT_3, as published) are not recomputed.
    assert changes(warehouse) == [("M1", NIGHT_2, "Red", "Silver", "up"), *published_changes]
    assert welcome_packs(warehouse) == [("M1", NIGHT_3), ("M2", NIGHT_1)]
    assert query(warehouse, "select distinct as_of_date from marts.dim_members") == [(NIGHT_2,)]

    # A full refresh of the current night keeps the recorded history; as a re-run of the current
    # night it replaces that night's change rows (M1 was already Silver on the night before).
    build_night(warehouse, NIGHT_3, tmp_path / "dbt", (*WITHOUT_UNIT_TESTS, "--full-refresh"))
    assert len(history(warehouse)) == 3 + 4 + 4
    assert changes(warehouse) == [("M1", NIGHT_2, "Red", "Silver", "up"), ("M2", NIGHT_3, "Silver", "Red", "down")]
    assert welcome_packs(warehouse) == [("M1", NIGHT_3), ("M2", NIGHT_1)]


def test_a_null_in_a_column_that_must_have_values_fails_the_check_naming_column_and_rows(
    warehouse: Path, tmp_path: Path
) -> None:
    # One row_checks test per model checks all its columns that must have values. The night passed
    # it (the fixture); language may be null, country may not. (dim_members is a view: the rows are
    # broken in the table it shows.)
    execute(warehouse, "update intermediate.int_member_summary set language = null")
    build_night(warehouse, NIGHT_1, tmp_path / "dbt", ("test", "--select", "checks_dim_members"))

    execute(warehouse, "update intermediate.int_member_summary set country = null where member_id in ('M1', 'M3')")
    with pytest.raises(QualityGateFailed, match=r"checks_dim_members: .* \| null in country \(2 rows\);") as raised:
        build_night(warehouse, NIGHT_1, tmp_path / "dbt", ("test", "--select", "checks_dim_members"))
    assert "language" not in str(raised.value)


def test_each_kind_of_row_check_fails_on_its_first_bad_row_and_says_which(warehouse: Path, tmp_path: Path) -> None:
    # The night's rows pass every check (the fixture). Then one bad row per kind of check: each
    # check is named with its count, and the checks that still hold are not.
    checks = ("test", "--select", "checks_dim_members", "checks_dim_products")
    build_night(warehouse, NIGHT_1, tmp_path / "dbt", checks)
    # Boundaries that pass: 0 points, no tiers (''), the highest level with no next level.
    execute(warehouse, "update intermediate.int_member_summary set eligible_tiers = '' where member_id = 'M1'")
    execute(warehouse, "update intermediate.int_member_summary set validated_points = 0 where member_id = 'M2'")
    execute(
        warehouse,
        "update intermediate.int_member_summary set level = 'Platinum', next_level = null, points_to_next_level = null"
        " where member_id = 'M3'",
    )
    build_night(warehouse, NIGHT_1, tmp_path / "dbt", checks)

    execute(
        warehouse,
        "insert into intermediate.int_member_summary"
        " select * from intermediate.int_member_summary where member_id = 'M1'",
    )
    execute(warehouse, "update intermediate.int_member_summary set validated_points = -1 where member_id = 'M2'")
    execute(warehouse, "update intermediate.int_member_summary set level = 'Bronze' where member_id = 'M3'")
    execute(warehouse, "update intermediate.int_member_summary set next_level = 'Red' where member_id = 'M2'")
    execute(
        warehouse, "update intermediate.int_member_summary set eligible_tiers = 'Gold,Silver' where member_id = 'M2'"
    )
    execute(warehouse, "update intermediate.int_member_summary set eligible_tiers = null where member_id = 'M3'")
    execute(warehouse, "update marts.dim_products set category = 'toaster' where product_sku = 'BODY'")
    with pytest.raises(QualityGateFailed) as raised:
        build_night(warehouse, NIGHT_1, tmp_path / "dbt", checks)
    message = str(raised.value)
    for found in (
        "duplicate member_id (1 row)",
        "not true: validated_points >= 0 (1 row)",
        "level not a level (1 row)",
        "next_level not a paid tier (1 row)",
        "eligible_tiers not a list of (Silver, Gold, Platinum, Corporate) (2 rows)",
        "category not in (camera, lens, cinema_camera, camcorder, printer, flash, accessory, other) (1 row)",
    ):
        assert found in message, found
    assert "null in" not in message and "pending_points" not in message


def test_an_incremental_night_checks_the_registrations_it_rewrote_and_a_full_rebuild_all(
    warehouse: Path, tmp_path: Path
) -> None:
    # A stored row breaks a check (a status no rule gives). An incremental night that did not
    # recompute R1 does not read it (its rows are the ones an earlier night checked) ...
    execute(warehouse, "update intermediate.int_registration_status set status = 'bogus' where registration_id = 'R1'")
    execute(warehouse, "delete from intermediate.int_registration_changes")
    execute(warehouse, "insert into intermediate.int_registration_changes values ('R2', 'M2')")
    checks = ("test", "--select", "checks_fct_registrations")
    since = NIGHT_1 - timedelta(days=1)
    build_night(warehouse, NIGHT_1, tmp_path / "dbt", checks, incremental_since=since)

    # ... one that recomputed it does, and so does a full rebuild.
    broken = r"checks_fct_registrations: .* status not in \(removed, .*\) \(1 row\)"
    with pytest.raises(QualityGateFailed, match=broken):
        build_night(warehouse, NIGHT_1, tmp_path / "dbt", checks)
    execute(warehouse, "insert into intermediate.int_registration_changes values ('R1', 'M1')")
    with pytest.raises(QualityGateFailed, match=broken):
        build_night(warehouse, NIGHT_1, tmp_path / "dbt", checks, incremental_since=since)


def test_an_incremental_night_checks_the_members_of_the_rows_it_rewrote_and_a_full_rebuild_all(
    warehouse: Path, tmp_path: Path
) -> None:
    # Stored rows name a member who is not among the members: a registration and a forecast row.
    execute(
        warehouse, "update intermediate.int_registration_status set member_id = 'GHOST' where registration_id = 'R1'"
    )
    execute(warehouse, "insert into intermediate.int_points_forecast values ('GHOST', date '2099-01-01', 1)")
    for changes in ("int_registration_changes", "int_forecast_changes"):
        execute(warehouse, f"delete from intermediate.{changes}")
    tests = (
        "test",
        "--select",
        "relationships_fct_registrations_member_id__member_id__ref_dim_members_",
        "relationships_fct_points_forecast_member_id__member_id__ref_dim_members_",
    )
    since = NIGHT_1 - timedelta(days=1)
    # An incremental night that recomputed neither does not read them ...
    build_night(warehouse, NIGHT_1, tmp_path / "dbt", tests, incremental_since=since)
    # ... a full rebuild does, and so does a night that recomputed them.
    with pytest.raises(QualityGateFailed, match="relationships_fct_registrations_member_id") as raised:
        build_night(warehouse, NIGHT_1, tmp_path / "dbt", tests)
    assert "relationships_fct_points_forecast_member_id" in str(raised.value)
    execute(warehouse, "insert into intermediate.int_registration_changes values ('R1', 'GHOST')")
    execute(warehouse, "insert into intermediate.int_forecast_changes values ('GHOST')")
    with pytest.raises(QualityGateFailed, match="relationships_fct_registrations_member_id") as raised:
        build_night(warehouse, NIGHT_1, tmp_path / "dbt", tests, incremental_since=since)
    assert "relationships_fct_points_forecast_member_id" in str(raised.value)


def test_the_ledger_checks_look_at_tonights_rows_which_are_the_only_ones_a_night_writes(
    warehouse: Path, tmp_path: Path
) -> None:
    # A night writes only rows dated D into the level ledger, so its checks read those (they would
    # otherwise grow with every night recorded). A duplicate dated another night is not read ...
    past_duplicate = f"""
        insert into intermediate.int_member_level_ledger
        select member_id, as_of_date - {{days}}, level, validated_points, pending_points
        from intermediate.int_member_level_ledger where member_id = 'M1' and as_of_date = date '{NIGHT_1}'
    """
    execute(warehouse, past_duplicate.format(days=1))
    execute(warehouse, past_duplicate.format(days=1))
    build_night(warehouse, NIGHT_1, tmp_path / "dbt", ("test", "--select", "int_member_level_ledger"))

    # ... and one dated tonight fails the night.
    execute(warehouse, past_duplicate.format(days=0))
    with pytest.raises(
        QualityGateFailed, match=r"checks_int_member_level_ledger: .* duplicate \(member_id, as_of_date\) \(1 row\)"
    ):
        build_night(warehouse, NIGHT_1, tmp_path / "dbt", ("test", "--select", "int_member_level_ledger"))


def test_tonights_history_rows_must_equal_the_members_and_a_difference_lists_its_rows(
    warehouse: Path, tmp_path: Path
) -> None:
    # The test compares both sides' count and hash sum first and lists rows only when they differ:
    # each kind of difference must still fail it, naming the rows.
    match = ("test", "--select", "fct_member_levels_match_dim_members")
    build_night(warehouse, NIGHT_1, tmp_path / "dbt", match)
    ledger = "intermediate.int_member_level_ledger"
    tonight = f"as_of_date = date '{NIGHT_1}'"

    # the same rows in another order, and another night's rows changed: still equal
    execute(warehouse, f"create table scratch as select * from {ledger} order by member_id desc")
    execute(warehouse, f"delete from {ledger}; insert into {ledger} select * from scratch; drop table scratch")
    execute(warehouse, f"insert into {ledger} select member_id, as_of_date - 1, 'Red', 0, 0 from {ledger}")
    build_night(warehouse, NIGHT_1, tmp_path / "dbt", match)

    # two members' points swapped: same count, same multiset of points, other rows
    execute(
        warehouse,
        f"update {ledger} set validated_points = case member_id when 'M1' then (select validated_points from {ledger}"
        f" where member_id = 'M2' and {tonight}) else (select validated_points from {ledger} where member_id = 'M1'"
        f" and {tonight}) end where member_id in ('M1', 'M2') and {tonight}",
    )
    assert query(
        warehouse,
        f"select count(distinct validated_points) from {ledger} where {tonight} and member_id in ('M1', 'M2')",
    ) == [(2,)]
    with pytest.raises(QualityGateFailed, match=r"fct_member_levels_match_dim_members: Got 4 results"):
        build_night(warehouse, NIGHT_1, tmp_path / "dbt", match)
