"""Repair SLA and marketing lists end to end: raw tables -> dbt build -> marts, over two nights and a re-run.

The unit tests in dbt (in each model's yml) pin every rule on mocked inputs; this test checks
that the real models fit together: staging as of the night, the level history feeding the level at the job,
counted registrations feeding Fast Track, the open-jobs queue, and the incremental marketing lists.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.dbt_fixtures import (
    build_night,
    create_raw_schema,
    load_file,
    member,
    product,
    query,
    registration,
)

NIGHT_1 = date(2024, 6, 7)  # a Friday
NIGHT_2 = date(2024, 6, 10)  # the Monday after
# The policy this scenario is worked out for, pinned (as dbt unit tests pin theirs), so that a policy
# change by an analyst does not change what the test expects.
POLICY = {
    "level_silver_points": 500, "level_gold_points": 1000, "level_platinum_points": 1600,
    "invitation_points": 500, "corporate_points": 2500,
    "sla_silver_days": 5, "sla_gold_days": 3, "sla_platinum_days": 2, "sla_video_min_days": 5,
    "sla_standard_days": 10, "fast_track_max_open_jobs": 3,
}  # fmt: skip


SERVICE_JOB_COLUMNS = [
    "job_id", "member_id", "product_sku", "centre_id", "level", "fast_track", "target_days", "turnaround_days",
    "status", "loan_owed", "as_of_date",
]  # fmt: skip
INVITATION_COLUMNS = [
    "member_id", "email", "country", "language", "level", "validated_points", "eligible_tiers", "as_of_date",
]  # fmt: skip
CAMPAIGN_COLUMNS = ["member_id", "email", "validated_points", "pending_points", "action_required_count", "as_of_date"]


def job(job_id: str, member_id: str | None, sku: str, received_at: str, **overrides: Any) -> dict[str, Any]:
    """A repair at Canon's own centre, open, recorded when received, unless overridden."""
    return {
        "job_id": job_id,
        "member_id": member_id,
        "product_sku": sku,
        "centre_id": "CANON_GB",
        "service_type": "repair",
        "serial_number": None,
        "received_at": received_at,
        "completed_at": None,
        "updated_at": received_at,
        **overrides,
    }


def write_inbox(database: Path) -> None:
    """Members, kitbags and jobs chosen so that each job shows one rule.

    - GOLDIE (Gold, 600 + 400 + 100 points): a repair at a partner met (Mon->Wed), a Canon maintenance that is
      open and breaching on night 1 and completed (breached, loan owed) on night 2, a partner maintenance.
    - SILVIA (Silver): four Fast Track repairs open at once (the 4th is standard); one job with GOLDIE's serial.
    - LATE (Red on night 1, Silver from night 2 by a registration on 2024-06-08): a job received before any
      recorded night keeps the earliest night's level (Red) on both nights; a job received on night 2 gets Silver.
    - SHY: Silver without marketing consent. ALMOST: 450 validated + 100 pending (completion campaign).
    - A non-member job and a job received after night 1.
    """
    create_raw_schema(database)
    load_file(
        database,
        "products",
        [
            product("FTCAM", base_points=600, launch_date="2023-06-01", fast_track=True),
            product("LENS", base_points=400, launch_date="2023-06-01", category="lens"),
            product("FTVIDEO", base_points=100, launch_date="2023-06-01", category="cinema_camera", is_video=True,
                    fast_track=True),
            product("BODY450", base_points=450, launch_date="2023-06-01"),
        ],
    )  # fmt: skip
    load_file(
        database,
        "service_centres",
        [
            {"centre_id": "CANON_GB", "name": "Canon UK", "country": "GB", "centre_type": "canon_service_centre"},
            {"centre_id": "PARTNER_FR", "name": "Photo Fix", "country": "FR", "centre_type": "authorised_partner"},
        ],
    )
    load_file(
        database,
        "members",
        [
            member("GOLDIE"),
            member("SILVIA", language="fr", country="FR"),
            member("LATE"),
            member("SHY", marketing_opt_in=False),
            member("ALMOST"),
        ],
    )
    load_file(
        database,
        "registrations",
        [
            registration("G1", "GOLDIE", "FTCAM", serial_number="GC0001"),
            registration("G2", "GOLDIE", "LENS"),
            registration("G3", "GOLDIE", "FTVIDEO", serial_number="GV0001"),
            registration("S1", "SILVIA", "FTCAM", serial_number="SV0001"),
            registration("S2", "SILVIA", "FTVIDEO", serial_number="SV0002"),
            registration("L1", "LATE", "FTCAM", serial_number="LT0001", registered_at="2024-06-08 10:00:00",
                         updated_at="2024-06-08 10:00:00"),
            registration("H1", "SHY", "FTCAM"),
            registration("A1", "ALMOST", "BODY450"),
            registration("A2", "ALMOST", "FTVIDEO", retailer=" "),
        ],
    )  # fmt: skip
    load_file(
        database,
        "service_jobs",
        [
            job("G_MET", "GOLDIE", "FTCAM", "2024-06-03 09:00:00", serial_number=" gc0001 ", centre_id="PARTNER_FR",
                completed_at="2024-06-05 16:00:00", updated_at="2024-06-05 16:00:00"),
            job("G_SLOW", "GOLDIE", "FTCAM", "2024-06-03 10:00:00", serial_number="GC0001",
                service_type="maintenance"),
            job("G_VIDEO", "GOLDIE", "FTVIDEO", "2024-06-04 09:00:00", serial_number="GV0001",
                centre_id="PARTNER_FR"),
            job("G_PARTNER_MAINT", "GOLDIE", "FTCAM", "2024-06-03 11:00:00", serial_number="GC0001",
                service_type="maintenance", centre_id="PARTNER_FR"),
            job("S_Q1", "SILVIA", "FTCAM", "2024-06-04 09:00:00", serial_number="SV0001"),
            job("S_Q2", "SILVIA", "FTVIDEO", "2024-06-04 09:00:00", serial_number="SV0002"),
            job("S_Q3", "SILVIA", "FTCAM", "2024-06-05 09:00:00", serial_number="SV0001"),
            job("S_Q4", "SILVIA", "FTCAM", "2024-06-06 09:00:00", serial_number="SV0001"),
            job("S_NOT_MINE", "SILVIA", "FTCAM", "2024-06-03 09:00:00", serial_number="GC0001",
                completed_at="2024-06-03 15:00:00", updated_at="2024-06-03 15:00:00"),
            job("L_EARLY", "LATE", "FTCAM", "2024-06-04 09:00:00", serial_number="LT0001"),
            job("NON_MEMBER", "  ", "FTCAM", "2024-06-03 09:00:00", serial_number="GC0001"),
            job("AFTER_NIGHT_1", "GOLDIE", "FTCAM", "2024-06-08 09:00:00", serial_number="GC0001"),
        ],
    )  # fmt: skip
    # Night 2's file: G_SLOW completed on Monday 2024-06-10; LATE sends its camera in that morning.
    load_file(
        database,
        "service_jobs",
        [
            job("G_SLOW", "GOLDIE", "FTCAM", "2024-06-03 10:00:00", serial_number="GC0001",
                service_type="maintenance", completed_at="2024-06-10 12:00:00", updated_at="2024-06-10 12:00:00"),
            job("L_NIGHT_2", "LATE", "FTCAM", "2024-06-10 08:00:00", serial_number="LT0001"),
        ],
    )  # fmt: skip


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    database = tmp_path / "cps.duckdb"
    write_inbox(database)
    return database


def columns_of(database: Path, table: str) -> list[str]:
    return [row[0] for row in query(database, f"select column_name from (describe marts.{table})")]


def service_jobs(database: Path) -> dict[str, tuple[Any, ...]]:
    rows = query(
        database,
        "select job_id, level, fast_track, target_days, turnaround_days, status, loan_owed from marts.fct_service_jobs",
    )
    return {row[0]: row[1:] for row in rows}


def invitations(database: Path) -> list[tuple[Any, ...]]:
    sql = "select as_of_date, member_id, level, eligible_tiers from marts.rpt_invitations order by 1, 2"
    return query(database, sql)


def test_service_jobs_and_marketing_lists_over_two_nights(warehouse: Path, tmp_path: Path) -> None:
    artifacts = tmp_path / "dbt"
    build_night(warehouse, NIGHT_1, artifacts, policy=POLICY)

    assert set(SERVICE_JOB_COLUMNS) <= set(columns_of(warehouse, "fct_service_jobs"))
    assert set(INVITATION_COLUMNS) <= set(columns_of(warehouse, "rpt_invitations"))
    assert set(CAMPAIGN_COLUMNS) <= set(columns_of(warehouse, "rpt_completion_campaign"))

    # (level, fast_track, target_days, turnaround_days, status, loan_owed) as of Friday 2024-06-07
    assert service_jobs(warehouse) == {
        "G_MET": ("Gold", True, 3, 2, "met", False),  # repair at a partner, Mon -> Wed
        "G_SLOW": ("Gold", True, 3, None, "open_breached", True),  # Canon maintenance, 4 working days so far
        "G_VIDEO": ("Gold", True, 5, None, "open", False),  # Gold's 3 days raised to the video minimum of 5
        "G_PARTNER_MAINT": ("Gold", False, 10, None, "open", False),  # maintenance at a partner
        "S_Q1": ("Silver", True, 5, None, "open", False),
        "S_Q2": ("Silver", True, 5, None, "open", False),  # same received_at as S_Q1: S_Q1 goes first
        "S_Q3": ("Silver", True, 5, None, "open", False),
        "S_Q4": ("Silver", False, 10, None, "open", False),  # three Fast Track jobs already open
        "S_NOT_MINE": ("Silver", False, 10, 0, "met", False),  # GOLDIE's serial
        "L_EARLY": ("Red", False, 10, None, "open", False),
        "NON_MEMBER": (None, False, 10, None, "open", False),
    }
    assert invitations(warehouse) == [
        (NIGHT_1, "GOLDIE", "Gold", "Silver,Gold"),
        (NIGHT_1, "SILVIA", "Silver", "Silver"),
    ]
    silvia = query(
        warehouse,
        "select member_id, email, country, language, level, validated_points from marts.rpt_invitations"
        " where member_id = 'SILVIA'",
    )
    assert silvia == [("SILVIA", "silvia@example.com", "FR", "fr", "Silver", 700)]
    campaign = query(
        warehouse,
        "select member_id, validated_points, pending_points, as_of_date from marts.rpt_completion_campaign",
    )
    assert campaign == [("ALMOST", 450, 100, NIGHT_1)]

    build_night(warehouse, NIGHT_2, artifacts, policy=POLICY)
    jobs = service_jobs(warehouse)
    assert jobs["G_SLOW"] == ("Gold", True, 3, 5, "breached", True)  # completed Monday: 5 working days
    assert jobs["AFTER_NIGHT_1"] == ("Gold", True, 3, None, "open", False)  # received Saturday, 1 working day
    assert jobs["L_EARLY"] == ("Red", False, 10, None, "open", False)  # its level does not move
    assert jobs["L_NIGHT_2"] == ("Silver", True, 5, None, "open", False)
    assert jobs["S_Q4"] == ("Silver", False, 10, None, "open", False)
    assert query(warehouse, "select distinct as_of_date from marts.fct_service_jobs") == [(NIGHT_2,)]

    # Invited once, ever: night 2's list holds only the member who became eligible that night.
    expected_lists = [
        (NIGHT_1, "GOLDIE", "Gold", "Silver,Gold"),
        (NIGHT_1, "SILVIA", "Silver", "Silver"),
        (NIGHT_2, "LATE", "Silver", "Silver"),
    ]
    assert invitations(warehouse) == expected_lists
    assert query(warehouse, "select count(*) from marts.rpt_completion_campaign") == [(2,)]

    # Re-running night 2 replaces its lists instead of adding to them (and does not exclude its own members).
    build_night(warehouse, NIGHT_2, artifacts, policy=POLICY)
    assert invitations(warehouse) == expected_lists
    assert query(warehouse, "select count(*) from marts.rpt_completion_campaign") == [(2,)]
