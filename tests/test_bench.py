"""cps bench: the reference implementations apply the rules, agree with each other and with the platform."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.core.policy import level_ladder
from pipelines.core.sources import MEMBERS, PRODUCTS, REGISTRATIONS
from tools.bench import duckdb_reference as bench_duckdb
from tools.bench import pandas_reference as bench_pandas
from tools.bench import polars_reference as bench_polars
from tools.bench.inputs import BenchInputs
from tools.bench.measure import Measurement
from tools.bench.run import compare, run_benchmarks
from tools.bench.touch import second_night_inbox
from tools.synthetic.generate import generate_inbox

D = date(2026, 11, 23)
AFTER_D = "2026-11-24T00:00:00Z"  # the first instant after day D

# Points as of D, by the rules: CAM age 1 -> 300; OLD30 age 3 -> 30 * 0.85 = 25.5 -> 26 (half up, exact);
# SUP superseded -> 100 * 0.5 = 50; END service ended -> 3 * 0.10 = 0.3 -> 0, raised to 1.
PRODUCTS_CSV = (
    ",".join(PRODUCTS.column_names)
    + """
CAM,Camera,camera,false,2025-01-10,300,true,,,
OLD30,Old lens,lens,false,2023-07-09,30,false,,,
SUP,Superseded body,camera,false,2024-06-01,100,true,CAM,2025-01-10,
END,Old battery,accessory,false,2012-03-01,3,false,,,2025-01-01
LATER,Not launched yet,camera,false,2027-03-01,200,false,,,
"""
)
CENTRES_CSV = """centre_id,name,country,centre_type
CSC-DE,Canon Service Centre Krefeld,DE,canon_service_centre
AP-IT,Foto Riparazioni Milano,IT,authorised_partner
"""

MEMBERS_CSV = (
    ",".join(MEMBERS.column_names)
    + """
M1,m1@example.com,DE,de,true,2020-01-01T00:00:00Z,,2020-01-01T00:00:00Z
M2,m2@example.com,GB,en,false,2020-01-01T00:00:00Z,,2020-01-01T00:00:00Z
M3,m3@example.com,NA,en,true,2020-01-01T00:00:00Z,,2020-01-01T00:00:00Z
M4,m4@example.com,FR,fr,true,2024-13-45T10:00:00Z,,2020-01-01T00:00:00Z
M5,m5@example.com,IT,it,maybe,2020-01-01T00:00:00Z,,2020-01-01T00:00:00Z
M5,m5@example.com,IT,it,true,2020-01-01T00:00:00Z,,2019-01-01T00:00:00Z
"""
)

REG = "2025-06-01T10:00:00Z"  # registered / updated at, unless a row says otherwise
REGISTRATIONS_CSV = (
    ",".join(REGISTRATIONS.column_names)
    + f"""
R01,M1,CAM,AB1234,2025-05-01,DE,Shop,,{REG},,{REG}
R02,M1,OLD30,S0002,2024-05-01,DE,Shop,false,{REG},,{REG}
R03,M1,SUP,S0003,2024-07-01,DE,Shop,true,{REG},,{REG}
R04,M1,END,S0004,2013-05-01,de,Shop,false,{REG},,{REG}
R05,M1,CAM, ab1234 ,2025-05-01,DE,Shop,false,2025-06-02T10:00:00Z,,2025-06-02T10:00:00Z
R06,M1,CAM,CD5678,2025-05-01,DE,Shop,false,{REG},,{REG}
R07,M2,CAM,AB1234,2025-05-01,GB,Shop,false,2025-06-03T10:00:00Z,,2025-06-03T10:00:00Z
R08,M2,CAM,S0008,2025-05-01,GB,Shop,false,{REG},2026-11-23T23:59:59Z,2026-11-23T23:59:59Z
R09,M2,NOPE,S0009,2025-05-01,GB,Shop,false,{REG},,{REG}
R10,M2,CAM,S0010,2025-05-01,GB,   ,false,{REG},,{REG}
R11,M2,CAM,S0011,2025-05-01,UK,Shop,false,{REG},,{REG}
R12,M2,CAM,A-1,2025-05-01,GB,Shop,false,{REG},,{REG}
R13,M2,CAM,S0013,2024-12-01,GB,Shop,false,{REG},,{REG}
R14,M2,CAM,S0014,2025-05-01,gb,Shop,false,{REG},,{REG}
R15,M2,CAM,S0015,2025-05-01,GB,Shop,false,{REG},2025-07-01T00:00:00Z,2025-07-01T00:00:00Z
R16,M2,CAM,S0016,2025-05-01,GB,Shop,false,{REG},,{REG}
R16,M2,CAM,S0016,2025-05-01,GB,Shop,false,{REG},2026-11-24T00:00:00Z,{AFTER_D}
R17,M2,CAM,S0017,2025-05-01,GB,Shop,false,{AFTER_D},,{AFTER_D}
R18,M2,CAM,S0018,2025-05-01,GB,Shop,false,{REG},,{REG}
R18,M2,CAM,S0018,31/12/2023,GB,Shop,false,{REG},2025-07-01T00:00:00Z,2025-08-01T00:00:00Z
R19,M3,CAM,EF9999,2025-05-01,NA,Shop,false,2025-01-20T10:00:00Z,2025-03-01T00:00:00Z,2025-03-01T00:00:00Z
R20,M3,CAM,EF9999,2025-05-01,NA,Shop,false,{REG},,{REG}
R21,M5,CAM,TIE001,2025-05-01,IT,Shop,false,{REG},,{REG}
R22,M5,CAM,TIE001,2025-05-01,IT,Shop,false,{REG},,{REG}
R23,M5,CAM,P00001,2025-05-01,IT,Shop,maybe,{REG},,2025-09-01T00:00:00Z
R23,M5,CAM,P00001,2025-05-01,IT,Shop,false,{REG},,{REG}
R24,M5,CAM,P00002,2025-05-01,IT,Shop,false,{REG},,{REG}
R25,M5,CAM,P00003,2025-05-01,IT,Shop,false,{REG},,{REG}
R26,M5,CAM,P00004,2025-05-01,IT,Shop,false,{REG},,{REG}
R27,M5,CAM,P00005,2025-05-01,IT,Shop,false,{REG},,{REG}
R28,M99,CAM,P00006,2025-05-01,IT,Shop,false,{REG},,{REG}
"""
)

# Every member's expected points and level as of D, worked out by hand from the rules
# (dbt docs point_decay, registration_status):
# M1: R01 300 + R02 26 + R03 50 + R04 1 + R06 300 (R05 duplicates R01's serial, trimmed, any case) = 677
# M2: R07 duplicate of R01; R08 removed on D; R09 unknown product; R10 incomplete; R11 bad country;
#     R12 bad serial; R13 bought > 30 days before launch; R14 counts ('gb' is fine); R15 removed in the
#     CSV but the Parquet version with the same updated_at loads later and wins; R16's removal is stamped
#     after D; R17 is registered after D; R18's latest version breaks the schema (quarantined) -> 1200
# M3: R19 removed, so it does not hold the serial: R20 counts -> 300 (NA is Namibia, not a null)
# M4: its only version breaks the schema (quarantined): not a member
# M5: its latest version breaks the schema, the earlier one stands; R21/R22 registered at the same
#     instant: the smaller id holds; R23's latest version is quarantined -> 6 x 300 = 1800
EXPECTED_POINTS = {"M1": 677, "M2": 1200, "M3": 300, "M5": 1800}


def level_for(points: int) -> str:
    """The highest rung of the level ladder (int_level_ladder, read through the policy) the points reach."""
    return [rung.level for rung in level_ladder() if points >= rung.min_points][-1]


EXPECTED = {member_id: (points, level_for(points)) for member_id, points in EXPECTED_POINTS.items()}
# The data above is meant to put the members on four different levels under the shipped policy.
assert len({level for _, level in EXPECTED.values()}) == len(level_ladder()), EXPECTED
LATE_PARQUET_R15 = {  # the same updated_at as R15's CSV row, in a file that sorts (and loads) later
    "registration_id": ["R15"],
    "member_id": ["M2"],
    "product_sku": ["CAM"],
    "serial_number": ["S0015"],
    "purchase_date": [date(2025, 5, 1)],
    "purchase_country": ["GB"],
    "retailer": ["Shop"],
    "second_hand": [False],
    "registered_at": [datetime(2025, 6, 1, 10)],
    "removed_at": [None],
    "updated_at": [datetime(2025, 7, 1)],
}


def write_catalog(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "products.csv").write_text(PRODUCTS_CSV, encoding="utf-8")
    (folder / "service_centres.csv").write_text(CENTRES_CSV, encoding="utf-8")
    return folder


def levels_by_member(result: object) -> dict[str, tuple[int, str]]:
    if hasattr(result, "to_pylist"):
        rows = result.to_pylist()
    elif hasattr(result, "to_dicts"):
        rows = result.to_dicts()
    else:
        rows = result.to_dict("records")
    return {row["member_id"]: (int(row["validated_points"]), row["level"]) for row in rows}


REFERENCES = {"pandas": bench_pandas, "polars": bench_polars, "duckdb": bench_duckdb}


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalog(tmp_path_factory.mktemp("bench_catalog"))


@pytest.fixture(scope="module")
def handmade_inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inbox = tmp_path_factory.mktemp("bench_handmade")
    for source in (MEMBERS, REGISTRATIONS):
        (inbox / source.name).mkdir()
    (inbox / "members" / "2026-11-01_batch.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    (inbox / "registrations" / "2026-11-01_batch.csv").write_text(REGISTRATIONS_CSV, encoding="utf-8")
    table = pa.table(LATE_PARQUET_R15)
    table = pa.table(
        [
            table[name].cast(pa.timestamp("us", tz="UTC")) if name.endswith("_at") else table[name]
            for name in table.column_names
        ],
        names=table.column_names,
    )
    pq.write_table(table, inbox / "registrations" / "2026-11-02_batch.parquet")
    return inbox


@pytest.fixture(scope="module")
def generated_inbox(tmp_path_factory: pytest.TempPathFactory, catalog_dir: Path) -> Path:
    inbox = tmp_path_factory.mktemp("bench_generated")
    generate_inbox(out=inbox, members=200, seed=11, as_of=D, catalog_dir=catalog_dir)
    return inbox


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_each_reference_gives_the_hand_worked_points_and_levels(
    name: str, handmade_inbox: Path, catalog_dir: Path
) -> None:
    result = REFERENCES[name].member_levels(BenchInputs(handmade_inbox, catalog_dir, D))
    assert levels_by_member(result) == EXPECTED


@pytest.mark.parametrize("as_of", [D, D - timedelta(days=10)])
def test_references_agree_on_every_generated_member(generated_inbox: Path, catalog_dir: Path, as_of: date) -> None:
    inputs = BenchInputs(generated_inbox, catalog_dir, as_of)
    results = {name: levels_by_member(module.member_levels(inputs)) for name, module in REFERENCES.items()}
    assert results["pandas"] == results["duckdb"]
    assert results["polars"] == results["duckdb"]
    levels = {level for _, level in results["duckdb"].values()}
    assert len(results["duckdb"]) >= 190 and len(levels) >= 2, "the generated inbox should give a mix of levels"


def test_second_night_batch_changes_about_one_percent_and_references_still_agree(
    generated_inbox: Path, catalog_dir: Path, tmp_path: Path
) -> None:
    first = BenchInputs(generated_inbox, catalog_dir, D)
    second, touched = second_night_inbox(first, tmp_path / "night2")
    assert second.as_of == D + timedelta(days=1)
    assert 0 < touched < 200, "about 1% of 200 members' registrations"
    assert second.files("registrations")[-1].name.endswith("_bench_touch.csv")
    before = levels_by_member(bench_duckdb.member_levels(first))
    after = {name: levels_by_member(module.member_levels(second)) for name, module in REFERENCES.items()}
    assert after["pandas"] == after["duckdb"] == after["polars"]
    assert after["duckdb"] != before, "completing registrations should change some member's points"


def write_levels(path: Path, rows: list[tuple[str, int, str]]) -> Measurement:
    pq.write_table(
        pa.table(
            {
                "member_id": [r[0] for r in rows],
                "validated_points": [r[1] for r in rows],
                "level": [r[2] for r in rows],
            }
        ),
        path,
    )
    return Measurement(path.stem, 3, 1, 0.1, 0.2, 1, path)


def test_compare_counts_every_member_that_differs_or_is_missing(tmp_path: Path) -> None:
    reference = write_levels(tmp_path / "duckdb.parquet", [("M1", 10, "Red"), ("M2", 600, "Silver"), ("M3", 0, "Red")])
    same = write_levels(tmp_path / "pandas.parquet", [("M3", 0, "Red"), ("M2", 600, "Silver"), ("M1", 10, "Red")])
    other = write_levels(tmp_path / "polars.parquet", [("M1", 11, "Red"), ("M2", 600, "Gold"), ("M4", 0, "Red")])
    assert compare(reference, same).mismatches == 0
    agreement = compare(reference, other)
    assert agreement.mismatches == 4  # M1 points, M2 level, M3 missing, M4 extra
    assert len(agreement.examples) == 4 and agreement.examples[0].startswith("M1:")


def test_a_run_appends_its_section_and_keeps_what_the_file_had(tmp_path: Path) -> None:
    from tools.bench.run import append_to_markdown

    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\nNotes by hand.\n", encoding="utf-8")
    append_to_markdown(markdown, "## `cps bench` run one\n")
    append_to_markdown(markdown, "## `cps bench` run two\n")
    text = markdown.read_text(encoding="utf-8")
    assert text.index("Notes by hand.") < text.index("run one") < text.index("run two")


def test_step_times_are_read_from_the_run_summary() -> None:
    from tools.bench.measure import step_seconds

    output = (
        "12:00:01 ingest ...\nNight 2026-11-23 published to x (new)\n"
        "  time per step: prepare 0.1s, ingest 16.8s, dbt build 86.4s, quality gate 7.0s, publish 0.2s\n"
        "  reports: x\n"
    )
    assert step_seconds(output) == {
        "prepare": 0.1,
        "ingest": 16.8,
        "dbt build": 86.4,
        "quality gate": 7.0,
        "publish": 0.2,
    }
    assert step_seconds("cps: quality gate failed") == {}


def platform_night(tmp_path: Path, night: int, seconds: float, steps: dict[str, float], peak: int = 1) -> Measurement:
    return Measurement("platform", 10, night, seconds, seconds, peak, tmp_path / f"p{night}.parquet", steps)


def test_each_target_says_met_or_missed_at_its_boundary(tmp_path: Path) -> None:
    from tools.bench.run import (
        DBT_MAX_FACTOR_OVER_QUERY,
        GB,
        INGEST_MAX_SECONDS,
        NIGHT1_MAX_SECONDS,
        NIGHT2_MAX_SECONDS,
        NIGHT2_MIN_SPEEDUP_OVER_PANDAS,
        PEAK_MAX_BYTES,
        SizeResult,
        size_targets,
    )

    query, pandas = 10.0, NIGHT2_MAX_SECONDS * NIGHT2_MIN_SPEEDUP_OVER_PANDAS
    met = SizeResult(members=1_000_000, as_of=D, ingest_floor_seconds=3.0)
    met.measurements = [
        Measurement("duckdb", 10, 1, query, query, 1, tmp_path / "q1.parquet"),
        Measurement("duckdb", 10, 2, query, query, 1, tmp_path / "q2.parquet"),
        Measurement("pandas", 10, 2, pandas, pandas, 1, tmp_path / "pd.parquet"),
        platform_night(
            tmp_path,
            1,
            NIGHT1_MAX_SECONDS - 0.1,
            {"ingest": INGEST_MAX_SECONDS - 0.1, "dbt build": query * DBT_MAX_FACTOR_OVER_QUERY},
            PEAK_MAX_BYTES - 1,
        ),
        platform_night(
            tmp_path,
            2,
            NIGHT2_MAX_SECONDS - 0.1,
            {"ingest": 1.0, "dbt build": 1.0},
        ),
    ]
    assert [target.met for target in size_targets(met)] == [True] * 7
    missed = SizeResult(members=1_000_000, as_of=D, ingest_floor_seconds=3.0)
    missed.measurements = [
        *met.measurements[:3],
        platform_night(
            tmp_path,
            1,
            NIGHT1_MAX_SECONDS,
            {"ingest": INGEST_MAX_SECONDS, "dbt build": query * DBT_MAX_FACTOR_OVER_QUERY + 0.1},
            PEAK_MAX_BYTES,
        ),
        platform_night(tmp_path, 2, NIGHT2_MAX_SECONDS + 0.1, {"dbt build": 1}),
    ]
    verdicts = {target.name: target.met for target in size_targets(missed)}
    assert verdicts.pop("night 2: dbt build within 1.5x the hand-written query (the issue sets it for night 1)")
    assert set(verdicts.values()) == {False} and len(verdicts) == 6, verdicts
    assert "3.00 GB" in next(t.measured for t in size_targets(missed) if t.name.startswith("peak")) and GB


def write_run_results(path: Path, seconds: dict[str, float]) -> Path:
    import json

    results = [{"unique_id": node, "execution_time": time, "status": "success"} for node, time in seconds.items()]
    path.write_text(json.dumps({"results": results}), encoding="utf-8")
    return path


def test_growth_compares_medians_and_flags_the_dbt_nodes_that_grew(tmp_path: Path) -> None:
    from tools.bench.growth import GrowthResult, growth_targets, render_growth

    def night(number: int, seconds: float, nodes: dict[str, float], run: int) -> Measurement:
        results = write_run_results(tmp_path / f"n{number}r{run}.json", nodes)
        return Measurement("platform", 10, number, seconds, seconds, 1, tmp_path / "x.parquet", {}, results)

    steady = {
        "model.cps.fct_registrations": 10.0,
        "model.cps.dim_members": 2.0,
        "model.cps.agg_small": 0.2,
        "test.cps.not_null_x": 0.6,
    }
    growing = {**steady, "model.cps.fct_level_history": 3.0}
    grown = {**steady, "model.cps.fct_level_history": 4.1, "model.cps.dim_members": 2.9}
    result = GrowthResult(members=10, nights=4, as_of=D)
    result.sequence = [night(1, 50, steady, 1), night(2, 10, growing, 1), night(3, 11, growing, 1)]
    result.sequence.append(night(4, 13, grown, 1))
    result.reruns = [night(2, 12, growing, 2), night(4, 14.5, grown, 2), night(2, 11, growing, 3)]
    result.reruns.append(night(4, 20, grown, 3))
    targets, runs = growth_targets(result)
    assert "median 11.0 s" in runs and "median 14.5 s" in runs
    assert targets[0].met is False and "14.5 s vs 11.0 s = 1.32x" in targets[0].measured
    # fct_level_history grew by 1.1 s and 37%: flagged; dim_members by 45% but only 0.9 s: not flagged
    assert targets[1].met is False and targets[1].measured == "grew: model fct_level_history"
    text = render_growth(result)
    assert "| model fct_level_history | 3.00 | 4.10 | **yes** |" in text
    assert "| model dim_members | 2.00 | 2.90 |  |" in text
    assert "| 1 other models, each under 0.5 s | 0.20 | 0.20 | |" in text
    assert "| 1 data tests (any that grew has its own row) | 0.60 | 0.60 | |" in text


def test_each_later_night_adds_one_batch_for_a_different_one_percent(
    generated_inbox: Path, catalog_dir: Path, tmp_path: Path
) -> None:
    from tools.bench.growth import night_inputs

    first = BenchInputs(generated_inbox, catalog_dir, D)
    inputs, touched = night_inputs(first, 3, tmp_path / "nights")
    assert [i.as_of for i in inputs] == [D, D + timedelta(days=1), D + timedelta(days=2)]
    batches = [i.files("registrations")[-1] for i in inputs[1:]]
    assert [b.name for b in batches] == ["2026-11-24_bench_touch.csv", "2026-11-25_bench_touch.csv"]
    assert len(inputs[2].files("registrations")) == len(first.files("registrations")) + 2
    members = [set(pq_members(batch)) for batch in batches]
    assert members[0] and members[1] and members[0] != members[1]
    assert all(0 < rows < 200 for rows in touched)
    modified = batches[1].stat().st_mtime_ns
    again, _ = night_inputs(first, 3, tmp_path / "nights")  # reused, not written again
    assert again == inputs and batches[1].stat().st_mtime_ns == modified


def pq_members(batch: Path) -> list[str]:
    import duckdb

    return [row[0] for row in duckdb.sql(f"select member_id from read_csv('{batch}', all_varchar = true)").fetchall()]


def test_the_machine_is_named() -> None:
    from tools.bench.machine import load_average, machine_text

    text = machine_text()
    for part in ("cores", "GiB memory", "Python", "DuckDB", "dbt-core", "Prefect"):
        assert part in text
    assert len(load_average().split(" / ")) == 3


def test_platform_agrees_with_the_references_on_both_nights(
    catalog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_api: str
) -> None:
    """The whole benchmark at a tiny size: four implementations, two nights, each in its own process."""
    monkeypatch.setenv("CPS_DBT_NODE_TASKS", "false")  # the plain dbt build: quicker for a test
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)  # the suite's server, as an operator's running one
    output = tmp_path / "BENCHMARKS.md"
    report = run_benchmarks([60], workdir=tmp_path / "bench", output=output, catalog=catalog_dir)
    assert "Night 1: polars, pandas, platform agree" in report
    assert "Night 2: polars, pandas, platform agree" in report
    written = output.read_text(encoding="utf-8")
    assert written.startswith("# Benchmarks") and "### 60 members" in written
    for line in ("| · ingest |", "| · dbt build |", "| · quality gate |", "| · outside the steps", "Load average"):
        assert line in written
    assert written.count("**met**") + written.count("**MISSED**") == 7


def test_the_ingestion_floor_reads_every_inbox_file_and_is_reported(generated_inbox: Path) -> None:
    from tools.bench.ingest_floor import ingest_floor_seconds
    from tools.bench.run import SizeResult, render_ingest_floor

    seconds = ingest_floor_seconds(generated_inbox)

    assert seconds > 0
    line = render_ingest_floor(SizeResult(members=200, as_of=D, ingest_floor_seconds=2.25))
    assert line == "Ingestion floor (inbox read and typed by DuckDB alone, no checks): 2.2 s."
