"""Synthetic registrations (kitbags) for one chunk of members, with every kind of flaw the rules handle.

Shares below are per registration unless said otherwise; each flaw has its own rate so that
the registration statuses (dbt doc registration_status) all occur, alone and combined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.core.sources import REGISTRATIONS
from tools.synthetic.catalog import Catalogue
from tools.synthetic.common import (
    ABROAD_COUNTRIES,
    BAD_COUNTRIES,
    MEMBER_COUNTRIES,
    RETAILERS,
    SECONDS_PER_DAY,
    SERIAL_LETTER_PREFIXES,
    TimeFrame,
    change_stamps,
    dates,
    labels,
    padded_numbers,
    prefixed_ids,
    rare,
    replace_where,
    timestamps,
    weights,
)
from tools.synthetic.members import MemberChunk, member_ids
from tools.synthetic.versions import VersionLog

REGISTRATION_ID_WIDTH = 10
NO_PRODUCT_SHARE = 0.05  # members who registered nothing yet
SECOND_HAND_SHARE = 0.06
ABROAD_SHARE = 0.09
MISSING_SHARES = {"serial_number": 0.04, "purchase_date": 0.025, "purchase_country": 0.02, "retailer": 0.05}
BLANK_AS_SPACES_SHARE = 0.25  # of the missing text values, written as spaces rather than empty
BAD_COUNTRY_SHARE = 0.006
BAD_SERIAL_SHARE = 0.005
FUTURE_PURCHASE_SHARE = 0.003
BEFORE_LAUNCH_SHARE = 0.004
LAUNCH_EDGE_SHARE = 0.001  # exactly 30 (allowed) or 31 (not allowed) days before launch
DUPLICATE_SERIAL_SHARE = 0.006  # registers a product and serial another member registered too
DOUBLE_REGISTRATION_SHARE = 0.004  # of members with two or more products: the same product registered twice
REMOVED_SHARE = 0.025
ORPHAN_SHARE = 0.0003  # member_id not (yet) among the members
UNKNOWN_PRODUCT_SHARE = 0.0008
COMPLETED_LATER_SHARE = 0.35  # incomplete registrations completed later by the member
FIXED_LATER_SHARE = 0.25  # invalid registrations corrected later
UNKNOWN_SKUS: tuple[str, ...] = ("EOS-R99X", "EF 50mm 1.8 (old)", "CANON-GENERIC", "PowerShot-ZZ")
VALID_CASE_OR_SPACES_SHARE = 0.02  # valid values with odd case or surrounding spaces ("gb", " DE ")


@dataclass(frozen=True)
class RegistrationChunk:
    log: VersionLog
    member: np.ndarray  # index of the member in its chunk
    product: np.ndarray  # index into the catalogue
    serial: pa.Array  # the true serial (as on the product), for service jobs
    registered_at: np.ndarray

    @property
    def size(self) -> int:
        return self.member.size


def kitbag_sizes(rng: np.random.Generator, members: MemberChunk) -> np.ndarray:
    """Most members hold a few products; professionals hold dozens, a few hold hundreds."""
    count = members.size
    enthusiast = 1 + rng.poisson(5.2, count)
    enthusiast[rng.random(count) < NO_PRODUCT_SHARE] = 0
    professional = np.clip(np.rint(rng.lognormal(2.75, 0.85, count)), 6, 500).astype(np.int64)
    return np.where(members.professional, professional, enthusiast)


def true_serials(rng: np.random.Generator, styles: np.ndarray) -> pa.Array:
    numbers = rng.integers(0, 10**12, styles.size)
    lettered = pc.binary_join_element_wise(
        labels(SERIAL_LETTER_PREFIXES, rng.integers(0, len(SERIAL_LETTER_PREFIXES), styles.size)),
        padded_numbers(numbers % 10**7, 7),
        "",
    )
    return pc.choose(
        pa.array(styles.astype(np.int8)), padded_numbers(numbers, 12), padded_numbers(numbers % 10**10, 10), lettered
    )


def purchase_days(rng: np.random.Generator, launch: np.ndarray, frame: TimeFrame, second_hand: np.ndarray):
    """New products are mostly bought within a couple of years of launch; used ones any time later."""
    span = np.maximum(frame.as_of_day - launch, 0).astype(np.float64)
    offset = rng.exponential(450.0, launch.size)
    offset = np.where(offset <= span, offset, rng.random(launch.size) * span)
    used_from = np.minimum(365.0, span)
    used = used_from + rng.random(launch.size) * (span - used_from)
    return launch + np.floor(np.where(second_hand, used, offset)).astype(np.int64)


def registration_times(rng, purchase_day: np.ndarray, joined_at: np.ndarray, frame: TimeFrame) -> np.ndarray:
    """Registered soon after purchase, or when joining for gear bought before; never after the as-of day."""
    bought = purchase_day * SECONDS_PER_DAY + rng.integers(9 * 3600, 20 * 3600, purchase_day.size)
    start = np.maximum(bought, joined_at + 60)
    quick = rng.random(start.size) < 0.6
    delay = np.where(quick, rng.exponential(3.0, start.size), rng.exponential(45.0, start.size))
    registered = start + (delay * SECONDS_PER_DAY).astype(np.int64)
    late = registered > frame.end_seconds
    registered[late] = np.maximum(start[late], frame.end_seconds - rng.integers(0, 4 * 3600, late.sum()))
    return np.minimum(registered, frame.end_seconds)


def spaced(rng: np.random.Generator, count: int) -> pa.Array:
    return labels((" ", "  ", "   "), rng.integers(0, 3, count))


def make_registrations(
    rng: np.random.Generator,
    members: MemberChunk,
    catalogue: Catalogue,
    frame: TimeFrame,
    first_number: int,
    total_members: int,
) -> RegistrationChunk:
    sizes = kitbag_sizes(rng, members)
    member = np.repeat(np.arange(members.size), sizes)
    n = member.size
    professional = members.professional[member]

    product = np.empty(n, dtype=np.int64)
    for is_pro in (False, True):
        rows = professional == is_pro
        weights_ = catalogue.product_weights(frame.as_of_day, professional=is_pro)
        product[rows] = rng.choice(catalogue.size, size=rows.sum(), p=weights_)
    second_hand = rng.random(n) < SECOND_HAND_SHARE

    # Another member's product and serial (a used camera whose seller kept it registered, or a typo).
    duplicate_source = rng.integers(0, n, n)
    duplicate = rare(rng, n, DUPLICATE_SERIAL_SHARE, eligible=member[duplicate_source] != member)
    product[duplicate] = product[duplicate_source[duplicate]]
    second_hand[duplicate] |= rng.random(duplicate.sum()) < 0.6
    serial_seed_rng = np.random.default_rng(rng.integers(0, 2**63))
    serial = true_serials(serial_seed_rng, catalogue.serial_style[product])
    serial = serial.take(pa.array(np.where(duplicate, duplicate_source, np.arange(n))))

    purchase = purchase_days(rng, catalogue.launch_day[product], frame, second_hand)
    registered_at = registration_times(rng, purchase, members.joined_at[member], frame)

    # The same member registering the same product twice (the second registration later).
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    double_first = starts[rare(rng, members.size, DOUBLE_REGISTRATION_SHARE, eligible=sizes >= 2)]
    double = double_first + 1
    product[double] = product[double_first]
    purchase[double] = purchase[double_first]
    second_hand[double] = second_hand[double_first]
    registered_at[double] = np.minimum(
        registered_at[double_first] + rng.integers(3_600, 60 * SECONDS_PER_DAY, double.size), frame.end_seconds
    )
    is_double = np.zeros(n, dtype=bool)
    is_double[double] = True
    serial = serial.take(pa.array(np.where(is_double, np.roll(np.arange(n), 1), np.arange(n))))
    clean = ~(duplicate | is_double)  # flaws below go elsewhere, so duplicates stay duplicates

    home = members.country[member]
    country_codes = [c[0] for c in MEMBER_COUNTRIES] + list(ABROAD_COUNTRIES)
    purchase_country = home.copy()
    abroad = rng.random(n) < ABROAD_SHARE
    purchase_country[abroad] = len(MEMBER_COUNTRIES) + rng.integers(0, len(ABROAD_COUNTRIES), abroad.sum())
    country_text = labels(country_codes, purchase_country)
    odd_case = rng.random(n) < VALID_CASE_OR_SPACES_SHARE
    country_text = replace_where(country_text, odd_case, pc.utf8_lower(country_text))
    retailer = labels([r[0] for r in RETAILERS], rng.choice(len(RETAILERS), n, p=weights([r[1] for r in RETAILERS])))
    padded_serial = replace_where(
        serial, rng.random(n) < VALID_CASE_OR_SPACES_SHARE, pc.binary_join_element_wise(" ", serial, " ", "")
    )
    # Duplicates are often typed differently: lower case or with spaces around.
    retyped = duplicate & (rng.random(n) < 0.4)
    padded_serial = replace_where(padded_serial, retyped, pc.binary_join_element_wise(pc.utf8_lower(serial), " ", ""))
    true_values = {
        "serial_number": padded_serial,
        "purchase_date": dates(purchase),
        "purchase_country": country_text,
        "retailer": retailer,
    }

    # First versions: some values missing (blank or spaces) and some invalid.
    first_values = dict(true_values)
    incomplete = np.zeros(n, dtype=bool)
    for column, share in MISSING_SHARES.items():
        missing = clean & (rng.random(n) < share)
        incomplete |= missing
        blank = pa.nulls(n, first_values[column].type)
        if column != "purchase_date":  # spaces in a text column; a date column is simply empty
            spaces = missing & (rng.random(n) < BLANK_AS_SPACES_SHARE)
            blank = replace_where(blank, spaces, spaced(rng, n))
        first_values[column] = replace_where(first_values[column], missing, blank)
    invalid = np.zeros(n, dtype=bool)
    bad_country = rare(rng, n, BAD_COUNTRY_SHARE, eligible=clean)
    first_values["purchase_country"] = replace_where(
        first_values["purchase_country"], bad_country, labels(BAD_COUNTRIES, rng.integers(0, len(BAD_COUNTRIES), n))
    )
    bad_serial = rare(rng, n, BAD_SERIAL_SHARE, eligible=clean)
    bad_serial_text = pc.choose(
        pa.array(rng.integers(0, 4, n).astype(np.int8)),
        pc.utf8_slice_codeunits(serial, 0, 3),  # too short
        pc.binary_join_element_wise("SN-", serial, ""),  # not only letters and digits
        pc.binary_join_element_wise(serial, serial, ""),  # too long
        pc.binary_join_element_wise(pc.utf8_slice_codeunits(serial, 0, 4), pc.utf8_slice_codeunits(serial, 4), " "),
    )
    first_values["serial_number"] = replace_where(first_values["serial_number"], bad_serial, bad_serial_text)
    launch = catalogue.launch_day[product]
    future = rare(rng, n, FUTURE_PURCHASE_SHARE, eligible=clean)
    before_launch = rare(rng, n, BEFORE_LAUNCH_SHARE, eligible=clean & ~future)
    edge = rare(rng, n, LAUNCH_EDGE_SHARE, eligible=clean & ~future & ~before_launch)
    wrong_purchase = purchase.copy()
    wrong_purchase[future] = frame.as_of_day + rng.integers(1, 400, future.sum())
    wrong_purchase[before_launch] = launch[before_launch] - rng.integers(31, 700, before_launch.sum())
    wrong_purchase[edge] = launch[edge] - 30 - (rng.random(edge.sum()) < 0.5)
    changed_date = future | before_launch | edge
    first_values["purchase_date"] = replace_where(first_values["purchase_date"], changed_date, dates(wrong_purchase))
    invalid = bad_country | bad_serial | future | before_launch

    orphan = rare(rng, n, ORPHAN_SHARE)
    member_id = replace_where(
        member_ids(members.numbers[member]),
        orphan,
        member_ids(total_members + 1 + rng.integers(0, 1_000_000, n)),
    )
    unknown = rare(rng, n, UNKNOWN_PRODUCT_SHARE, eligible=clean)
    sku = replace_where(
        catalogue.skus.take(pa.array(product)), unknown, labels(UNKNOWN_SKUS, rng.integers(0, len(UNKNOWN_SKUS), n))
    )
    second_hand_text = pa.array(second_hand, mask=~second_hand & (rng.random(n) < 0.1))  # blank means false
    columns = {
        "registration_id": prefixed_ids("R", np.arange(first_number, first_number + n), REGISTRATION_ID_WIDTH),
        "member_id": member_id,
        "product_sku": sku,
        **first_values,
        "second_hand": second_hand_text,
        "registered_at": timestamps(registered_at),
        "removed_at": pa.nulls(n, pa.timestamp("s")),
        "updated_at": timestamps(registered_at),
    }
    log = VersionLog(pa.table({name: columns[name] for name in REGISTRATIONS.column_names}), registered_at, frame)

    # Later versions: the member completes or corrects the registration, or removes the product (sold it).
    fixed = np.flatnonzero(
        (incomplete & (rng.random(n) < COMPLETED_LATER_SHARE)) | (invalid & (rng.random(n) < FIXED_LATER_SHARE))
    )
    stamps = change_stamps(rng, registered_at[fixed], frame, typical_days=40)
    fixed, stamps = fixed[stamps > 0], stamps[stamps > 0]
    log.change(fixed, stamps, {name: values.take(pa.array(fixed)) for name, values in true_values.items()})

    seller = np.zeros(n, dtype=bool)
    seller[duplicate_source[duplicate & second_hand]] = True
    removed = np.flatnonzero((rng.random(n) < REMOVED_SHARE) | (seller & (rng.random(n) < 0.4)))
    stamps = change_stamps(rng, log.latest_stamp[removed], frame, typical_days=400)
    removed, stamps = removed[stamps > 0], stamps[stamps > 0]
    log.change(removed, stamps, {"removed_at": timestamps(stamps)})

    return RegistrationChunk(log=log, member=member, product=product, serial=serial, registered_at=registered_at)
