"""Synthetic accounts of the old CPS programme (the optional legacy_accounts/ source).

Members who carry an old number (members.legacy_cps_number) have migrated; more old accounts have
not migrated yet. Some old accounts had the separate video status (Video); a few numbers are
claimed by two members (a later change record of a member claims another member's number).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.core.sources import LEGACY_ACCOUNTS
from tools.synthetic.common import SECONDS_PER_DAY, TimeFrame, change_stamps, epoch_seconds, padded_numbers, timestamps
from tools.synthetic.members import LEGACY_CPS_START, MemberChunk
from tools.synthetic.versions import VersionLog

OLD_LEVELS = ("Silver", "Gold", "Platinum", "Video")
OLD_LEVEL_SHARES = (0.5, 0.25, 0.1, 0.15)
NOT_MIGRATED_SHARE = 0.4  # old accounts without a member, per migrated one
CLAIMED_TWICE_SHARE = 0.03  # members with an old number whose number another member claims too
OPT_IN_SHARE = 0.55
CONSENT_CHANGE_SHARE = 0.2  # owners who changed their marketing consent in the old programme since
# Unmigrated accounts get numbers of their own range, so that they are not claimed by chance.
UNMIGRATED_NUMBERS_FROM = 10_000_000


def claim_twice(rng: np.random.Generator, members: MemberChunk, frame: TimeFrame) -> None:
    """A few members later claim the old number another member of the chunk already carries."""
    table = members.log.table().take(pa.array(members.log.latest_position))
    numbers = table.column("legacy_cps_number").to_numpy(zero_copy_only=False)
    carriers = np.flatnonzero(pc.is_valid(table.column("legacy_cps_number")).to_numpy(zero_copy_only=False))
    without = np.flatnonzero(~pc.is_valid(table.column("legacy_cps_number")).to_numpy(zero_copy_only=False))
    # at least one double claim in any chunk with two carriers, so that small inboxes show the case
    wanted = max(1, int(round(carriers.size * CLAIMED_TWICE_SHARE))) if carriers.size >= 2 else 0
    count = min(without.size, wanted)
    if count == 0:
        return
    claimants = rng.choice(without, size=count, replace=False)
    claimed = rng.choice(carriers, size=count, replace=False)
    stamps = change_stamps(rng, members.log.latest_stamp[claimants], frame, typical_days=300)
    keep = stamps > 0
    members.log.change(
        claimants[keep], stamps[keep], {"legacy_cps_number": pa.array(numbers[claimed[keep]], type=pa.string())}
    )


def make_legacy_accounts(
    rng: np.random.Generator, members: MemberChunk, frame: TimeFrame, chunk: int
) -> VersionLog | None:
    """One account per old number the chunk's members carry, and unmigrated accounts besides."""
    table = members.log.table().take(pa.array(members.log.latest_position))
    claimed = pc.unique(pc.drop_null(table.column("legacy_cps_number")))
    migrated = len(claimed)
    unmigrated = int(round(max(migrated, 1) * NOT_MIGRATED_SHARE))
    first = UNMIGRATED_NUMBERS_FROM + chunk * 1_000_000
    fresh = pc.binary_join_element_wise(
        "CPS", padded_numbers(np.arange(first, first + unmigrated, dtype=np.int64), 8), ""
    )
    numbers = pa.concat_arrays([claimed.cast(pa.string()), fresh])
    count = len(numbers)
    emails = pc.binary_join_element_wise(
        "cps.owner.", pc.cast(pa.array(np.arange(count) + chunk * 10_000_000), pa.string()), "@example.net", ""
    )
    start = epoch_seconds(LEGACY_CPS_START)
    member_since_days = (start - rng.integers(0, 15 * 365, count) * SECONDS_PER_DAY) // SECONDS_PER_DAY
    # the old programme's export reached the base delivery; consent changes arrive later
    stamps = frame.end_seconds - rng.integers(20 * SECONDS_PER_DAY, 400 * SECONDS_PER_DAY, count)
    opt_in = rng.random(count) < OPT_IN_SHARE
    columns = {
        "legacy_cps_number": numbers,
        "email": emails,
        "old_level": pa.array(np.array(OLD_LEVELS)[rng.choice(len(OLD_LEVELS), count, p=OLD_LEVEL_SHARES)]),
        "member_since": pa.array(member_since_days.astype("datetime64[D]"), type=pa.date32()),
        "marketing_opt_in": pa.array(opt_in),
        "updated_at": timestamps(stamps),
    }
    log = VersionLog(pa.table({name: columns[name] for name in LEGACY_ACCOUNTS.column_names}), stamps, frame)
    changed = np.flatnonzero(rng.random(count) < CONSENT_CHANGE_SHARE)
    change_at = change_stamps(rng, stamps[changed], frame, typical_days=60)
    keep = change_at > 0
    log.change(changed[keep], change_at[keep], {"marketing_opt_in": pa.array(~opt_in[changed[keep]])})
    return log
