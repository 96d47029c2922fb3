"""The reference catalogue in catalog/ and the script that builds it."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "catalog"
SCRIPT = ROOT / "scripts" / "build_catalog.py"
CATEGORIES = {"camera", "lens", "cinema_camera", "camcorder", "printer", "flash", "accessory", "other"}
PRODUCT_COLUMNS = [
    "product_sku",
    "product_name",
    "category",
    "is_video",
    "launch_date",
    "base_points",
    "fast_track",
    "superseded_by",
    "superseded_on",
    "service_end_date",
]


def _read(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (CATALOG / name).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def products() -> list[dict[str, str]]:
    header, rows = _read("products.csv")
    assert header == PRODUCT_COLUMNS
    return rows


@pytest.fixture(scope="module")
def by_sku(products: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {p["product_sku"]: p for p in products}


def test_size_and_unique_skus(products, by_sku):
    assert len(products) >= 3000
    assert len(by_sku) == len(products)
    assert all(p["product_sku"].strip() and p["product_name"].strip() for p in products)


def test_exactly_120_fast_track(products):
    assert {p["fast_track"] for p in products} <= {"true", "false"}
    fast = [p for p in products if p["fast_track"] == "true"]
    assert len(fast) == 120
    assert all(p["category"] not in {"accessory", "printer", "flash", "other"} for p in fast)
    assert all(" Kit" not in p["product_name"] for p in fast)


def test_categories_and_is_video(products):
    for p in products:
        assert p["category"] in CATEGORIES, p
        assert p["is_video"] == ("true" if p["category"] in {"cinema_camera", "camcorder"} else "false"), p


def test_points_are_non_negative_ints(products):
    for p in products:
        assert p["base_points"].isdigit(), p
    points = {p["product_sku"]: int(p["base_points"]) for p in products}
    assert points["CAM-EOS5DM3"] == 235
    assert points["LNS-EF40F28"] == 15


def test_dates_parse(products):
    for p in products:
        date.fromisoformat(p["launch_date"])
        for col in ("superseded_on", "service_end_date"):
            if p[col]:
                date.fromisoformat(p[col])
        assert bool(p["superseded_by"]) == bool(p["superseded_on"]), p


def test_successors_exist_and_are_later(by_sku):
    for sku, p in by_sku.items():
        succ = p["superseded_by"]
        if not succ:
            continue
        assert succ in by_sku, sku
        assert succ != sku
        assert p["superseded_on"] >= p["launch_date"], sku
        assert p["superseded_on"] == by_sku[succ]["launch_date"], sku


def test_no_supersession_cycles(by_sku):
    for sku in by_sku:
        seen = {sku}
        cur = by_sku[sku]["superseded_by"]
        while cur:
            assert cur not in seen, f"cycle through {sku}"
            seen.add(cur)
            cur = by_sku[cur]["superseded_by"]


def test_known_successions(by_sku):
    chain = {
        "CAM-EOS5DM2": "CAM-EOS5DM3",
        "CAM-EOS5DM3": "CAM-EOS5DM4",
        "CAM-EOS1DX": "CAM-EOS1DXM2",
        "CAM-EOS1DXM2": "CAM-EOS1DXM3",
        "CIN-C300": "CIN-C300M2",
        "CIN-C300M2": "CIN-C300M3",
        "CAM-EOSR6M2": "CAM-EOSR6M3",
        "CAM-EOS5DM2-UK": "CAM-EOS5DM3",
    }
    for old, new in chain.items():
        assert by_sku[old]["superseded_by"] == new


def test_service_centres():
    header, rows = _read("service_centres.csv")
    assert header == ["centre_id", "name", "country", "centre_type"]
    ids = [r["centre_id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert {r["centre_type"] for r in rows} == {"canon_service_centre", "authorised_partner"}
    for r in rows:
        assert len(r["country"]) == 2 and r["country"].isupper() and r["country"].isalpha(), r
        assert r["name"].strip()


def test_script_regenerates_identical_files(tmp_path):
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True)
    for name in ("products.csv", "service_centres.csv"):
        assert (tmp_path / name).read_bytes() == (CATALOG / name).read_bytes(), name
