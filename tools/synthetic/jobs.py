"""Synthetic service jobs for one chunk: mostly members' registered products, some non-members, some open."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.core.sources import SERVICE_JOBS
from tools.synthetic.catalog import Catalogue
from tools.synthetic.common import (
    MEMBER_COUNTRIES,
    SECONDS_PER_DAY,
    TimeFrame,
    labels,
    prefixed_ids,
    rare,
    timestamps,
    weights,
)
from tools.synthetic.members import MemberChunk, member_ids
from tools.synthetic.registrations import RegistrationChunk, true_serials
from tools.synthetic.versions import VersionLog

JOB_ID_WIDTH = 9
JOBS_PER_MEMBER = 0.2
HISTORY_DAYS = 548  # eighteen months of workshop history
NON_MEMBER_SHARE = 0.15
UNKNOWN_MEMBER_SHARE = 0.004  # a member_id the members file does not (yet) hold
UNREGISTERED_SHARE = 0.08  # a member's job for a product or serial not in their kitbag
NO_SERIAL_SHARE = 0.03
SERVICE_TYPES: tuple[tuple[str, float], ...] = (("repair", 0.65), ("maintenance", 0.28), ("upgrade", 0.07))
STUCK_SHARE = 0.02  # waiting for parts: still open whatever their age
FINAL_ONLY_SHARE = 0.4
HOME_CENTRE_SHARE = 0.7  # completed jobs whose open version never reached the inbox


def turnaround_working_days(rng: np.random.Generator, count: int) -> np.ndarray:
    """Mostly a few working days; a tail of long jobs (parts, escalations)."""
    quick = 1 + rng.geometric(0.38, count)
    long = rng.integers(8, 45, count)
    return np.where(rng.random(count) < 0.12, long, quick)


def make_jobs(
    rng: np.random.Generator,
    members: MemberChunk,
    registrations: RegistrationChunk,
    catalogue: Catalogue,
    frame: TimeFrame,
    first_number: int,
    total_members: int,
) -> VersionLog | None:
    count = int(rng.poisson(JOBS_PER_MEMBER * members.size))
    if count == 0:
        return None
    non_member = (rng.random(count) < NON_MEMBER_SHARE) | (registrations.size == 0)
    # A member's job is for one of their registrations, bodies and cinema cameras more often than accessories.
    registration = np.zeros(count, dtype=np.int64)
    if registrations.size:
        by_category = catalogue.service_weight[registrations.product]
        registration = rng.choice(registrations.size, size=count, p=by_category / by_category.sum())
    launched = catalogue.launch_day < frame.as_of_day
    any_product = rng.choice(catalogue.size, size=count, p=weights(catalogue.service_weight * launched))
    stranger = non_member | (rng.random(count) < UNREGISTERED_SHARE)
    product = any_product.copy()
    serial = true_serials(rng, catalogue.serial_style[any_product])
    member_number = np.full(count, total_members + 1_000_001, dtype=np.int64)  # unknown member
    if registrations.size:
        own = ~stranger
        product[own] = registrations.product[registration[own]]
        serial = pc.if_else(pa.array(own), registrations.serial.take(pa.array(registration)), serial)
        known = ~rare(rng, count, UNKNOWN_MEMBER_SHARE)
        member_number[known] = members.numbers[registrations.member[registration[known]]]
    serial = pc.if_else(pa.array(rng.random(count) < NO_SERIAL_SHARE), pa.scalar(None, pa.string()), serial)
    member_id = member_ids(member_number).take(pa.array(np.arange(count), mask=non_member))

    # Received on working days over the last eighteen months; a product is serviced after it was registered.
    end = frame.end_seconds
    received_day = frame.as_of_day - rng.integers(0, HISTORY_DAYS, count)
    received_day = np.busday_offset(received_day.astype("datetime64[D]"), 0, roll="backward").astype(np.int64)
    received_at = received_day * SECONDS_PER_DAY + rng.integers(8 * 3600, 18 * 3600, count)
    if registrations.size:
        registered = registrations.registered_at[registration]
        received_at = np.where(stranger, received_at, np.maximum(received_at, registered + 3_600))
    received_at = np.minimum(received_at, end - 60)

    working_days = turnaround_working_days(rng, count)
    start = received_at // SECONDS_PER_DAY
    completed_day = np.busday_offset(start.astype("datetime64[D]"), working_days, roll="forward").astype(np.int64)
    completed_at = completed_day * SECONDS_PER_DAY + rng.integers(9 * 3600, 19 * 3600, count)
    completed_at = np.maximum(completed_at, received_at + 600)
    done = (completed_at <= end) & ~(rng.random(count) < STUCK_SHARE)

    service_type = rng.choice(len(SERVICE_TYPES), size=count, p=weights([s[1] for s in SERVICE_TYPES]))
    canon = catalogue.centre_is_canon
    centre_weights = np.where(canon, 0.6 / max(canon.sum(), 1), 0.4 / max((~canon).sum(), 1))
    centre = rng.choice(canon.size, size=count, p=centre_weights / centre_weights.sum())
    # Members mostly send their gear to a workshop in their own country, when there is one.
    home = np.full(count, -1)
    if registrations.size:
        home = np.where(non_member, -1, members.country[registrations.member[registration]])
    local = rng.random(count) < HOME_CENTRE_SHARE
    for country_index, (code, _, _) in enumerate(MEMBER_COUNTRIES):
        nearby = np.flatnonzero(catalogue.centre_country == code)
        rows = np.flatnonzero(local & (home == country_index))
        if nearby.size and rows.size:
            centre[rows] = nearby[rng.integers(0, nearby.size, rows.size)]

    final_only = done & (rng.random(count) < FINAL_ONLY_SHARE)
    first_stamp = np.where(final_only, completed_at, received_at)
    columns = {
        "job_id": prefixed_ids("J", np.arange(first_number, first_number + count), JOB_ID_WIDTH),
        "member_id": member_id,
        "product_sku": catalogue.skus.take(pa.array(product)),
        "centre_id": catalogue.centre_ids.take(pa.array(centre)),
        "service_type": labels([s[0] for s in SERVICE_TYPES], service_type),
        "serial_number": serial,
        "received_at": timestamps(received_at),
        "completed_at": timestamps(completed_at, null=~final_only),
        "updated_at": timestamps(first_stamp),
    }
    log = VersionLog(pa.table({name: columns[name] for name in SERVICE_JOBS.column_names}), first_stamp, frame)
    finished = np.flatnonzero(done & ~final_only)
    log.change(finished, completed_at[finished], {"completed_at": timestamps(completed_at[finished])})
    return log
