"""`cps explain` as a table: full product names, the registration id, numbers aligned."""

from __future__ import annotations

from datetime import date

from rich.console import Console

from pipelines.publishing.explain import RegistrationLine, render

LONG_NAME = "Canon EOS 5D Mark IV + EF 24-105mm f/4L IS USM Kit (Central & Eastern Europe)"


def line(registration_id: str, name: str, sku: str, status: str = "counted", reasons: str = "") -> RegistrationLine:
    counted = status == "counted"
    return RegistrationLine(
        product_sku=sku,
        product_name=name,
        launch_date=date(2016, 9, 8),
        base_points=370,
        age_years=10,
        is_superseded=True,
        is_service_ended=False,
        product_points=37,
        status=status,
        reasons=reasons,
        effective_points=37 if counted else 0,
        pending_points=0 if counted else 37,
        registration_id=registration_id,
        explanation=None if counted else "Add the serial number",
    )


def rendered(width: int) -> str:
    member = {
        "member_id": "M00000042",
        "level": "Silver",
        "validated_points": 1234,
        "pending_points": 37,
        "next_level": "Gold",
        "points_to_next_level": 20,
    }
    lines = [
        line("R0000000001", LONG_NAME, "CAM-EOS5DM4-KEF24105F4L-CEE"),
        line("R0000000002", LONG_NAME, "CAM-EOS5DM4-KEF24105F4L-CEE", "incomplete", "missing_serial_number"),
    ]
    console = Console(record=True, width=width, color_system=None)
    console.print(render(member, lines, date(2026, 11, 20)))
    return console.export_text()


def test_full_names_and_registration_ids_on_a_wide_console() -> None:
    text = rendered(220)
    assert text.startswith("Member M00000042 as of 2026-11-20: Silver, 1234 validated points, 37 pending")
    assert LONG_NAME in text and "[CAM-EOS5DM4-KEF24105F4L-CEE]" in text  # no cut at 44 characters
    rows = [row for row in text.splitlines() if "R000000000" in row and "base ->" in row]
    assert len(rows) == 2, "two registrations of one product are told apart by their id"
    # Columns aligned: the registration id and the points start at the same place in every row.
    assert len({row.index("R000000000") for row in rows}) == 1
    assert len({len(row.rstrip()) for row in rows}) == 1, "numbers right-aligned"
    assert "370 base -> 37 now (age 10y, decaying, superseded" in text
    assert "incomplete (missing_serial_number)" in text
    assert (
        "20 more points reach Gold." in text and "Fixing the registrations below would add 37 points (enough)" in text
    )


def test_narrow_console_wraps_instead_of_cutting() -> None:
    text = rendered(90)
    assert all(len(row) <= 90 for row in text.splitlines())
    words = " ".join(text.split())
    for word in LONG_NAME.split():
        assert word in words
    assert "R0000000001" in text and "R0000000002" in text
