"""Shared pieces of the synthetic inbox generator: the time frame, vectorised string building, vocabularies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SECONDS_PER_DAY = 86_400

# Member residence countries (EMEA) with their weight and usual language.
MEMBER_COUNTRIES: tuple[tuple[str, float, str], ...] = (
    ("DE", 17.0, "de"),
    ("GB", 15.0, "en"),
    ("FR", 12.0, "fr"),
    ("IT", 9.0, "it"),
    ("ES", 7.0, "es"),
    ("NL", 6.0, "nl"),
    ("PL", 4.0, "pl"),
    ("SE", 3.0, "sv"),
    ("BE", 3.0, "nl"),
    ("CH", 3.0, "de"),
    ("AT", 2.5, "de"),
    ("NO", 2.0, "no"),
    ("DK", 2.0, "da"),
    ("FI", 1.5, "fi"),
    ("IE", 1.5, "en"),
    ("PT", 1.5, "pt"),
    ("CZ", 1.5, "cs"),
    ("AE", 2.0, "en"),
    ("ZA", 2.0, "en"),
    ("SA", 1.0, "ar"),
    ("TR", 1.5, "tr"),
    ("GR", 1.0, "el"),
    ("HU", 1.0, "hu"),
    ("IL", 0.8, "he"),
    ("KE", 0.4, "en"),
    ("NG", 0.4, "en"),
    ("EG", 0.5, "ar"),
)
# Where products bought abroad come from (all officially assigned codes).
ABROAD_COUNTRIES: tuple[str, ...] = ("US", "JP", "HK", "AE", "GB", "DE", "FR", "NL", "SG", "CH", "IT", "ES")
# Codes people type that are not ISO 3166-1 alpha-2 (registration status reason bad_country).
BAD_COUNTRIES: tuple[str, ...] = ("UK", "EU", "EN", "GER", "XX", "Deutschland")
OTHER_LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "es", "it", "nl", "ru", "ja")

FIRST_NAMES: tuple[str, ...] = (
    "anna", "ben", "chloe", "david", "elena", "felix", "giulia", "hugo", "ines", "jan", "katarzyna", "lars",
    "maria", "noah", "olga", "pieter", "quentin", "rosa", "sofia", "thomas", "ursula", "victor", "wiebke",
    "xavier", "yasmin", "zoe", "ahmed", "fatima", "lucas", "emma", "mateo", "lea", "oliver", "amelia", "jonas",
    "mia", "luca", "nora", "samuel", "ella",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "mueller", "smith", "martin", "rossi", "garcia", "devries", "kowalski", "andersson", "peeters", "meier",
    "gruber", "hansen", "nielsen", "virtanen", "murphy", "silva", "novak", "haddad", "vanderberg", "jones",
    "bernard", "ferrari", "lopez", "jansen", "nowak", "johansson", "schmidt", "brown", "dubois", "romano",
    "fernandez", "bakker", "wojcik", "larsen", "weber", "taylor", "moreau", "ricci", "santos", "kaya",
)  # fmt: skip
EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "outlook.com", "yahoo.com", "web.de", "gmx.de", "orange.fr", "libero.it", "hotmail.com",
    "icloud.com", "proton.me", "studio-photo.eu", "mediahouse.example",
)  # fmt: skip
RETAILERS: tuple[tuple[str, float], ...] = (
    ("Canon Online Store", 12.0),
    ("Amazon", 14.0),
    ("MediaMarkt", 10.0),
    ("Calumet", 6.0),
    ("Wex Photo Video", 5.0),
    ("Foto Koch", 4.0),
    ("Fnac", 6.0),
    ("Park Cameras", 3.0),
    ("Jessops", 3.0),
    ("Kamera Express", 4.0),
    ("Cyberport", 3.0),
    ("Scandinavian Photo", 3.0),
    ("El Corte Ingles", 3.0),
    ("Unieuro", 2.0),
    ("Foto Erhardt", 2.0),
    ("CVP", 2.0),
    ("Sharaf DG", 2.0),
    ("Cameraland", 2.0),
    ("eBay", 3.0),
    ("B&H Photo", 1.5),
    ("Yodobashi Camera", 1.0),
    ("Local camera shop", 5.0),
)
SERIAL_LETTER_PREFIXES: tuple[str, ...] = ("AB", "KL", "MX", "PR", "CX", "TG", "HW", "ZR")


@dataclass(frozen=True)
class TimeFrame:
    """The run date and the three arrival days of the inbox (a base export, then two weekly deltas)."""

    as_of: date

    @property
    def end_seconds(self) -> int:
        """Last second of the as-of day: no stamp may be later."""
        return epoch_seconds(self.as_of + timedelta(days=1)) - 1

    @property
    def as_of_day(self) -> int:
        return (self.as_of - date(1970, 1, 1)).days

    @property
    def arrival_days(self) -> tuple[date, date, date]:
        return (self.as_of - timedelta(days=14), self.as_of - timedelta(days=7), self.as_of)

    def wave_of(self, stamps: np.ndarray) -> np.ndarray:
        """Index of the first arrival day on or after each stamp (a record arrives the next delivery)."""
        ends = np.array([epoch_seconds(day + timedelta(days=1)) - 1 for day in self.arrival_days[:-1]])
        return np.searchsorted(ends, stamps, side="left").astype(np.int8)

    def recent_start(self) -> int:
        """Start of the recent window (after the base export) where a share of changes are placed."""
        return epoch_seconds(self.arrival_days[0] + timedelta(days=1))


def epoch_seconds(day: date) -> int:
    return (day - date(1970, 1, 1)).days * SECONDS_PER_DAY


def weights(values: np.ndarray | list[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array / array.sum()


def padded_numbers(numbers: np.ndarray, width: int) -> pa.Array:
    """Integers as zero-padded text, e.g. 42 -> '00000042'."""
    return pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width=width, padding="0")


def prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    return pc.binary_join_element_wise(prefix, padded_numbers(numbers, width), "")


def labels(vocabulary: tuple[str, ...] | list[str] | pa.Array, indices: np.ndarray, null: np.ndarray | None = None):
    """Vocabulary entries picked by index; rows where `null` is true become null (blank)."""
    dictionary = vocabulary if isinstance(vocabulary, pa.Array) else pa.array(list(vocabulary), type=pa.string())
    return dictionary.take(pa.array(indices, type=pa.int64(), mask=null))


def timestamps(seconds: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(seconds.astype("datetime64[s]"), type=pa.timestamp("s"), mask=null)


def dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype("datetime64[D]"), type=pa.date32(), mask=null)


def replace_where(array: pa.Array, mask: np.ndarray, replacement: pa.Array) -> pa.Array:
    """`array` with the masked rows taken from `replacement` (same length)."""
    if not mask.any():
        return array
    return pc.if_else(pa.array(mask), replacement, array)


def change_stamps(rng: np.random.Generator, after: np.ndarray, frame: TimeFrame, typical_days: float) -> np.ndarray:
    """When a later version of a record is stamped: some time after `after`, a share of them recently.

    A third land after the base export so that later files carry new versions of earlier records.
    Rows with no room left before the end of the as-of day get -1 (no change possible).
    """
    end = frame.end_seconds
    later = after + 60 + rng.exponential(typical_days * SECONDS_PER_DAY, after.size).astype(np.int64)
    recent_from = np.maximum(after + 60, frame.recent_start())
    recent = recent_from + (rng.random(after.size) * np.maximum(end - recent_from, 0)).astype(np.int64)
    stamps = np.where(rng.random(after.size) < 0.33, recent, later)
    stamps = np.where(stamps > end, after + 60 + (rng.random(after.size) * (end - after - 60)).astype(np.int64), stamps)
    return np.where(after + 60 > end, -1, stamps)


def rare(rng: np.random.Generator, count: int, share: float, eligible: np.ndarray | None = None) -> np.ndarray:
    """A mask with about `share` of the eligible rows set, and at least one when there are 100 or more.

    Small inboxes (tests, demos) still show every kind of flaw; large ones get the share.
    """
    pool = np.arange(count) if eligible is None else np.flatnonzero(eligible)
    chosen = int(rng.binomial(pool.size, share)) if pool.size else 0
    if pool.size >= 100:
        chosen = max(chosen, 1)
    mask = np.zeros(count, dtype=bool)
    mask[rng.choice(pool, size=chosen, replace=False)] = True
    return mask
