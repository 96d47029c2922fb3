"""A sequence of nights for testing that an incremental night equals a full rebuild.

A small generated inbox (`generate_inbox`) is the first night's background. On later nights new
batch files arrive, written here, that carry every kind of change a night has to take in: new
members and registrations, records stamped between two nights (in files arriving that night, a
night early, or a night late with older stamps), removals (some dated ahead), completions,
invalid purchase dates that are reached, a duplicate serial resolved by a removal, a serial taken
over by a late-arriving earlier registration, service jobs completed. The catalogue is written once
for the whole sequence, with a supersession and an end of service dated inside it, and some nights
pass product launch anniversaries. One night runs with other policy values.

Each night gets its own inbox folder holding every file that has arrived so far (links to the
files in `arrivals/`). `expectations` say which published value must change on which night, so
that a test can check the sequence really exercises each kind of change.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.policy import policy
from pipelines.core.sources import INBOX_SOURCES, MEMBERS, REGISTRATIONS, SERVICE_JOBS, Source
from tools.bench.duckdb_reference import source_sql
from tools.synthetic.generate import generate_inbox

# The nights: consecutive days, and gaps of weeks in which product launch anniversaries pass.
NIGHTS: tuple[date, ...] = (
    date(2026, 8, 3),  # N1 Monday: the generated inbox, first night
    date(2026, 8, 4),  # N2
    date(2026, 8, 5),  # N3
    date(2026, 8, 24),  # N4, after a gap of 19 days
    date(2026, 8, 25),  # N5
    date(2026, 9, 21),  # N6, after a gap of 27 days
    date(2026, 9, 22),  # N7: other policy values
)
POLICY_NIGHT = NIGHTS[6]
SEQUENCE_RETAILER = "Sequence Camera Shop"
ABSENT = "<absent>"  # an expectation's value for a row that is not (yet) in the table
NOT_REMOVED = ("counted", "incomplete", "invalid", "duplicate_serial", "unknown_product")
DECIDED = ("counted", "invalid", "duplicate_serial")  # what a completed registration can become


@dataclass(frozen=True)
class Expectation:
    """On `night`, the published `column` of the row `key` in `table` goes from one of `before`
    (the previous night's value) to one of `after`."""

    kind: str
    night: date
    table: str
    key_column: str
    key: str
    column: str
    before: tuple[Any, ...]
    after: tuple[Any, ...]


@dataclass
class NightSequence:
    root: Path
    catalog: Path
    nights: tuple[date, ...] = NIGHTS
    policy_overrides: dict[date, dict[str, int | float]] = field(default_factory=dict)
    expectations: list[Expectation] = field(default_factory=list)
    arrivals: dict[date, list[Path]] = field(default_factory=dict)

    def inbox(self, night: date) -> Path:
        """The inbox as it stands on `night`: every file that arrived on or before it."""
        return self.root / "nights" / night.isoformat()

    def expectations_for(self, night: date) -> list[Expectation]:
        return [expectation for expectation in self.expectations if expectation.night == night]


def stamp(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_records(path: Path, source: Source, records: list[dict[str, Any]]) -> Path:
    """One CSV batch in the inbox's format (ISO dates, UTC timestamps with Z, true/false)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(source.column_names)
        for record in records:
            writer.writerow([_text(record.get(name)) for name in source.column_names])
    return path


# --- the catalogue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    sku: str
    launch: date
    base_points: int
    superseded: bool
    service_ended: bool


def _read_products(catalog_dir: Path) -> tuple[list[str], list[dict[str, str]]]:
    with (catalog_dir / "products.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _product(row: dict[str, str]) -> Product:
    return Product(
        sku=row["product_sku"],
        launch=date.fromisoformat(row["launch_date"].strip()),
        base_points=int(row["base_points"]),
        superseded=bool(row["superseded_on"].strip()),
        service_ended=bool(row["service_end_date"].strip()),
    )


def _age_years(launch: date, day: date) -> int:
    years = day.year - launch.year
    return years - 1 if (day.month, day.day) < (launch.month, launch.day) else years


@dataclass(frozen=True)
class ScenarioProducts:
    """Products the written records use, chosen from the catalogue by what the events need."""

    anniversary: Product  # an anniversary after grace passes between N3 and N4
    superseded: Product  # superseded between N3 and N4 (dated ahead in the catalogue)
    service_ended: Product  # service ends between N5 and N6
    big: Product  # full points all along, below the Silver threshold
    completing: Product  # with `big`, reaches Silver (alone it does not)
    plain: tuple[Product, ...]  # full points all along, for the other scenario registrations


def _choose_products(rows: list[dict[str, str]]) -> tuple[ScenarioProducts, str]:
    values = policy()
    grace, silver = int(values["grace_years"]), int(values["level_silver_points"])
    first, last = NIGHTS[0], NIGHTS[-1]
    products = [_product(row) for row in rows]
    unchanged = [p for p in products if not p.superseded and not p.service_ended]
    # Full points on every night: younger than the grace years on the last night, launched well before the first.
    young = sorted(
        (p for p in unchanged if _age_years(p.launch, last) < grace and p.launch <= first - timedelta(days=90)),
        key=lambda p: (-p.base_points, p.sku),
    )
    big = next(p for p in young if p.base_points < silver)
    completing = next(p for p in young if p.base_points < silver <= big.base_points + p.base_points and p != big)
    # An anniversary (grace passed, factor above the floor) in the gap before N4.
    anniversary = next(
        p
        for p in sorted(unchanged, key=lambda p: (-p.base_points, p.sku))
        if _full_or_decayed(p, NIGHTS[2]) != _full_or_decayed(p, NIGHTS[3])
    )
    others = [p for p in young if p not in (big, completing) and p.base_points >= 50]
    superseded, service_ended, successor = others[0], others[1], others[2]
    plain = tuple(others[3:8])
    chosen = ScenarioProducts(anniversary, superseded, service_ended, big, completing, plain)
    return chosen, successor.sku


def write_sequence_catalogue(source_dir: Path, target_dir: Path) -> ScenarioProducts:
    """The sequence's catalogue: the shipped one with a supersession and an end of service dated
    inside the sequence (the file never changes between nights: the dates are reached, not loaded)."""
    fields, rows = _read_products(source_dir)
    chosen, successor = _choose_products(rows)
    for row in rows:
        if row["product_sku"] == chosen.superseded.sku:
            row["superseded_by"], row["superseded_on"] = successor, (NIGHTS[3] - timedelta(days=6)).isoformat()
        if row["product_sku"] == chosen.service_ended.sku:
            row["service_end_date"] = (NIGHTS[5] - timedelta(days=11)).isoformat()
    target_dir.mkdir(parents=True, exist_ok=True)
    with (target_dir / "products.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    shutil.copyfile(source_dir / "service_centres.csv", target_dir / "service_centres.csv")
    return chosen


def _first_centre(catalog_dir: Path) -> str:
    with (catalog_dir / "service_centres.csv").open(encoding="utf-8", newline="") as handle:
        return next(row["centre_id"] for row in csv.DictReader(handle) if row["centre_type"] == "canon_service_centre")


# --- the generated background ----------------------------------------------------------------------


def _latest(inbox: Path, source: Source, key: str) -> list[dict[str, Any]]:
    """The newest version of every record of a source in the generated inbox (rows breaking the schema left out)."""
    files = sorted((inbox / source.name).iterdir())
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        cursor = connection.execute(
            f"""
            select * exclude (_file, _row) from ({source_sql(files, source)})
            qualify row_number() over (partition by {key} order by updated_at desc, _file desc, _row desc) = 1
            order by {key}
            """
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _registration_record(row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    record = {**row, "registered_at": _utc(row["registered_at"]), "removed_at": _utc(row["removed_at"])}
    record.update(changes)
    return record


def _completed(row: dict[str, Any], updated_at: datetime) -> dict[str, Any]:
    """A new version with every missing detail filled in (the member completing a blue-dot registration)."""

    def blank(value: Any) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())

    registered = _utc(row["registered_at"])
    assert registered is not None
    return _registration_record(
        row,
        serial_number=row["serial_number"] if not blank(row["serial_number"]) else f"SQ{row['registration_id'][1:]}",
        purchase_date=row["purchase_date"] or registered.date(),
        purchase_country=row["purchase_country"] if not blank(row["purchase_country"]) else "DE",
        retailer=row["retailer"] if not blank(row["retailer"]) else SEQUENCE_RETAILER,
        updated_at=updated_at,
    )


# --- the sequence ------------------------------------------------------------------------------------


class _Writer:
    """Collects the files that arrive each night and the expectations they create."""

    def __init__(self, sequence: NightSequence) -> None:
        self.sequence = sequence
        self.count = 0

    def arrive(self, night: date, source: Source, records: list[dict[str, Any]], what: str) -> None:
        self.count += 1
        name = f"{night.isoformat()}_seq_{self.count:02d}_{what}.csv"
        path = write_records(self.sequence.root / "arrivals" / source.name / name, source, records)
        self.sequence.arrivals.setdefault(night, []).append(path)

    def expect(self, kind: str, night: date, table: str, key: str, column: str, before: Any, after: Any) -> None:
        key_column = {
            "fct_registrations": "registration_id",
            "dim_members": "member_id",
            "dim_products": "product_sku",
            "fct_service_jobs": "job_id",
        }[table]
        as_tuple = lambda value: value if isinstance(value, tuple) else (value,)  # noqa: E731
        self.sequence.expectations.append(
            Expectation(kind, night, table, key_column, key, column, as_tuple(before), as_tuple(after))
        )


def _member(member_id: str, joined: datetime, opt_in: bool = True) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "email": f"{member_id.lower()}@sequence.example",
        "country": "DE",
        "language": "de",
        "marketing_opt_in": opt_in,
        "joined_at": joined,
        "updated_at": joined,
    }


def _registration(
    registration_id: str,
    member_id: str,
    product: Product,
    serial: str,
    registered: datetime,
    purchase: date | None = None,
    **changes: Any,
) -> dict[str, Any]:
    record = {
        "registration_id": registration_id,
        "member_id": member_id,
        "product_sku": product.sku,
        "serial_number": serial,
        "purchase_date": purchase or max(product.launch + timedelta(days=20), registered.date() - timedelta(days=200)),
        "purchase_country": "DE",
        "retailer": SEQUENCE_RETAILER,
        "second_hand": False,
        "registered_at": registered,
        "removed_at": None,
        "updated_at": registered,
    }
    record.update(changes)
    return record


def generate_night_sequence(root: Path, members: int, seed: int, catalog_dir: Path) -> NightSequence:
    """Write the sequence under `root` (catalog/, arrivals/, nights/<date>/) and describe it."""
    if root.exists():
        shutil.rmtree(root)
    sequence = NightSequence(root=root, catalog=root / "catalog")
    products = write_sequence_catalogue(catalog_dir, sequence.catalog)
    base = root / "base"
    generate_inbox(out=base, members=members, seed=seed, as_of=NIGHTS[0], catalog_dir=sequence.catalog)
    sequence.arrivals[NIGHTS[0]] = sorted(path for source in INBOX_SOURCES for path in (base / source.name).iterdir())
    writer = _Writer(sequence)
    _scenario_events(writer, products, _first_centre(catalog_dir))
    _background_events(writer, base, products.plain[1])
    values = policy()
    sequence.policy_overrides[POLICY_NIGHT] = {
        "level_silver_points": int(values["level_silver_points"]) // 2,
        "decay_per_year": float(values["decay_per_year"]) * 2,
    }
    _link_nightly_inboxes(sequence)
    return sequence


def _scenario_events(writer: _Writer, products: ScenarioProducts, centre: str) -> None:
    """Members and registrations written here, so that each event's effect is known exactly."""
    n1, n2, n3, n4, n5, n6, _ = NIGHTS
    plain = products.plain
    arrive, expect = writer.arrive, writer.expect

    # N2: new members and their registrations.
    joined = stamp(n2, 8)
    arrive(n2, MEMBERS, [_member(f"MSEQ{i:04d}", joined) for i in range(1, 7)], "new_members")
    registrations = [
        _registration("RSEQ000001", "MSEQ0001", products.anniversary, "AN0000000001", stamp(n2, 9)),
        _registration("RSEQ000002", "MSEQ0001", products.superseded, "SU0000000002", stamp(n2, 9, 5)),
        _registration("RSEQ000003", "MSEQ0002", products.service_ended, "SE0000000003", stamp(n2, 9, 10)),
        # the same product and serial twice: the earlier registration holds the serial
        _registration("RSEQ000004", "MSEQ0002", plain[0], "DUP0000000004", stamp(n2, 9, 15)),
        _registration("RSEQ000005", "MSEQ0003", plain[0], " dup0000000004 ", stamp(n2, 11)),
        # bought on a date still ahead (a pre-order registered early): invalid until the date is reached
        _registration("RSEQ000006", "MSEQ0003", plain[1], "FU0000000006", stamp(n2, 9, 20), purchase=n4 - timedelta(9)),
        # Silver by completing: `big` alone is below the threshold, with `completing` above it
        _registration("RSEQ000007", "MSEQ0004", products.big, "BG0000000007", stamp(n2, 9, 25)),
        _registration("RSEQ000008", "MSEQ0004", products.completing, "CO0000000008", stamp(n2, 9, 30), retailer=None),
        # a serial that an earlier registration, arriving late, will take over
        _registration("RSEQ000009", "MSEQ0005", plain[2], "ST0000000009", stamp(n2, 9, 35)),
        # the member of this one arrives a night later
        _registration("RSEQ000010", "MSEQ0007", plain[3], "OR0000000010", stamp(n2, 9, 40)),
        # removed later, with a removal date reached on N6
        _registration("RSEQ000011", "MSEQ0006", plain[4], "RA0000000011", stamp(n2, 9, 45)),
    ]
    arrive(n2, REGISTRATIONS, registrations, "new_registrations")
    by_id = {record["registration_id"]: record for record in registrations}
    for registration_id, status in (
        ("RSEQ000001", "counted"),
        ("RSEQ000004", "counted"),
        ("RSEQ000005", "duplicate_serial"),
        ("RSEQ000006", "invalid"),
        ("RSEQ000008", "incomplete"),
        ("RSEQ000009", "counted"),
    ):
        expect("new registration", n2, "fct_registrations", registration_id, "status", ABSENT, status)
    expect("registration before its member", n2, "fct_registrations", "RSEQ000010", "status", ABSENT, "counted")
    expect("new member", n2, "dim_members", "MSEQ0001", "counted_products", ABSENT, 2)

    # N2: the big camera's removal, dated ahead (N4 - 4 days), arrives at once; still counted until then.
    removal_day = stamp(n4 - timedelta(days=4), 12)
    arrive(
        n2,
        REGISTRATIONS,
        [{**by_id["RSEQ000007"], "removed_at": removal_day, "updated_at": stamp(n2, 12)}],
        "removal_dated_ahead",
    )
    expect("removal dated ahead, not reached", n2, "fct_registrations", "RSEQ000007", "status", ABSENT, "counted")
    expect("removal dated ahead, reached", n4, "fct_registrations", "RSEQ000007", "status", "counted", "removed")

    # N2: a job received on N1 (open); its completion is stamped N3 and arrives then.
    job = {
        "job_id": "JSEQ00001",
        "member_id": "MSEQ0001",
        "product_sku": products.anniversary.sku,
        "centre_id": centre,
        "service_type": "repair",
        "serial_number": "AN0000000001",
        "received_at": stamp(n1, 9),
        "completed_at": None,
        "updated_at": stamp(n1, 9),
    }
    arrive(n2, SERVICE_JOBS, [job], "open_job")
    expect("new service job", n2, "fct_service_jobs", "JSEQ00001", "status", ABSENT, "open")
    arrive(n3, SERVICE_JOBS, [{**job, "completed_at": stamp(n3, 15), "updated_at": stamp(n3, 15)}], "job_done")
    expect("service job completed", n3, "fct_service_jobs", "JSEQ00001", "status", "open", "met")

    # N3: the orphan registration's member arrives; the incomplete registration is completed (Silver).
    arrive(n3, MEMBERS, [_member("MSEQ0007", stamp(n3, 8))], "late_member")
    expect("member arrives after its registration", n3, "dim_members", "MSEQ0007", "counted_products", ABSENT, 1)
    completion = {**by_id["RSEQ000008"], "retailer": SEQUENCE_RETAILER, "updated_at": stamp(n3, 10)}
    arrive(n3, REGISTRATIONS, [completion], "completion")
    expect("completion", n3, "fct_registrations", "RSEQ000008", "status", "incomplete", "counted")
    expect("completion reaches a level", n3, "dim_members", "MSEQ0004", "level", "Red", "Silver")
    expect("removal dated ahead drops a level", n4, "dim_members", "MSEQ0004", "level", "Silver", "Red")

    # N4: dates reached in the gap: anniversary, supersession, purchase date.
    age = _age_years(products.anniversary.launch, n3)
    expect("launch anniversary", n4, "dim_products", products.anniversary.sku, "age_years", age, age + 1)
    expect(
        "launch anniversary (points)",
        n4,
        "fct_registrations",
        "RSEQ000001",
        "effective_points",
        _full_or_decayed(products.anniversary, n3),
        _full_or_decayed(products.anniversary, n4),
    )
    expect("supersession", n4, "dim_products", products.superseded.sku, "is_superseded", False, True)
    expect(
        "supersession (points)",
        n4,
        "fct_registrations",
        "RSEQ000002",
        "effective_points",
        products.superseded.base_points,
        _half_up(products.superseded.base_points, float(policy()["superseded_factor_cap"])),
    )
    expect("purchase date reached", n4, "fct_registrations", "RSEQ000006", "status", "invalid", "counted")

    # N4: a file arriving late holds an earlier registration of RSEQ000009's serial (stamped before N1).
    thief = _registration("RSEQ000012", "MSEQ0006", plain[2], "st0000000009", stamp(n1 - timedelta(days=2), 9))
    arrive(n4, REGISTRATIONS, [thief], "late_earlier_registration")
    expect("late file with older stamps", n4, "fct_registrations", "RSEQ000012", "status", ABSENT, "counted")
    expect("serial taken by an earlier registration", n4, "fct_registrations", "RSEQ000009", "status",
           "counted", "duplicate_serial")  # fmt: skip

    # N5: the first holder of a duplicated serial removes it: the second registration counts.
    arrive(
        n5,
        REGISTRATIONS,
        [{**by_id["RSEQ000004"], "removed_at": stamp(n5, 10), "updated_at": stamp(n5, 10)}],
        "removal",
    )
    expect("removal", n5, "fct_registrations", "RSEQ000004", "status", "counted", "removed")
    expect("duplicate serial resolved by a removal", n5, "fct_registrations", "RSEQ000005", "status",
           "duplicate_serial", "counted")  # fmt: skip

    # N6: service end reached in the gap.
    expect("service end", n6, "dim_products", products.service_ended.sku, "is_service_ended", False, True)
    expect(
        "service end (points)",
        n6,
        "fct_registrations",
        "RSEQ000003",
        "effective_points",
        products.service_ended.base_points,
        _half_up(products.service_ended.base_points, float(policy()["floor_share"])),
    )

    # N5 brings a removal dated ahead to N6 - 5 days; reached in the gap before N6.
    arrive(
        n5,
        REGISTRATIONS,
        [{**by_id["RSEQ000011"], "removed_at": stamp(n6 - timedelta(days=5), 9), "updated_at": stamp(n5, 9)}],
        "removal_dated_ahead",
    )
    expect("removal dated ahead, reached", n6, "fct_registrations", "RSEQ000011", "status", "counted", "removed")


def _half_up(base_points: int, factor: float) -> int:
    from decimal import ROUND_HALF_UP, Decimal

    points = (Decimal(base_points) * Decimal(str(factor))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(int(points), 1 if base_points > 0 else 0)


def _full_or_decayed(product: Product, day: date) -> int:
    values = policy()
    age, grace = _age_years(product.launch, day), int(values["grace_years"])
    factor = 1 - float(values["decay_per_year"]) * max(0, age - grace + 1)
    return _half_up(product.base_points, max(factor, float(values["floor_share"])))


def _background_events(writer: _Writer, base: Path, plain: Product) -> None:
    """Changes to the generated members, registrations and jobs, arriving on the later nights."""
    n1, n2, n3, n4, n5, n6, n7 = NIGHTS
    registrations = _latest(base, REGISTRATIONS, "registration_id")
    end_of_first = stamp(n1 + timedelta(days=1), 0)
    members = [row for row in _latest(base, MEMBERS, "member_id") if _utc(row["updated_at"]) < end_of_first]
    member_ids = {row["member_id"] for row in members}
    _, catalogue_rows = _read_products(writer.sequence.catalog)
    skus = {row["product_sku"] for row in catalogue_rows}
    live = [
        row
        for row in registrations
        if row["removed_at"] is None
        and _utc(row["updated_at"]) < end_of_first
        and row["member_id"] in member_ids
        and row["product_sku"] in skus
    ]

    def blank(value: Any) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())

    details = ("serial_number", "purchase_date", "purchase_country", "retailer")
    incomplete = [row for row in live if any(blank(row[column]) for column in details)]
    complete = [row for row in live if row not in incomplete]
    if len(incomplete) < 4 or len(complete) < 6:
        raise ValueError("the generated inbox is too small for the night sequence: give it more members")

    # Stamped between N1 and N2, arriving N2.
    arrive, expect = writer.arrive, writer.expect
    arrive(n2, REGISTRATIONS, [_completed(incomplete[0], stamp(n2, 15))], "completions")
    expect("completion (generated)", n2, "fct_registrations", incomplete[0]["registration_id"], "status",
           "incomplete", DECIDED)  # fmt: skip
    # Stamped for N3, arriving a night early (N2): ignored on N2, taken in on N3.
    arrive(n2, REGISTRATIONS, [_completed(incomplete[1], stamp(n3, 7))], "stamped_ahead")
    expect("record stamped after its file arrived", n3, "fct_registrations", incomplete[1]["registration_id"],
           "status", "incomplete", DECIDED)  # fmt: skip
    # Stamped between N1 and N2, arriving a night late (N3).
    late_removal = _registration_record(complete[0], removed_at=stamp(n2, 13), updated_at=stamp(n2, 13))
    arrive(n3, REGISTRATIONS, [late_removal], "late_removal")
    expect("record arriving a night late", n3, "fct_registrations", complete[0]["registration_id"], "status",
           NOT_REMOVED, "removed")  # fmt: skip
    # Removals and completions over the later nights, one or two a night.
    for night, row in ((n4, complete[1]), (n5, complete[2]), (n6, complete[3]), (n7, complete[4])):
        removal = _registration_record(row, removed_at=stamp(night, 9), updated_at=stamp(night, 9))
        arrive(night, REGISTRATIONS, [removal], "removal")
        expect("removal (generated)", night, "fct_registrations", row["registration_id"], "status",
               NOT_REMOVED, "removed")  # fmt: skip
    for night, row in ((n6, incomplete[2]), (n7, incomplete[3])):
        arrive(night, REGISTRATIONS, [_completed(row, stamp(night - timedelta(days=1), 18))], "completion")
        expect("completion (generated)", night, "fct_registrations", row["registration_id"], "status",
               "incomplete", DECIDED)  # fmt: skip

    # Members: consent changes stamped between nights.
    for night, row in ((n4, members[0]), (n7, members[1])):
        changed = {**row, "joined_at": _utc(row["joined_at"]), "marketing_opt_in": not row["marketing_opt_in"],
                   "updated_at": stamp(night, 6)}  # fmt: skip
        arrive(night, MEMBERS, [changed], "consent")
        expect("member record changed", night, "dim_members", row["member_id"], "marketing_opt_in",
               row["marketing_opt_in"], not row["marketing_opt_in"])  # fmt: skip

    # Service jobs: open jobs of the generated inbox completed on later nights.
    jobs = _latest(base, SERVICE_JOBS, "job_id")
    open_jobs = [row for row in jobs if row["completed_at"] is None and _utc(row["updated_at"]) < end_of_first]
    for night, row in zip((n3, n5, n6), open_jobs, strict=False):
        done = {**row, "received_at": _utc(row["received_at"]), "completed_at": stamp(night, 11),
                "updated_at": stamp(night, 11)}  # fmt: skip
        arrive(night, SERVICE_JOBS, [done], "job_done")
        expect("service job completed (generated)", night, "fct_service_jobs", row["job_id"], "status",
               ("open", "open_breached"), ("met", "breached"))  # fmt: skip
    # A new member on a later night, with a registration.
    arrive(n6, MEMBERS, [_member("MSEQ0008", stamp(n6, 7))], "new_member")
    arrive(n6, REGISTRATIONS, [_registration("RSEQ000013", "MSEQ0008", plain, "NM0000000013", stamp(n6, 8))],
           "new_registration")  # fmt: skip
    expect("new member (later night)", n6, "dim_members", "MSEQ0008", "counted_products", ABSENT, 1)


def _link_nightly_inboxes(sequence: NightSequence) -> None:
    """nights/<date>/<source>/: links to every file that arrived on or before that night."""
    arrived: list[Path] = []
    for night in sequence.nights:
        arrived.extend(sequence.arrivals.get(night, []))
        inbox = sequence.inbox(night)
        for source in INBOX_SOURCES:
            (inbox / source.name).mkdir(parents=True, exist_ok=True)
        for path in arrived:
            (inbox / path.parent.name / path.name).symlink_to(path.resolve())
