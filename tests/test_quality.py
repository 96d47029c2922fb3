"""The quality gate with real Great Expectations on real DuckDB warehouses built here with SQL.

A small clean warehouse passes; each critical expectation broken by bad data fails the gate with its
reason; warnings land in quality.validation_results and in the Data Docs; nothing ends in an exception.
"""

# ruff: noqa: E501 - the bad-data SQL below reads best one statement per line

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from pipelines.core.errors import CpsError
from pipelines.core.policy import level_ladder, policy
from pipelines.core.settings import DBT_PROJECT_DIR
from pipelines.core.warehouse import connect
from pipelines.quality.docs import remote_assets
from pipelines.quality.gate import GateResult, run_quality_gate
from pipelines.quality.suites import Severity, load_suites

AS_OF = date(2024, 6, 30)
# The hand-made marts follow the shipped policy: levels from the ladder, eligibility from the vars.
LEVEL_CASE = " ".join(
    f"when validated_points >= {rung.min_points} then '{rung.level}'" for rung in level_ladder()[::-1]
)
NEXT_LEVEL_CASE = " ".join(
    f"when validated_points >= {rung.min_points} then {repr(rung.next_level) if rung.next_level else 'null'}"
    for rung in level_ladder()[::-1]
)
NEXT_POINTS_CASE = " ".join(
    f"when validated_points >= {rung.min_points} then {rung.next_level_points or 'null'}"
    for rung in level_ladder()[::-1]
)
ISO_SEED = DBT_PROJECT_DIR / "seeds" / "iso_3166_1_alpha_2.csv"

# The night's data: the staging views read `fixture.*` tables, as dbt's views read raw tables.
CLEAN_WAREHOUSE_SQL = f"""
create schema raw; create schema reference; create schema fixture; create schema staging; create schema marts;

create table reference.iso_3166_1_alpha_2 as
    select country_code, country_name from read_csv('{ISO_SEED}', header = true, all_varchar = true);

create table raw.file_ledger as
    select * from (values
        (1, 'members', 'm.csv', 'loaded', 40, 40, 0, null::varchar),
        (2, 'registrations', 'r.csv', 'loaded', 60, 60, 0, null),
        (3, 'service_jobs', 'j.csv', 'loaded', 6, 6, 0, null)
    ) as t(file_id, source, file_name, status, rows_read, rows_loaded, rows_quarantined, error);

-- 130 products, 120 of them Fast Track; P0002 superseded by P0001.
create table fixture.products as
    select
        printf('P%04d', i) as product_sku,
        printf('Product %d', i) as product_name,
        case when i % 2 = 0 then 'camera' else 'lens' end as category,
        false as is_video,
        date '2020-01-01' as launch_date,
        100::bigint as base_points,
        i <= 120 as fast_track,
        case when i = 2 then 'P0001' end as superseded_by,
        case when i = 2 then date '2022-01-01' end as superseded_on,
        null::date as service_end_date
    from range(1, 131) as r(i);
create view staging.stg_products as select * from fixture.products;

create table fixture.service_centres as
    select * from (values
        ('C1', 'London', 'GB', 'canon_service_centre'),
        ('C2', 'Lyon', 'FR', 'authorised_partner')
    ) as t(centre_id, name, country, centre_type);
create view staging.stg_service_centres as select * from fixture.service_centres;

create table fixture.members as
    select
        printf('M%03d', i) as member_id,
        printf('m%03d@example.com', i) as email,
        'GB' as country, 'en' as language, true as marketing_opt_in,
        timestamp '2024-01-01 09:00:00' as joined_at, null as legacy_cps_number,
        -- the newest record of each source is recent (night.sources_fresh)
        case when i = 40 then timestamp '2024-06-28 09:00:00' else timestamp '2024-01-01 09:00:00' end as updated_at
    from range(1, 41) as r(i);
create view staging.stg_members as select * from fixture.members;

-- Member i has (i % 3) registrations of P0001 (100 points each) ... kept simple: 60 complete ones.
create table fixture.registrations as
    select
        printf('R%03d', i) as registration_id,
        printf('M%03d', 1 + i % 40) as member_id,
        'P0001' as product_sku,
        printf('SN%06d', i) as serial_number,
        date '2024-01-15' as purchase_date,
        'gb' as purchase_country,
        'Camera Shop' as retailer,
        false as second_hand,
        timestamp '2024-02-01 10:00:00' as registered_at,
        null::timestamp as removed_at,
        case when i = 60 then timestamp '2024-06-28 10:00:00' else timestamp '2024-02-01 10:00:00' end as updated_at
    from range(1, 61) as r(i);
create view staging.stg_registrations as select * from fixture.registrations;
-- raw holds every version; here one per registration (the freshness check reads raw)
create view raw.registrations as select * from fixture.registrations;
create schema if not exists intermediate;
-- as the model: the source columns, and whether the member is among tonight's members
create view intermediate.int_registration_status as
    select r.*, nullif(upper(trim(r.serial_number, ' ')), r.serial_number) as serial_key_if_different, m.member_id is not null as member_known
    from fixture.registrations as r
    left join fixture.members as m on r.member_id = m.member_id;

create table fixture.service_jobs as
    select
        printf('J%02d', i) as job_id,
        printf('M%03d', i) as member_id,
        'P0001' as product_sku,
        'C1' as centre_id,
        'repair' as service_type,
        printf('SN%06d', i) as serial_number,
        timestamp '2024-06-03 09:00:00' as received_at,
        case when i % 2 = 0 then timestamp '2024-06-05 17:00:00' end as completed_at,
        case when i = 1 then timestamp '2024-06-28 17:00:00' else timestamp '2024-06-05 17:00:00' end as updated_at
    from range(1, 7) as r(i);
create view staging.stg_service_jobs as select * from fixture.service_jobs;

create table marts.dim_products as
    select product_sku, product_name, category, is_video, fast_track, launch_date, base_points,
           4 as age_years, superseded_on is not null as is_superseded, false as is_service_ended,
           case when superseded_on is not null then 50 else 70 end::bigint as effective_points,
           date '{AS_OF}' as as_of_date
    from fixture.products;

create table marts.fct_registrations as
    select registration_id, member_id, product_sku, 'counted' as status, '' as reasons,
           70::bigint as effective_points, 0::bigint as pending_points, date '{AS_OF}' as as_of_date
    from fixture.registrations;

create table marts.dim_members as
    with points as (
        select m.member_id, coalesce(sum(r.effective_points), 0)::bigint as validated_points
        from fixture.members as m left join marts.fct_registrations as r using (member_id)
        group by m.member_id
    )
    select member_id, 'GB' as country, 'en' as language, true as marketing_opt_in,
           case {LEVEL_CASE} end as level,
           validated_points, 0::bigint as pending_points, 0 as counted_products, 0 as action_required_count,
           validated_points >= {policy()["invitation_points"]} as invitation_eligible,
           validated_points > {policy()["corporate_points"]} as corporate_eligible,
           '' as eligible_tiers, case {NEXT_LEVEL_CASE} end as next_level,
           case {NEXT_POINTS_CASE} end - validated_points as points_to_next_level,
           date '{AS_OF}' as as_of_date
    from points;

-- History: last night and tonight for every member.
create table marts.fct_member_levels as
    select member_id, as_of_date, level, validated_points, pending_points from marts.dim_members
    union all
    select member_id, date '{AS_OF}' - 1, level, validated_points, pending_points from marts.dim_members;

create table marts.fct_level_changes as
    select 'M001' as member_id, date '{AS_OF}' as as_of_date, 'Red' as previous_level, 'Silver' as level,
           'up' as direction
    limit 0;

create table marts.fct_service_jobs as
    select job_id, member_id, product_sku, centre_id, 'Red' as level, false as fast_track, 10 as target_days,
           case when completed_at is not null then 2 end as turnaround_days,
           case when completed_at is not null then 'met' else 'open' end as status,
           false as loan_owed, date '{AS_OF}' as as_of_date
    from fixture.service_jobs;
"""


def build_warehouse(path: Path, *changes: str) -> Path:
    """A clean night's warehouse, then the given SQL statements (the bad data of a test)."""
    connection = connect(path)
    try:
        connection.execute(CLEAN_WAREHOUSE_SQL)
        for change in changes:
            connection.execute(change)
    finally:
        connection.close()
    return path


def gate(tmp_path: Path, *changes: str) -> GateResult:
    database = build_warehouse(tmp_path / "cps.duckdb", *changes)
    return run_quality_gate(database, AS_OF, tmp_path / "docs")


def failed_names(reasons: list[str]) -> set[str]:
    """`suite.expectation` of each reason line."""
    return {reason.split(" ", 1)[0] for reason in reasons}


@dataclass(frozen=True)
class CleanNight:
    """The clean warehouse after its gate: the result, the database (with its results) and the Data Docs."""

    result: GateResult
    database: Path
    docs: Path


@pytest.fixture(scope="module")
def clean_night(tmp_path_factory: pytest.TempPathFactory) -> CleanNight:
    """The gate over the clean warehouse, once for the module. Read-only: copy the database to change it."""
    folder = tmp_path_factory.mktemp("clean-gate")
    result = gate(folder)
    return CleanNight(result, folder / "cps.duckdb", folder / "docs")


def test_a_clean_warehouse_passes_with_every_expectation_evaluated(clean_night: CleanNight) -> None:
    result = clean_night.result

    assert result.passed, result.render()
    assert result.warnings == [], result.render()
    assert result.outcomes and all(outcome.evaluated for outcome in result.outcomes)
    expected = sum(len(suite.expectations) for suite in load_suites(AS_OF))
    assert len(result.outcomes) == expected


# Bad data for each critical expectation: `suite.expectation` -> SQL that breaks it (and nothing that
# would hide another breakage when they are all applied together).
CRITICAL_BREAKERS: dict[str, list[str]] = {
    "members.member_id_present": [
        "insert into fixture.members (member_id, email, country) values (null, 'x@y.z', 'GB')"
    ],
    "members.member_id_unique": ["insert into fixture.members select * from fixture.members where member_id = 'M001'"],
    "service_centres.centre_id_present": [
        "insert into fixture.service_centres values (null, 'Nowhere', 'GB', 'authorised_partner')"
    ],
    "service_centres.centre_id_unique": [
        "insert into fixture.service_centres values ('C1', 'Again', 'GB', 'authorised_partner')"
    ],
    "service_centres.centre_type_valid": [
        "insert into fixture.service_centres values ('C3', 'Shop', 'GB', 'camera_shop')"
    ],
    "service_centres.centre_type_present": ["insert into fixture.service_centres values ('C4', 'Untyped', 'GB', null)"],
    "products.product_sku_present": [
        "insert into fixture.products (product_sku, category, base_points, launch_date, fast_track) values (null, 'lens', 5, date '2020-01-01', false)"
    ],
    "products.product_sku_unique": [
        "insert into fixture.products select * from fixture.products where product_sku = 'P0003'"
    ],
    "products.product_category_valid": [
        "update fixture.products set category = 'spaceship' where product_sku = 'P0004'"
    ],
    "products.base_points_not_negative": ["update fixture.products set base_points = -5 where product_sku = 'P0005'"],
    "products.base_points_present": ["update fixture.products set base_points = null where product_sku = 'P0006'"],
    "products.launch_date_present": ["update fixture.products set launch_date = null where product_sku = 'P0007'"],
    "products.fast_track_present": ["update fixture.products set fast_track = null where product_sku = 'P0125'"],
    "products.successor_exists": [
        "update fixture.products set superseded_by = 'P9999', superseded_on = date '2023-01-01' where product_sku = 'P0008'"
    ],
    "products.no_supersession_cycle": [
        "update fixture.products set superseded_by = 'P0011', superseded_on = date '2023-01-01' where product_sku = 'P0010'",
        "update fixture.products set superseded_by = 'P0012', superseded_on = date '2023-01-01' where product_sku = 'P0011'",
        "update fixture.products set superseded_by = 'P0010', superseded_on = date '2023-01-01' where product_sku = 'P0012'",
    ],
    "products.superseded_after_launch": [
        "update fixture.products set superseded_by = 'P0001', superseded_on = date '2019-01-01' where product_sku = 'P0013'"
    ],
    "registrations.registration_id_present": [
        "update fixture.registrations set registration_id = null where registration_id = 'R001'"
    ],
    "service_jobs.job_id_present": ["update fixture.service_jobs set job_id = null where job_id = 'J01'"],
    "service_jobs.job_id_unique": ["update fixture.service_jobs set job_id = 'J02' where job_id = 'J03'"],
    "service_jobs.service_type_valid": [
        "update fixture.service_jobs set service_type = 'cleaning' where job_id = 'J04'"
    ],
    "service_jobs.received_at_present": ["update fixture.service_jobs set received_at = null where job_id = 'J05'"],
    "service_jobs.completed_after_received_share": [
        "update fixture.service_jobs set completed_at = timestamp '2024-06-01 09:00:00' where job_id = 'J06'"
    ],
    "night.members_tonight": ["delete from marts.dim_members"],
    "night.no_member_lost_since_last_night": ["delete from marts.dim_members where member_id = 'M012'"],
    # Breaks only alone (the other breakers add centres).
    "service_centres.centres_loaded": ["delete from fixture.service_centres"],
}
ALONE_ONLY = {"service_centres.centres_loaded"}


def critical_expectation_names() -> set[str]:
    return {
        f"{suite.name}.{expectation.name}"
        for suite in load_suites(AS_OF)
        for expectation in suite.expectations
        if expectation.severity is Severity.CRITICAL
    }


def test_every_critical_expectation_has_bad_data_in_these_tests() -> None:
    assert set(CRITICAL_BREAKERS) == critical_expectation_names()


def test_bad_data_for_every_critical_expectation_fails_the_gate_with_each_reason(tmp_path: Path) -> None:
    changes = [sql for name, statements in CRITICAL_BREAKERS.items() if name not in ALONE_ONLY for sql in statements]

    result = gate(tmp_path, *changes)

    assert not result.passed
    assert failed_names(result.critical_failures) >= set(CRITICAL_BREAKERS) - ALONE_ONLY, result.render()
    assert all(outcome.evaluated for outcome in result.outcomes), result.render()


@pytest.mark.parametrize(
    ("name", "reason_part"),
    [
        ("products.no_supersession_cycle", "P0010"),
        ("night.no_member_lost_since_last_night", "M012"),
        ("service_centres.centres_loaded", "observed 0"),
    ],
)
def test_one_broken_critical_expectation_alone_fails_the_gate(tmp_path: Path, name: str, reason_part: str) -> None:
    result = gate(tmp_path, *CRITICAL_BREAKERS[name])

    assert not result.passed
    reasons = [reason for reason in result.critical_failures if reason.startswith(name + " ")]
    assert reasons, result.render()
    assert reason_part in reasons[0]
    assert name in result.render()


def test_warnings_are_published_in_the_results_table_and_the_data_docs(tmp_path: Path) -> None:
    result = gate(
        tmp_path,
        # An unknown member's registration, and a third of the serial numbers missing.
        "update fixture.registrations set member_id = 'M999' where registration_id = 'R001'",
        "update fixture.registrations set serial_number = '  ' where registration_id <= 'R020'",
    )

    assert result.passed, result.render()
    assert failed_names(result.warnings) == {
        "registrations.registration_member_known",
        "registrations.serial_number_completeness",
    }
    connection = connect(tmp_path / "cps.duckdb", read_only=True)
    try:
        rows = connection.execute(
            "select expectation, severity, success, observed_value, details from quality.validation_results"
            " where as_of_date = ? and not success order by expectation",
            [AS_OF],
        ).fetchall()
        total = connection.execute("select count(*) from quality.validation_results").fetchone()[0]
    finally:
        connection.close()
    assert [(name, severity) for name, severity, *_ in rows] == [
        ("registration_member_known", "warning"),
        ("serial_number_completeness", "warning"),
    ]
    assert "M999" in rows[0][4]
    assert "0.3333" in rows[1][4]  # the missing share, among the offending row's values
    assert total == len(result.outcomes)
    index = (tmp_path / "docs" / "index.html").read_text(encoding="utf-8")
    assert "registration_member_known" in index and "serial_number_completeness" in index
    assert "warning" in index and "2 warnings" in index


def test_no_break_spaces_are_given_values_for_the_gate_as_for_the_registration_status(tmp_path: Path) -> None:
    # Blank is empty or only the space character, in the gate's shares as in the dbt rules: a purchase
    # country of no-break spaces is given (and no country code), a retailer of one is given.
    result = gate(
        tmp_path,
        "update fixture.registrations set purchase_country = chr(160) || chr(160), retailer = chr(160)"
        " where registration_id <= 'R020'",
    )
    assert result.passed, result.render()
    assert failed_names(result.warnings) == {"registrations.purchase_country_valid"}


def test_rejected_files_and_stale_sources_are_reported_as_warnings(tmp_path: Path) -> None:
    result = gate(
        tmp_path,
        # A rejected file not replaced since, one replaced by a later file of the same name; no job for weeks.
        "insert into raw.file_ledger values (4, 'members', 'bad.csv', 'rejected', null, 0, 0, 'not UTF-8')",
        "insert into raw.file_ledger values (5, 'members', 'fixed.csv', 'rejected', null, 0, 0, 'truncated')",
        "insert into raw.file_ledger values (6, 'members', 'fixed.csv', 'loaded', 1, 1, 0, null)",
        "update fixture.service_jobs set updated_at = timestamp '2024-06-05 17:00:00'",
    )

    assert result.passed, result.render()
    assert failed_names(result.warnings) == {"night.rejected_files", "night.sources_fresh"}
    rejected = next(reason for reason in result.warnings if reason.startswith("night.rejected_files "))
    assert "bad.csv" in rejected and "fixed.csv" not in rejected
    stale = next(reason for reason in result.warnings if reason.startswith("night.sources_fresh "))
    assert "service_jobs" in stale and "registrations" not in stale


def test_registrations_are_stale_when_only_versions_stamped_after_the_night_are_recent(tmp_path: Path) -> None:
    result = gate(
        tmp_path,
        "update fixture.registrations set updated_at = timestamp '2024-02-01 10:00:00'",
        # A version stamped the day after the night: not yet part of the night's registrations.
        "insert into fixture.registrations select * replace ('R999' as registration_id,"
        " timestamp '2024-07-01 08:00:00' as updated_at) from fixture.registrations where registration_id = 'R001'",
    )

    stale = next(reason for reason in result.warnings if reason.startswith("night.sources_fresh "))
    assert '"source": "registrations"' in stale
    assert '"source": "members"' not in stale and '"source": "service_jobs"' not in stale


def test_data_docs_read_offline_and_link_the_gx_pages(clean_night: CleanNight) -> None:
    docs = clean_night.docs

    assert remote_assets(docs) == []
    pages = list((docs / "validations").rglob("*.html"))
    assert len(pages) >= 6
    index = (docs / "index.html").read_text(encoding="utf-8")
    for page in pages:
        assert page.relative_to(docs).as_posix() in index
    assert "cps_offline.css" in pages[0].read_text(encoding="utf-8")


def test_rerunning_a_night_replaces_its_results_and_keeps_other_nights(clean_night: CleanNight, tmp_path: Path) -> None:
    database = tmp_path / "cps.duckdb"
    shutil.copyfile(clean_night.database, database)  # the clean night, gated once (its results recorded)
    first = clean_night.result
    # Another night (its marts are not tonight's: that night fails, which is fine here) and a re-run.
    run_quality_gate(database, date(2024, 7, 1), tmp_path / "docs-next")
    run_quality_gate(database, AS_OF, tmp_path / "docs")

    connection = connect(database, read_only=True)
    try:
        per_night = dict(
            connection.execute(
                "select as_of_date, count(*) from quality.validation_results group by as_of_date"
            ).fetchall()
        )
    finally:
        connection.close()
    assert per_night == {AS_OF: len(first.outcomes), date(2024, 7, 1): len(first.outcomes)}


def test_an_expectation_that_cannot_run_fails_the_gate_and_the_file_is_released(tmp_path: Path) -> None:
    result = gate(tmp_path, "drop view staging.stg_service_jobs")

    assert not result.passed
    unevaluated = [o for o in result.outcomes if not o.evaluated]
    # Every service_jobs expectation, and the night's freshness check (it reads the jobs too): only
    # the checks that read the missing view.
    assert {(o.suite, o.spec.name) for o in unevaluated if o.suite != "service_jobs"} == {("night", "sources_fresh")}
    assert {o.suite for o in unevaluated} == {"service_jobs", "night"}
    assert all("could not evaluate" in reason for reason in result.critical_failures)
    # GX's connections are closed: another process can open the warehouse for writing.
    opened = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(tmp_path / 'cps.duckdb')!r}).close()"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert opened.returncode == 0, opened.stderr


def test_a_missing_warehouse_is_an_error_not_a_failed_gate(tmp_path: Path) -> None:
    with pytest.raises(CpsError, match="warehouse not found"):
        run_quality_gate(tmp_path / "absent.duckdb", AS_OF, tmp_path / "docs")


def test_great_expectations_loads_without_scipy_stats_or_altair_until_an_expectation_uses_them() -> None:
    """The gate's processes import scipy.stats and altair lazily (~1.5 CPU-s each): none of its checks needs them."""
    ran = run_in_a_new_interpreter(
        "from pipelines.quality.deferred_imports import loaded",
        "import pipelines.quality.gate",
        "assert not loaded('scipy.stats'), 'scipy.stats loaded with Great Expectations'",
        "assert not loaded('altair'), 'altair loaded with Great Expectations'",
        "from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl",
        "assert abs(kl.stats.entropy([0.5, 0.5]) - 0.6931) < 1e-4 and loaded('scipy.stats')",
        "assert kl.alt.Chart({'values': [{'x': 1}]}).mark_bar().to_dict()['mark']['type'] == 'bar'",
        "assert loaded('altair')",
    )
    assert ran.returncode == 0, ran.stderr


# ------------------------------------------------------------- the gate in its worker process


def run_gate(database: Path, as_of: date, data_docs_dir: Path, policy_values: dict) -> GateResult:
    """The gate as a night asks for it (in the worker if one was started, which then ends), stored."""
    from pipelines.quality.results import store_gate_result
    from pipelines.quality.worker import start_gate

    pending = start_gate(database, as_of, data_docs_dir, policy_values)
    result = pending.wait()
    pending.wait_for_data_docs()
    store_gate_result(database, result)
    return result


def test_the_gate_in_its_worker_process_gives_the_same_result_and_frees_the_file(tmp_path: Path) -> None:
    """`cps nightly` runs the gate in a worker process (Great Expectations loads there while dbt builds)."""
    from pipelines.core.policy import night_policy
    from pipelines.quality.worker import start_gate_worker

    changes = (*CRITICAL_BREAKERS["members.member_id_unique"], *CRITICAL_BREAKERS["products.no_supersession_cycle"])
    (tmp_path / "here").mkdir()
    (tmp_path / "there").mkdir()
    here = gate(tmp_path / "here", *changes)
    database = build_warehouse(tmp_path / "there" / "cps.duckdb", *changes)

    start_gate_worker(run_log=None)
    there = run_gate(database, AS_OF, tmp_path / "there" / "docs", night_policy())

    assert isinstance(there, GateResult) and not there.passed
    assert (there.critical_failures, there.warnings) == (here.critical_failures, here.warnings)
    assert len(there.outcomes) == len(here.outcomes)
    assert (tmp_path / "there" / "docs" / "index.html").is_file()
    connect(database).close()  # the worker released the file: it opens for writing here


def test_an_error_in_the_worker_is_the_same_one_line_error_and_a_worker_without_a_night_ends(
    tmp_path: Path,
) -> None:
    from pipelines.core.policy import night_policy
    from pipelines.quality import worker

    worker.start_gate_worker(run_log=None)
    with pytest.raises(CpsError, match="warehouse not found"):
        run_gate(tmp_path / "absent.duckdb", AS_OF, tmp_path / "docs", night_policy())
    assert worker._workers == []

    # An unexpected error (here a night date that is no date) is one line too; its traceback is in
    # the night's run log.
    run_log = tmp_path / "night.log"
    worker.start_gate_worker(run_log=run_log)
    database = build_warehouse(tmp_path / "cps.duckdb")
    with pytest.raises(CpsError, match=r"quality gate: \w+Error: .*\(traceback in the run log\)") as raised:
        run_gate(database, "not a date", tmp_path / "docs", night_policy())  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)
    logged = run_log.read_text(encoding="utf-8")
    assert "unexpected error in its worker process" in logged and "Traceback (most recent call last)" in logged

    # The night's process went away before its gate (its end of the pipe closed): the worker ends.
    worker.start_gate_worker(run_log=None)
    (unused,) = worker._workers
    unused.connection.close()
    unused.process.join(timeout=120)
    assert unused.process.exitcode == 0
    worker.stop_gate_worker()
    assert worker._workers == []


def test_columns_and_keys_read_from_duckdbs_catalogue_match_sqlalchemys_own_reflection(tmp_path: Path) -> None:
    import sqlalchemy

    from pipelines.quality.gx import _reflect_from_duckdb_catalogue

    database = tmp_path / "reflect.duckdb"
    with connect(database) as connection:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.t (id varchar primary key, points bigint not null, on_date date, "
            "amount decimal(18, 3), seen_at timestamp, flag boolean, share double)"
        )
        connection.execute("create view marts.v as select id, points * 2 as doubled from marts.t")

    def reflected(fast: bool) -> list[tuple[object, ...]]:
        engine = sqlalchemy.create_engine(f"duckdb:///{database}")
        if fast:
            _reflect_from_duckdb_catalogue(engine.dialect)
        try:
            inspector = sqlalchemy.inspect(engine)
            return [
                (table, column["name"], column["nullable"], column["type"]._type_affinity)
                for table in ("t", "v")
                for column in inspector.get_columns(table, schema="marts")
            ]
        finally:
            engine.dispose()

    fast = reflected(fast=True)
    assert fast == reflected(fast=False)
    assert ("t", "points", False, sqlalchemy.Integer) in fast and ("v", "doubled", True, sqlalchemy.Integer) in fast
    # duckdb_engine's own query for keys fails on this DuckDB (GX then goes on without them)
    engine = sqlalchemy.create_engine(f"duckdb:///{database}")
    _reflect_from_duckdb_catalogue(engine.dialect)
    try:
        assert sqlalchemy.inspect(engine).get_pk_constraint("t", schema="marts")["constrained_columns"] == ["id"]
    finally:
        engine.dispose()


def test_the_worker_imports_great_expectations_with_the_nights_garbage_collection() -> None:
    """Importing GX makes millions of objects that live as long as the worker: collected less often, then
    frozen out of every later collection, as in the night's own process."""
    ran = run_in_a_new_interpreter(
        "import gc, multiprocessing, os",
        "import pipelines.quality.worker as worker",
        "from pipelines.core.environment import NIGHT_GC_THRESHOLDS",
        "def report(code):",
        "    print(gc.get_threshold() == NIGHT_GC_THRESHOLDS, gc.get_freeze_count() > 100_000, flush=True)",
        "    os._exit(code)",
        "worker.exit_without_cleanup = report",
        "night_end, worker_end = multiprocessing.Pipe()",
        "night_end.close()  # the night has ended: the worker loads GX, reads end-of-file and ends",
        "worker._serve_one_gate(worker_end, None)",
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["True", "True"]


def run_in_a_new_interpreter(*lines: str) -> subprocess.CompletedProcess[str]:
    """Python code run by a fresh interpreter (what it imports, nothing this test process loaded)."""
    return subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, check=False)
