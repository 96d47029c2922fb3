"""Synthetic members for one chunk: residence, language, consent, joining date, legacy accounts, opt-in changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.core.sources import MEMBERS
from tools.synthetic.common import (
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    MEMBER_COUNTRIES,
    OTHER_LANGUAGES,
    SECONDS_PER_DAY,
    TimeFrame,
    change_stamps,
    epoch_seconds,
    labels,
    padded_numbers,
    prefixed_ids,
    timestamps,
    weights,
)
from tools.synthetic.versions import VersionLog

MEMBER_ID_WIDTH = 8
PROFESSIONAL_SHARE = 0.12  # members with a large kitbag (working photographers and videographers)
OPT_IN_SHARE = 0.62
LEGACY_CPS_START = date(2018, 1, 1)  # points-based CPS started then; older members may carry an old number


@dataclass(frozen=True)
class MemberChunk:
    log: VersionLog
    numbers: np.ndarray  # 1-based member numbers
    country: np.ndarray  # index into MEMBER_COUNTRIES
    joined_at: np.ndarray  # seconds since epoch
    professional: np.ndarray  # bool

    @property
    def size(self) -> int:
        return self.numbers.size


def member_ids(numbers: np.ndarray) -> pa.Array:
    return prefixed_ids("M", numbers, MEMBER_ID_WIDTH)


def make_members(rng: np.random.Generator, first_number: int, count: int, frame: TimeFrame) -> MemberChunk:
    numbers = np.arange(first_number, first_number + count, dtype=np.int64)
    country = rng.choice(len(MEMBER_COUNTRIES), size=count, p=weights([c[1] for c in MEMBER_COUNTRIES]))
    country_codes = [c[0] for c in MEMBER_COUNTRIES]
    language_codes = [c[2] for c in MEMBER_COUNTRIES] + list(OTHER_LANGUAGES)
    language = country.copy()
    other_language = rng.random(count) < 0.08
    language[other_language] = len(MEMBER_COUNTRIES) + rng.integers(0, len(OTHER_LANGUAGES), other_language.sum())
    no_language = rng.random(count) < 0.05

    # Joining: spread over twelve years, more of them recent, plus a steady trickle in the last month.
    end = frame.end_seconds
    age_days = 12 * 365 * rng.beta(1.2, 2.2, count)
    recent = rng.random(count) < 0.015
    age_days[recent] = rng.random(recent.sum()) * 30
    joined_at = end - (age_days * SECONDS_PER_DAY).astype(np.int64) - rng.integers(0, SECONDS_PER_DAY, count)
    joined_at = np.minimum(joined_at, end - 3_600)

    old_member = joined_at < epoch_seconds(LEGACY_CPS_START)
    has_legacy = np.where(old_member, rng.random(count) < 0.6, rng.random(count) < 0.02)
    legacy = pc.binary_join_element_wise("CPS", padded_numbers(rng.integers(0, 10_000_000, count), 7), "")

    first_name = rng.integers(0, len(FIRST_NAMES), count)
    last_name = rng.integers(0, len(LAST_NAMES), count)
    email = pc.binary_join_element_wise(
        labels(FIRST_NAMES, first_name),
        pc.binary_join_element_wise(".", labels(LAST_NAMES, last_name), ""),
        pc.cast(pa.array(numbers), pa.string()),
        "@",
        labels(EMAIL_DOMAINS, rng.integers(0, len(EMAIL_DOMAINS), count)),
        "",
    )
    opt_in = rng.random(count) < OPT_IN_SHARE
    columns = {
        "member_id": member_ids(numbers),
        "email": email,
        "country": labels(country_codes, country),
        "language": labels(language_codes, language, null=no_language),
        "marketing_opt_in": pa.array(opt_in),
        "joined_at": timestamps(joined_at),
        "legacy_cps_number": pc.if_else(pa.array(has_legacy), legacy, pa.scalar(None, pa.string())),
        "updated_at": timestamps(joined_at),
    }
    log = VersionLog(pa.table({name: columns[name] for name in MEMBERS.column_names}), joined_at, frame)

    # Consent changes: some members opt in or out later, a few change their mind again.
    toggled = np.flatnonzero(rng.random(count) < 0.09)
    stamps = change_stamps(rng, joined_at[toggled], frame, typical_days=200)
    toggled, stamps = toggled[stamps > 0], stamps[stamps > 0]
    log.change(toggled, stamps, {"marketing_opt_in": pa.array(~opt_in[toggled])})
    back = rng.random(toggled.size) < 0.25
    again, after = toggled[back], stamps[back]
    stamps = change_stamps(rng, after, frame, typical_days=120)
    keep = stamps > 0
    log.change(again[keep], stamps[keep], {"marketing_opt_in": pa.array(opt_in[again[keep]])})

    return MemberChunk(
        log=log,
        numbers=numbers,
        country=country,
        joined_at=joined_at,
        professional=rng.random(count) < PROFESSIONAL_SHARE,
    )
