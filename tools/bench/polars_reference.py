"""Member points and levels computed with polars' lazy API (benchmark reference).

The same steps as the pandas script: typed batches without the rows that break the schema, the
latest version per key as of D, registration status, product points, the sum per member.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.core.sources import MEMBERS, PRODUCTS, REGISTRATIONS, Column, ColumnType, Source
from tools.bench.inputs import MICRO, BenchInputs, iso_country_codes_file, points_policy

ISO_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%#z"


def scan_batch(path: Path) -> pl.LazyFrame:
    if path.suffix.lower() == ".parquet":
        return pl.scan_parquet(path)
    return pl.scan_csv(path, infer_schema=False)  # every column as text, empty cells null


def blank(name: str, schema: pl.Schema) -> pl.Expr:
    value = pl.col(name)
    if schema[name] == pl.String:
        return value.is_null() | (value.str.strip_chars(" ") == "")
    return value.is_null()


def typed_column(column: Column, schema: pl.Schema) -> pl.Expr:
    """The column in its type; null when blank or unparseable (CSV text or Parquet types)."""
    value = pl.col(column.name)
    if schema[column.name] != pl.String:
        if column.type is ColumnType.TIMESTAMP:
            return value.dt.convert_time_zone("UTC").dt.replace_time_zone(None).dt.cast_time_unit("us")
        if column.type is ColumnType.BOOLEAN and column.default is not None:
            return value.fill_null(column.default == "true")
        return value
    text = value.str.strip_chars(" ")
    match column.type:
        case ColumnType.DATE:
            return text.str.to_date("%Y-%m-%d", strict=False)
        case ColumnType.TIMESTAMP:
            with_zone = text.str.to_datetime(ISO_TIMESTAMP, strict=False, time_unit="us", time_zone="UTC")
            date_only = text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us", "UTC"))
            return pl.coalesce(with_zone, date_only).dt.replace_time_zone(None)
        case ColumnType.BOOLEAN:
            lowered = text.str.to_lowercase()
            parsed = pl.when(lowered == "true").then(True).when(lowered == "false").then(False)
            if column.default is not None:
                parsed = pl.when(blank(column.name, schema)).then(column.default == "true").otherwise(parsed)
            return parsed
        case ColumnType.INTEGER:
            return text.cast(pl.Int64, strict=False)
        case ColumnType.ENUM:
            return pl.when(text.is_in(column.allowed)).then(text)
        case _:
            return value


def typed_batch(path: Path, file_number: int, source: Source) -> pl.LazyFrame:
    """The batch with typed columns, without the rows that break the schema (ingestion quarantines them)."""
    frame = scan_batch(path).with_row_index("_row", offset=1)
    present = frame.collect_schema()
    missing = [pl.lit(None, pl.String).alias(name) for name in source.column_names if name not in present]
    frame = frame.with_columns(missing)
    schema = frame.collect_schema()
    breaks = []
    for column in source.columns:
        if column.required and column.default is None:
            breaks.append(blank(column.name, schema))
        if column.type is not ColumnType.TEXT:
            breaks.append(~blank(column.name, schema) & typed_column(column, schema).is_null())
        if column.minimum is not None:
            breaks.append(typed_column(column, schema) < column.minimum)
    return frame.filter(~pl.any_horizontal(breaks).fill_null(False)).select(
        *(typed_column(column, schema).alias(column.name) for column in source.columns),
        pl.col("_row").cast(pl.Int64),
        pl.lit(file_number, pl.Int64).alias("_file"),
    )


def read_source(files: list[Path], source: Source) -> pl.LazyFrame:
    return pl.concat([typed_batch(path, number, source) for number, path in enumerate(files)], how="vertical_relaxed")


def latest_versions(frame: pl.LazyFrame, key: str, stamps: list[str], inputs: BenchInputs) -> pl.LazyFrame:
    """One row per key: versions stamped after day D ignored, then latest updated_at, later file, later row."""
    return (
        frame.filter(pl.all_horizontal(pl.col(stamp) < inputs.end_of_day for stamp in stamps))
        .sort("updated_at", "_file", "_row")
        .unique(subset=key, keep="last", maintain_order=False)
    )


def product_points(products: pl.LazyFrame, inputs: BenchInputs) -> pl.LazyFrame:
    rules = points_policy()
    as_of = inputs.as_of
    launch = pl.col("launch_date")
    before_anniversary = (launch.dt.month() > as_of.month) | (
        (launch.dt.month() == as_of.month) & (launch.dt.day() > as_of.day)
    )
    age_years = pl.max_horizontal(
        pl.lit(as_of.year) - launch.dt.year().cast(pl.Int64) - before_anniversary.cast(pl.Int64), 0
    )
    decayed = MICRO - rules.decay_per_year_micro * pl.max_horizontal(age_years - rules.grace_years + 1, 0)
    superseded = (pl.col("superseded_on") <= as_of).fill_null(False)
    service_ended = (pl.col("service_end_date") <= as_of).fill_null(False)
    factor = (
        pl.when(service_ended)
        .then(rules.floor_micro)
        .when(superseded)
        .then(pl.min_horizontal(decayed, rules.superseded_cap_micro))
        .otherwise(decayed)
    )
    factor = pl.max_horizontal(factor, rules.floor_micro)
    rounded = (pl.col("base_points") * factor + MICRO // 2) // MICRO  # round half up, exactly, in millionths
    points = pl.when(pl.col("base_points") > 0).then(pl.max_horizontal(rounded, 1)).otherwise(0)
    return products.select("product_sku", "launch_date", points.cast(pl.Int64).alias("points"))


def registration_points(registrations: pl.LazyFrame, products: pl.LazyFrame, inputs: BenchInputs) -> pl.LazyFrame:
    """Each registration's effective points (its product's points when counted, else 0)."""
    rules = points_policy()
    countries = pl.read_csv(iso_country_codes_file(), infer_schema=False)["country_code"]
    serial = pl.col("serial_number").str.strip_chars(" ")
    country = pl.col("purchase_country").str.strip_chars(" ").str.to_uppercase()

    def is_blank(name: str) -> pl.Expr:
        return pl.col(name).is_null() | (pl.col(name).str.strip_chars(" ") == "")

    removed = (pl.col("removed_at") < inputs.end_of_day).fill_null(False)
    unknown_product = pl.col("launch_date").is_null()  # launch_date is required: null only without a match
    incomplete = (
        is_blank("serial_number") | pl.col("purchase_date").is_null() | is_blank("purchase_country")
    ) | is_blank("retailer")
    invalid = (
        (pl.col("purchase_date") > inputs.as_of).fill_null(False)
        | (
            pl.col("purchase_date") < pl.col("launch_date") - pl.duration(days=rules.purchase_before_launch_days)
        ).fill_null(False)
        | ~country.is_in(countries.implode()).fill_null(False)
        | ~serial.str.contains(f"^{rules.serial_pattern}$").fill_null(False)
    )
    checked = registrations.join(products, on="product_sku", how="left").with_columns(
        passing=~removed & ~unknown_product & ~incomplete & ~invalid,
        serial_key=serial.str.to_uppercase(),
    )
    # Duplicate serials: of the passing registrations sharing a product and serial, the earliest registered holds it.
    ranked = (
        checked.filter("passing")
        .sort("registered_at", "registration_id")
        .select("registration_id", (pl.int_range(pl.len()).over("product_sku", "serial_key") > 0).alias("duplicate"))
    )
    return checked.join(ranked, on="registration_id", how="left").select(
        "member_id",
        pl.when(pl.col("passing") & ~pl.col("duplicate").fill_null(False))
        .then(pl.col("points"))
        .otherwise(0)
        .cast(pl.Int64)
        .alias("points"),
    )


def member_levels(inputs: BenchInputs) -> pl.DataFrame:
    """member_id, validated_points, level for every member as of D."""
    members = latest_versions(read_source(inputs.files(MEMBERS.name), MEMBERS), MEMBERS.key, ["updated_at"], inputs)
    registrations = latest_versions(
        read_source(inputs.files(REGISTRATIONS.name), REGISTRATIONS),
        REGISTRATIONS.key,
        ["updated_at", "registered_at"],
        inputs,
    )
    products = product_points(read_source([inputs.products_file], PRODUCTS), inputs)
    points = registration_points(registrations, products, inputs).group_by("member_id").agg(pl.col("points").sum())
    validated = pl.col("validated_points")
    rules = points_policy()
    level = pl.lit(rules.bottom_level)
    for name, threshold in rules.levels:
        level = pl.when(validated >= threshold).then(pl.lit(name)).otherwise(level)
    return (
        members.select("member_id")
        .join(points, on="member_id", how="left")
        .select("member_id", pl.col("points").fill_null(0).cast(pl.Int64).alias("validated_points"))
        .with_columns(level.alias("level"))
        .collect()
    )
