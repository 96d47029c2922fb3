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
from tools.bench.run import compare, merge_into_markdown, run_benchmarks
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


def test_results_replace_their_size_and_keep_the_other_sections(tmp_path: Path, catalog_dir: Path) -> None:
    from tools.bench.run import SizeResult

    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\n## Benchmark\n\nNotes by hand.\n\n## Later\n\nkept\n", encoding="utf-8")
    results = [
        SizeResult(members=size, as_of=D, measurements=[write_levels(tmp_path / "duckdb.parquet", [("M1", 1, "Red")])])
        for size in (100, 10)
    ]
    merge_into_markdown(markdown, results)
    merge_into_markdown(markdown, results[:1])
    text = markdown.read_text(encoding="utf-8")
    assert text.count("### 100 members") == 1 and text.count("### 10 members") == 1
    assert text.index("### 10 members") < text.index("### 100 members")
    assert text.index("Notes by hand.") < text.index("### 10 members") < text.index("## Later") < text.index("kept")


def test_platform_agrees_with_the_references_on_both_nights(
    catalog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole benchmark at 200 members: four implementations, two nights, each in its own process."""
    monkeypatch.setenv("CPS_DBT_NODE_TASKS", "false")  # the plain dbt build: quicker for a test
    report = run_benchmarks([200], workdir=tmp_path / "bench", output=tmp_path / "BENCHMARKS.md", catalog=catalog_dir)
    assert "Night 1: polars, pandas, platform agree" in report
    assert "Night 2: platform agrees" in report
    written = (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert "### 200 members" in written and "· dbt build" in written and "platform: whole night" in written


def test_the_ingestion_floor_reads_every_inbox_file_and_is_reported(generated_inbox: Path) -> None:
    from tools.bench.ingest_floor import ingest_floor_seconds
    from tools.bench.run import SizeResult, render_ingest_floor

    seconds = ingest_floor_seconds(generated_inbox)

    assert seconds > 0
    line = render_ingest_floor(SizeResult(members=200, as_of=D, ingest_floor_seconds=2.25))
    assert line == "Ingestion floor (inbox read and typed by DuckDB alone, no checks): 2.2 s."
