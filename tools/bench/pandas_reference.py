"""Member points and levels the way an analyst would compute them with pandas (benchmark reference).

Straightforward vectorised pandas: read every batch, drop rows that break the schema, keep the
latest version per key as of D, work out each registration's status and points, sum per member.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.core.sources import MEMBERS, PRODUCTS, REGISTRATIONS, Column, ColumnType, Source
from tools.bench.inputs import MICRO, BenchInputs, iso_country_codes_file, points_policy


def read_batch(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    # Everything as text; only empty cells are missing ("NA" is Namibia, not a null).
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def is_text(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.StringDtype)


def blank(values: pd.Series) -> pd.Series:
    if is_text(values) or values.dtype == object:
        return values.isna() | values.astype("str").str.strip(" ").eq("")
    return values.isna()


def typed_column(values: pd.Series, column: Column) -> pd.Series:
    """The column's value in its type; missing when blank or unparseable (CSV text or Parquet types)."""
    text = values.str.strip(" ") if is_text(values) else None
    match column.type:
        case ColumnType.DATE:
            if text is not None:
                return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            return pd.to_datetime(values)
        case ColumnType.TIMESTAMP:
            parsed = pd.to_datetime(text if text is not None else values, utc=True, format="ISO8601", errors="coerce")
            return parsed.dt.tz_localize(None)
        case ColumnType.BOOLEAN:
            parsed = text.str.lower().map({"true": True, "false": False}) if text is not None else values
            if column.default is not None:
                parsed = parsed.where(~blank(values), column.default == "true")
            return parsed
        case ColumnType.INTEGER:
            return pd.to_numeric(text if text is not None else values, errors="coerce")
        case ColumnType.ENUM:
            return text.where(text.isin(column.allowed)) if text is not None else values
        case _:
            return values


def typed_batch(frame: pd.DataFrame, source: Source) -> pd.DataFrame:
    """The batch with typed columns, without the rows that break the schema (ingestion quarantines them)."""
    frame = frame.reindex(columns=source.column_names)  # optional columns may be absent from a file
    breaks = pd.Series(False, index=frame.index)
    typed = {}
    for column in source.columns:
        values = frame[column.name]
        is_blank = blank(values)
        typed[column.name] = typed_column(values, column)
        if column.required and column.default is None:
            breaks |= is_blank
        if column.type is not ColumnType.TEXT:
            breaks |= ~is_blank & typed[column.name].isna()
        if column.minimum is not None:
            breaks |= typed[column.name] < column.minimum
    return pd.DataFrame(typed)[~breaks]


def read_source(files: list[Path], source: Source) -> pd.DataFrame:
    batches = []
    for file_number, path in enumerate(files):
        batch = typed_batch(read_batch(path), source)
        batch["_file"] = file_number
        batch["_row"] = batch.index + 1  # data row number in the file
        batches.append(batch)
    return pd.concat(batches, ignore_index=True)


def latest_versions(frame: pd.DataFrame, key: str, stamps: list[str], inputs: BenchInputs) -> pd.DataFrame:
    """One row per key: versions stamped after day D ignored, then latest updated_at, later file, later row."""
    in_time = (frame[stamps] < inputs.end_of_day).all(axis=1)
    ordered = frame[in_time].sort_values(["updated_at", "_file", "_row"])
    return ordered.drop_duplicates(key, keep="last")


def product_points(products: pd.DataFrame, inputs: BenchInputs) -> pd.DataFrame:
    rules = points_policy()
    as_of = pd.Timestamp(inputs.as_of)
    launch = products["launch_date"]
    before_anniversary = (launch.dt.month > as_of.month) | (
        (launch.dt.month == as_of.month) & (launch.dt.day > as_of.day)
    )
    age_years = (as_of.year - launch.dt.year - before_anniversary.astype(int)).clip(lower=0)
    factor = MICRO - rules.decay_per_year_micro * (age_years - rules.grace_years + 1).clip(lower=0)
    superseded = products["superseded_on"].le(as_of)
    factor = factor.where(~superseded, np.minimum(factor, rules.superseded_cap_micro))
    factor = factor.where(~products["service_end_date"].le(as_of), rules.floor_micro)
    factor = factor.clip(lower=rules.floor_micro)
    base = products["base_points"].astype("int64")
    rounded = (base * factor + MICRO // 2) // MICRO  # round half up, exactly, in millionths
    points = np.where(base > 0, np.maximum(rounded, 1), 0)
    return pd.DataFrame({"product_sku": products["product_sku"], "launch_date": launch, "points": points})


def registration_points(registrations: pd.DataFrame, products: pd.DataFrame, inputs: BenchInputs) -> pd.DataFrame:
    """Each registration's effective points (its product's points when counted, else 0)."""
    rules = points_policy()
    as_of = pd.Timestamp(inputs.as_of)
    countries = set(pd.read_csv(iso_country_codes_file(), dtype=str, keep_default_na=False)["country_code"])
    r = registrations.merge(products, on="product_sku", how="left", indicator=True)

    removed = r["removed_at"].lt(inputs.end_of_day)
    unknown_product = r["_merge"].eq("left_only")
    serial = r["serial_number"].astype("str").str.strip(" ").where(r["serial_number"].notna())
    country = r["purchase_country"].astype("str").str.strip(" ").where(r["purchase_country"].notna())
    incomplete = (
        blank(r["serial_number"]) | r["purchase_date"].isna() | blank(r["purchase_country"]) | blank(r["retailer"])
    )
    too_early = r["launch_date"] - pd.Timedelta(days=rules.purchase_before_launch_days)
    invalid = (
        r["purchase_date"].gt(as_of)
        | r["purchase_date"].lt(too_early)
        | ~country.str.upper().isin(countries)
        | ~serial.str.fullmatch(rules.serial_pattern).fillna(False).astype(bool)
    )
    passing = ~removed & ~unknown_product & ~incomplete & ~invalid

    # Duplicate serials: of the passing registrations sharing a product and serial, the earliest registered holds it.
    candidates = r.loc[passing, ["product_sku", "registered_at", "registration_id"]].assign(
        serial_key=serial[passing].str.upper()
    )
    candidates = candidates.sort_values(["registered_at", "registration_id"])
    duplicate = candidates.duplicated(["product_sku", "serial_key"], keep="first").reindex(r.index, fill_value=False)
    counted = passing & ~duplicate
    return pd.DataFrame({"member_id": r["member_id"], "points": r["points"].where(counted, 0).astype("int64")})


def member_levels(inputs: BenchInputs) -> pd.DataFrame:
    """member_id, validated_points, level for every member as of D."""
    members = read_source(inputs.files(MEMBERS.name), MEMBERS)
    members = latest_versions(members, MEMBERS.key, ["updated_at"], inputs)
    registrations = read_source(inputs.files(REGISTRATIONS.name), REGISTRATIONS)
    registrations = latest_versions(registrations, REGISTRATIONS.key, ["updated_at", "registered_at"], inputs)
    products = product_points(read_source([inputs.products_file], PRODUCTS), inputs)

    points = registration_points(registrations, products, inputs).groupby("member_id")["points"].sum()
    result = members[["member_id"]].merge(points.rename("validated_points"), on="member_id", how="left")
    result["validated_points"] = result["validated_points"].fillna(0).astype("int64")
    levels = points_policy().levels
    result["level"] = np.select(
        [result["validated_points"] >= threshold for _, threshold in reversed(levels)],
        [name for name, _ in reversed(levels)],
        default=points_policy().bottom_level,
    )
    return result.reset_index(drop=True)
