"""The nightly run end to end, through the `cps` command: publishing, kills, concurrency, gate, CLI errors.

The session's first night (`tiny_night`) and the re-run report to one shared, real Prefect server
(the `prefect_api` fixture), dbt's nodes as tasks; the other `cps` processes run as an operator's
`cps nightly` without a server runs: the steps directly, no Prefect. Both must publish the same tables.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.core.policy import level_order
from pipelines.core.warehouse import connect
from tests.nightly_helpers import (
    NightPaths,
    PublishedNight,
    cli_environment,
    kill_when,
    night_paths,
    run_cli,
    run_night_in_process,
    start_cli,
    table_fingerprints,
)

NIGHT = "2026-11-20"
NEXT_NIGHT = "2026-11-21"
STEPS = ("prepare", "ingest", "dbt build", "quality gate", "consent", "publish", "reports")
CONTRACT_TABLES = (
    "dim_products",
    "dim_members",
    "fct_registrations",
    "fct_member_levels",
    "fct_level_changes",
    "fct_service_jobs",
    "rpt_invitations",
    "rpt_completion_campaign",
    "rpt_welcome_packs",
)


@pytest.fixture
def inbox(tiny_inbox: Path) -> Path:
    """The session's generated inbox (200 members as of NIGHT); tests never write into it."""
    return tiny_inbox


@pytest.fixture
def undisturbed(tiny_night: PublishedNight) -> dict[str, str]:
    """One clean, uninterrupted run (dbt nodes as Prefect tasks): what every other run must reproduce."""
    assert tiny_night.night == date.fromisoformat(NIGHT)
    paths, result = tiny_night.paths, tiny_night.result
    assert f"Night {NIGHT} published" in result.stdout
    assert "members by level" in result.stdout and "time per step" in result.stdout
    for step in STEPS:
        assert f"{step} done in" in result.stderr
    assert (paths.reports / NIGHT / "index.html").is_file()
    assert not (paths.warehouse.parent / ".build").exists()
    assert set(CONTRACT_TABLES) <= set(tiny_night.fingerprints)
    return tiny_night.fingerprints


def published_night(warehouse: Path) -> date:
    connection = connect(warehouse, read_only=True)
    try:
        return connection.execute("select max(as_of_date) from marts.dim_members").fetchone()[0]
    finally:
        connection.close()


def test_running_the_same_night_again_gives_identical_tables(
    tmp_path: Path, undisturbed: dict[str, str], prefect_api: str, tiny_night_copy: NightPaths
) -> None:
    """A re-run of the published night (the session's first run from nothing is `undisturbed`)."""
    paths = tiny_night_copy
    assert paths.warehouse == tmp_path / "warehouse" / "cps.duckdb"
    # Relative paths, as an operator types them (every step must cope, Great Expectations included).
    relative = ["nightly", "--as-of", NIGHT, "--inbox", str(paths.inbox), "--warehouse", "warehouse/cps.duckdb"]
    result = run_cli([*relative, "--reports", "reports"], paths.prefect_home, api_url=prefect_api, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Night {NIGHT} published" in result.stdout and "(re-run)" in result.stdout
    assert table_fingerprints(paths.warehouse) == undisturbed
    assert (tmp_path / "reports" / NIGHT / "index.html").is_file()


def test_a_kill_in_each_step_then_a_rerun_gives_the_undisturbed_tables(
    inbox: Path, tmp_path: Path, undisturbed: dict[str, str]
) -> None:
    """One warehouse, killed in the middle of every step in turn; each time the published night is
    absent or complete (never half), and the final undisturbed re-run equals the clean run."""
    paths = night_paths(tmp_path, inbox)
    for step in STEPS:
        process = start_cli(paths.cli_args(NIGHT), paths.prefect_home)
        kill_when(process, f"{step} ...", delay=0.5)
        if paths.warehouse.exists():
            assert table_fingerprints(paths.warehouse) == undisturbed, f"killed in {step}"
    result = run_cli(paths.cli_args(NIGHT), paths.prefect_home)
    assert result.returncode == 0, result.stdout + result.stderr
    # Without a server the night runs its steps directly: no Prefect, no temporary API and its database.
    assert "starting Prefect" not in result.stderr
    assert not (paths.prefect_home / "prefect.db").exists()
    last_log = sorted((paths.prefect_home.parent / "logs").glob("nightly_*.log"))[-1]
    logged = last_log.read_text(encoding="utf-8")
    assert "the night runs its steps directly, without Prefect" in logged
    # the gate's worker writes to the same log: Great Expectations' import chatter stays out of it
    assert not re.search(r" INFO +great_expectations", logged)
    assert table_fingerprints(paths.warehouse) == undisturbed


# `cps nightly` with the warehouse's rename replaced by a SIGKILL of the whole night (its gate's worker
# too): the night killed after its reports were put in place, before the warehouse was.
KILLED_BEFORE_THE_RENAME = """
import os, signal, sys
import pipelines.publishing.publish as publish
publish.publish_build = lambda build_path, warehouse: os.killpg(os.getpgrp(), signal.SIGKILL)
from pipelines.cli import main
sys.argv = ["cps", *sys.argv[1:]]
main()
"""


def test_a_night_killed_between_its_reports_and_its_warehouse_is_taken_back_by_the_next_run(
    undisturbed: dict[str, str], tiny_night_copy: NightPaths
) -> None:
    paths = tiny_night_copy
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_THE_RENAME, *paths.cli_args(NEXT_NIGHT)],
        env=cli_environment(paths.prefect_home),
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert (paths.reports / NEXT_NIGHT).is_dir()  # in place when the night was killed
    assert table_fingerprints(paths.warehouse) == undisturbed

    # the next run (here a re-run of the published night) takes the killed night's reports back first
    result = run_cli(paths.cli_args(NIGHT), paths.prefect_home)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "a run stopped while publishing: its reports were taken back" in result.stderr
    # and in the night's summary, for a scheduler that keeps only stdout
    assert "WARNING before this night, a run stopped while publishing" in result.stdout
    assert not (paths.reports / NEXT_NIGHT).exists()
    assert NEXT_NIGHT not in (paths.reports / "index.html").read_text(encoding="utf-8")
    assert not [path.name for path in paths.reports.iterdir() if path.name.startswith(".")]
    assert not list(paths.warehouse.parent.glob(".*publishing*"))
    assert published_night(paths.warehouse) == date.fromisoformat(NIGHT)
    assert table_fingerprints(paths.warehouse) == undisturbed


@pytest.mark.parametrize(
    ("marker", "stop", "code", "last_line"),
    [
        ("ingest ...", signal.SIGINT, 130, "cps: interrupted (Ctrl-C)"),  # the gate's worker still importing
        ("dbt build 3/", signal.SIGINT, 130, "cps: interrupted (Ctrl-C)"),
        ("dbt build 3/", signal.SIGTERM, 143, "cps: stopped by SIGTERM"),  # a scheduler's time limit
    ],
)
def test_ctrl_c_or_sigterm_ends_with_one_line_and_publishes_nothing(
    inbox: Path, tmp_path: Path, marker: str, stop: signal.Signals, code: int, last_line: str
) -> None:
    """The signal reaches the night's whole process group (the night, dbt's threads, the gate's worker)."""
    paths = night_paths(tmp_path, inbox)
    process = start_cli(paths.cli_args(NIGHT), paths.prefect_home)
    assert process.stdout is not None
    before = []
    for line in process.stdout:
        before.append(line)
        if marker in line:
            break
    else:
        raise AssertionError(f"the night ended before {marker!r}:\n" + "".join(before))
    os.killpg(process.pid, stop)
    after, _ = process.communicate(timeout=120)

    assert process.returncode == code, after
    assert after.strip().splitlines()[-1].startswith(last_line)
    assert "Traceback" not in after and "CANCEL" not in after and "KeyboardInterrupt" not in after
    assert not paths.warehouse.exists()  # the first night: nothing published


def test_a_reader_that_closes_stdout_does_not_fail_a_published_night(inbox: Path, tmp_path: Path) -> None:
    paths = night_paths(tmp_path, inbox)
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *paths.cli_args(NIGHT)],
        env=cli_environment(paths.prefect_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()  # e.g. `cps nightly | head -0`
    _, errors = process.communicate(timeout=600)
    assert process.returncode == 0, errors
    assert errors.strip().splitlines()[-1] == (
        "cps: the night is published; its summary could not be written (stdout was closed)"
    )
    assert table_fingerprints(paths.warehouse)


def test_two_runs_at_once_never_both_write(inbox: Path, tmp_path: Path, undisturbed: dict[str, str]) -> None:
    paths = night_paths(tmp_path, inbox)
    first = start_cli(paths.cli_args(NIGHT), paths.prefect_home)
    assert first.stdout is not None
    for line in first.stdout:
        if "ingest ..." in line:
            break
    second = run_cli(paths.cli_args(NIGHT), tmp_path / "prefect-second")
    first_output, _ = first.communicate(timeout=600)
    assert first.returncode == 0, first_output
    assert second.returncode != 0
    assert "another nightly run is using this warehouse" in second.stderr
    assert "Traceback" not in second.stderr
    assert table_fingerprints(paths.warehouse) == undisturbed


def test_failing_gate_keeps_the_last_night_and_nights_build_history(
    inbox: Path, tmp_path: Path, tiny_night_copy: NightPaths
) -> None:
    # From the session's published night NIGHT; the later good nights run in this process (what they
    # compute is the point), the failing one is a `cps` process, for its exit code and one-line message.
    paths = tiny_night_copy
    assert published_night(paths.warehouse) == date.fromisoformat(NIGHT)
    before = table_fingerprints(paths.warehouse)

    # A feed that is valid file by file but broken as a whole: a new service jobs file that reports
    # every job again, completed the day before it was received. Ingestion loads it; the quality
    # gate's critical share of backwards jobs stops the night (exit 3).
    backwards_inbox = tmp_path / "backwards_inbox"
    shutil.copytree(inbox, backwards_inbox)
    jobs: dict[str, dict[str, str]] = {}
    for jobs_file in sorted((inbox / "service_jobs").glob("*.csv")):
        with jobs_file.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            jobs.update({row["job_id"]: row for row in reader})
    assert jobs
    for row in jobs.values():
        received = datetime.fromisoformat(row["received_at"])
        row["completed_at"] = (received - timedelta(days=1)).isoformat().replace("+00:00", "Z")
        row["updated_at"] = f"{NEXT_NIGHT}T06:00:00Z"
    with (backwards_inbox / "service_jobs" / f"{NEXT_NIGHT}_batch_0001.csv").open(
        "w", newline="", encoding="utf-8"
    ) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(jobs.values())

    failed = run_cli(replace(paths, inbox=backwards_inbox).cli_args(NEXT_NIGHT), paths.prefect_home)
    assert failed.returncode == 3, failed.stderr[-2000:]
    message = failed.stderr.strip().splitlines()[-1]
    assert message.startswith(f"cps: quality gate failed for {NEXT_NIGHT}:")
    assert "service_jobs.completed_after_received_share" in message
    reason, _, details = message.partition(" (details: ")
    assert "nothing was published, the previous night stays" in reason
    # the night as built stays where the message says, for the on-call engineer to read what failed
    kept = reason.rpartition("the night as built is in ")[2].removesuffix(" until the next run")
    backwards = connect(Path(kept) / paths.warehouse.name, read_only=True)
    try:
        backwards_file = f"{NEXT_NIGHT}_batch_0001.csv"
        assert backwards.execute(
            "select count(*) from raw.file_ledger where source = 'service_jobs' and file_name = ?", [backwards_file]
        ).fetchone() == (1,)
        assert (
            backwards.execute(
                "select count(*) from staging.stg_service_jobs where completed_at < received_at"
            ).fetchone()[0]
            > len(jobs) // 2
        )
    finally:
        backwards.close()
    assert Path(details.removesuffix(")")).is_file()  # the run log, with the whole story
    assert "Traceback" not in failed.stderr
    assert len(reason) < 600
    assert published_night(paths.warehouse) == date.fromisoformat(NIGHT)
    assert table_fingerprints(paths.warehouse) == before

    # The next good night, and a backfill of an earlier one, fit into the history.
    for night in (NEXT_NIGHT, "2026-11-18"):
        assert run_night_in_process(paths, date.fromisoformat(night)).as_of == date.fromisoformat(night)
    connection = connect(paths.warehouse, read_only=True)
    try:
        nights = connection.execute(
            "select as_of_date, count(*) from marts.fct_member_levels group by 1 order by 1"
        ).fetchall()
        members = connection.execute("select count(*) from marts.dim_members").fetchone()[0]
        repeated = connection.execute(
            "select count(*) from (select member_id, as_of_date from marts.fct_member_levels group by all"
            " having count(*) > 1)"
        ).fetchone()[0]
        # Ledgers: the nights in the order they were run as new nights; the backfilled night (last run)
        # adds level history rows but recomputes no change row and no welcome pack.
        history = connection.execute(
            "select member_id, as_of_date, level from marts.fct_member_levels"
            " where as_of_date <> '2026-11-18' order by member_id, as_of_date"
        ).fetchall()
        changes = set(
            connection.execute(
                "select member_id, as_of_date, previous_level, level, direction from marts.fct_level_changes"
            ).fetchall()
        )
        packs = dict(connection.execute("select member_id, due_on from marts.rpt_welcome_packs").fetchall())
    finally:
        connection.close()
    # Level changes and welcome packs, derived independently from the recorded history.
    ladder = list(level_order())  # lowest first, from int_level_ladder
    expected_changes, expected_packs, previous = set(), {}, {}
    for member_id, night, level in history:
        before = previous.get(member_id)
        if before is not None and before != level:
            direction = "up" if ladder.index(level) > ladder.index(before) else "down"
            expected_changes.add((member_id, night, before, level, direction))
        if level != ladder[0]:
            expected_packs.setdefault(member_id, night)
        previous[member_id] = level
    assert changes == expected_changes
    assert packs == expected_packs and packs
    assert [str(night) for night, _ in nights] == ["2026-11-18", NIGHT, NEXT_NIGHT]
    assert nights[-1][1] == members
    assert repeated == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nightly", "--as-of", "2026-13-40"], "bad date"),
        (["nightly", "--inbox", "/nonexistent/inbox"], "inbox folder not found"),
        (["explain", "M0000001", "--warehouse", "/nonexistent/cps.duckdb"], "no warehouse"),
    ],
)
def test_usual_mistakes_give_one_line_errors(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_cli(args, tmp_path / "prefect", timeout=120)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_wrong_usage_found_before_any_work_exits_2_with_one_line(tmp_path: Path) -> None:
    partial_inbox = tmp_path / "inbox"
    for name in ("members", "service_jobs"):  # no registrations/
        (partial_inbox / name).mkdir(parents=True)
    cases = [
        (["nightly", "--bogus"], {}, "cps: No such option: --bogus (see `cps nightly --help`)"),
        (["nightly", "--wait", "soon"], {}, "Invalid value for '--wait'"),
        (["nightly", "--wait", "-3"], {}, "Invalid value for '--wait': Input should be greater than or equal to 0"),
        (["nightly", "--inbox", str(partial_inbox)], {}, "inbox folder for registrations not found"),
        (["nightly"], {"CPS_POLICY_OVERRIDES": "{"}, "bad setting CPS_POLICY_OVERRIDES: its value is not valid JSON"),
        (["nightly"], {"CPS_DBT_THREADS": "x"}, "bad setting CPS_DBT_THREADS='x': Input should be a valid integer"),
        (
            ["nightly"],
            {"CPS_POLICY_OVERRIDES": '{"level_silver_points": 5000}'},
            "bad CPS_POLICY_OVERRIDES: the level thresholds must climb",
        ),
        (
            ["nightly"],
            {"CPS_POLICY_OVERRIDES": '{"level_silver_points": "x"}'},
            "CPS_POLICY_OVERRIDES (level_silver_points)=",
        ),
        (["simulate", "--set", "max_quarantined_share=2"], {}, "max_quarantined_share is a share between 0 and 1"),
    ]
    for args, env, message in cases:
        result = run_cli(args, tmp_path / "prefect", timeout=120, extra_env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr and not result.stdout


def test_cps_alone_prints_its_help_and_nothing_on_stderr(tmp_path: Path) -> None:
    result = run_cli([], tmp_path / "prefect", timeout=120)
    assert result.returncode == 2  # click's code for a command given no arguments
    assert "nightly" in result.stdout and "Usage" in result.stdout
    assert result.stderr == "", repr(result.stderr)


def test_an_unreachable_prefect_server_is_one_line_saying_what_to_do(inbox: Path, tmp_path: Path) -> None:
    paths = night_paths(tmp_path, inbox)
    result = run_cli(paths.cli_args(NIGHT), paths.prefect_home, api_url="http://127.0.0.1:9/api", timeout=300)
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("cps: ")]
    assert line.startswith("cps: cannot reach the Prefect server at PREFECT_API_URL=http://127.0.0.1:9/api: ")
    assert "unset PREFECT_API_URL" in line and "Traceback" not in result.stderr
    assert not paths.warehouse.exists()


def test_unreadable_warehouse_unknown_member_and_explain(
    inbox: Path, tmp_path: Path, tiny_night: PublishedNight
) -> None:
    paths = night_paths(tmp_path, inbox)
    paths.warehouse.parent.mkdir(parents=True)
    paths.warehouse.write_bytes(b"garbage" * 1000)
    result = run_cli(paths.cli_args(NIGHT), paths.prefect_home)
    assert result.returncode != 0 and "cannot read the warehouse" in result.stderr
    assert "Traceback" not in result.stderr

    paths.warehouse.unlink()
    shutil.copyfile(tiny_night.paths.warehouse, paths.warehouse)  # the night as `cps nightly` published it
    unknown = run_cli(["explain", "NOPE-404", "--warehouse", str(paths.warehouse)], paths.prefect_home)
    assert unknown.returncode != 0 and "unknown member 'NOPE-404'" in unknown.stderr
    connection = connect(paths.warehouse, read_only=True)
    member_id, level, points = connection.execute(
        "select member_id, level, validated_points from marts.dim_members order by validated_points desc limit 1"
    ).fetchone()
    connection.close()
    explained = run_cli(["explain", member_id, "--warehouse", str(paths.warehouse)], paths.prefect_home)
    assert explained.returncode == 0, explained.stderr
    assert f"Member {member_id} as of {NIGHT}: {level}, {points} validated points" in explained.stdout
    earlier = run_cli(
        ["explain", member_id, "--warehouse", str(paths.warehouse), "--as-of", "2026-06-01"], paths.prefect_home
    )
    assert earlier.returncode == 0, earlier.stderr
    assert f"Member {member_id} as of 2026-06-01" in earlier.stdout
    # the night rebuilt aside shows its progress, one line a dbt node; dbt's own messages go to the run log
    assert "dbt run 1/" in earlier.stderr and "INFO" not in earlier.stderr and "Running with dbt" not in earlier.stderr
