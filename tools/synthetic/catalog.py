"""The catalogue as the generator needs it: products and service centres as numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from pipelines.core.errors import CpsError
from pipelines.core.sources import PRODUCTS, SERVICE_CENTRES, Source

# Share of registrations per category, before the per-product adjustments.
CATEGORY_SHARES: dict[str, float] = {
    "lens": 46.0,
    "camera": 28.0,
    "flash": 6.0,
    "accessory": 8.0,
    "printer": 4.0,
    "camcorder": 2.5,
    "cinema_camera": 2.5,
    "other": 3.0,
}
# How serial numbers look: 0 = twelve digits (bodies), 1 = ten digits (lenses, flashes), 2 = letters and digits.
SERIAL_STYLE_BY_CATEGORY: dict[str, int] = {
    "camera": 0,
    "cinema_camera": 0,
    "camcorder": 0,
    "lens": 1,
    "flash": 1,
    "printer": 2,
    "accessory": 2,
    "other": 2,
}
# Categories that go to a workshop far more often than accessories.
SERVICE_WEIGHT_BY_CATEGORY: dict[str, float] = {
    "camera": 3.0,
    "cinema_camera": 4.0,
    "camcorder": 3.0,
    "lens": 1.5,
    "flash": 0.8,
    "printer": 0.6,
    "accessory": 0.2,
    "other": 0.3,
}


PROFESSIONAL_FAST_TRACK_PREFERENCE = 12.0


@dataclass(frozen=True)
class Catalogue:
    skus: pa.Array
    category: np.ndarray  # str per product
    launch_day: np.ndarray  # days since epoch
    base_points: np.ndarray
    fast_track: np.ndarray  # bool per product
    serial_style: np.ndarray
    service_weight: np.ndarray
    centre_ids: pa.Array
    centre_is_canon: np.ndarray
    centre_country: np.ndarray  # str per centre

    @property
    def size(self) -> int:
        return len(self.skus)

    def product_weights(self, as_of_day: int, professional: bool) -> np.ndarray:
        """How likely each product is to be in a kitbag: never before launch, recent ones more often.

        Professionals lean to high-point products (L lenses, pro bodies, Cinema EOS),
        enthusiasts to low-point ones (kit lenses, entry bodies, accessories).
        """
        shares = np.array([CATEGORY_SHARES.get(category, 1.0) for category in self.category])
        per_category = np.array([np.sum(self.category == category) for category in self.category])
        age_years = (as_of_day - self.launch_day) / 365.25
        recency = np.exp(-np.clip(age_years, 0, None) / 6.0)
        points = self.base_points.astype(np.float64)
        taste = (points + 15.0) ** 0.3 if professional else (60.0 / (points + 30.0)) ** 1.2
        if professional:
            # Professionals buy the flagship (Fast Track) SKUs far more often than their regional
            # and kit variants, which exist mostly for retail channels.
            taste = taste * np.where(self.fast_track, PROFESSIONAL_FAST_TRACK_PREFERENCE, 1.0)
        result = shares / per_category * recency * taste
        result[self.launch_day > as_of_day - 1] = 0.0
        if result.sum() <= 0:
            raise CpsError("the catalogue has no product launched before the as-of date")
        return result / result.sum()


def _read(path: Path, source: Source) -> pa.Table:
    if not path.is_file():
        raise CpsError(f"catalogue file missing: {path}")
    convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in source.column_names})
    table = pacsv.read_csv(path, convert_options=convert)
    missing = set(source.column_names) - set(table.column_names)
    if missing:
        raise CpsError(f"{path} lacks columns: {', '.join(sorted(missing))}")
    return table


def load_catalogue(catalog_dir: Path) -> Catalogue:
    products = _read(catalog_dir / "products.csv", PRODUCTS)
    centres = _read(catalog_dir / "service_centres.csv", SERVICE_CENTRES)
    if products.num_rows == 0 or centres.num_rows == 0:
        raise CpsError(f"the catalogue in {catalog_dir} is empty")
    category = np.array([value.strip() for value in products["category"].to_pylist()], dtype=object)
    launch = np.array([value.strip() for value in products["launch_date"].to_pylist()], dtype="datetime64[D]")
    return Catalogue(
        skus=products["product_sku"].combine_chunks(),
        category=category,
        launch_day=launch.astype(np.int64),
        base_points=np.array([int(value) for value in products["base_points"].to_pylist()], dtype=np.int64),
        fast_track=np.array([value.strip().lower() == "true" for value in products["fast_track"].to_pylist()]),
        serial_style=np.array([SERIAL_STYLE_BY_CATEGORY.get(value, 2) for value in category], dtype=np.int8),
        service_weight=np.array([SERVICE_WEIGHT_BY_CATEGORY.get(value, 0.5) for value in category]),
        centre_ids=centres["centre_id"].combine_chunks(),
        centre_is_canon=np.array(
            [value.strip() == "canon_service_centre" for value in centres["centre_type"].to_pylist()]
        ),
        centre_country=np.array([value.strip().upper() for value in centres["country"].to_pylist()], dtype=object),
    )
