"""The quality gate with real Great Expectations on real DuckDB warehouses built here with SQL.

A small clean warehouse passes; each critical expectation broken by bad data fails the gate with its
reason; warnings land in quality.validation_results and in the Data Docs; nothing ends in an exception.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipelines.errors import CpsError
from pipelines.quality import GateResult, run_quality_gate
from pipelines.quality_docs import remote_assets
from pipelines.quality_suites import Severity, load_suites
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import connect

AS_OF = date(2024, 6, 30)
ISO_SEED = DBT_PROJECT_DIR / "seeds" / "iso_3166_1_alpha_2.csv"

# The night's data: the staging views read `fixture.*` tables, as dbt's views read raw tables.
CLEAN_WAREHOUSE_SQL = f"""
create schema raw; create schema reference; create schema fixture; create schema staging; create schema marts;

create table reference.iso_3166_1_alpha_2 as
    select country_code, country_name from read_csv('{ISO_SEED}', header = true, all_varchar = true);

create table raw.file_ledger as
    select * from (values
        (1, 'members', 'm.csv', 'loaded', 40, 40, 0),
        (2, 'registrations', 'r.csv', 'loaded', 60, 60, 0),
        (3, 'service_jobs', 'j.csv', 'loaded', 6, 6, 0)
    ) as t(file_id, source, file_name, status, rows_read, rows_loaded, rows_quarantined);

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
        timestamp '2024-01-01 09:00:00' as updated_at
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
        timestamp '2024-02-01 10:00:00' as updated_at
    from range(1, 61) as r(i);
create view staging.stg_registrations as select * from fixture.registrations;

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
        timestamp '2024-06-05 17:00:00' as updated_at
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
           case when validated_points >= 1600 then 'Platinum' when validated_points >= 1000 then 'Gold'
                when validated_points >= 500 then 'Silver' else 'Red' end as level,
           validated_points, 0::bigint as pending_points, 0 as counted_products, 0 as action_required_count,
           validated_points >= 500 as invitation_eligible, validated_points > 2500 as corporate_eligible,
           '' as eligible_tiers, 'Silver' as next_level, 500 - validated_points as points_to_next_level,
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


def test_a_clean_warehouse_passes_with_every_expectation_evaluated(tmp_path: Path) -> None:
    result = gate(tmp_path)

    assert result.passed, result.render()
    assert result.warnings == [], result.render()
    assert result.outcomes and all(outcome.evaluated for outcome in result.outcomes)
    expected = sum(len(suite.expectations) for suite in load_suites(AS_OF))
    assert len(result.outcomes) == expected
