"""The schema of every source (columns, types, required values): one definition used by ingestion and checks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    TEXT = "text"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    ENUM = "enum"


# DuckDB type each column type is stored as in the raw tables.
DUCKDB_TYPES: dict[ColumnType, str] = {
    ColumnType.TEXT: "VARCHAR",
    ColumnType.DATE: "DATE",
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.BOOLEAN: "BOOLEAN",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.ENUM: "VARCHAR",
}


# The longest value (in characters) any column takes. Far above any real name, address or serial:
# a longer value is a runaway field or a blob, and its row is quarantined (`too_long:<column>`).
MAX_VALUE_LENGTH = 1000


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = ColumnType.TEXT
    required: bool = False
    allowed: tuple[str, ...] = ()  # for ENUM
    default: str | None = None  # raw text used when the value is blank
    minimum: int | None = None  # for INTEGER
    # For reference data: a non-blank value must be the key of another row of the same file, and
    # following these links must never come back to a row (e.g. a product's successor).
    refers_to_own_key: bool = False


@dataclass(frozen=True)
class Source:
    name: str  # also the inbox sub-folder and the raw table name
    key: str
    columns: tuple[Column, ...]
    # Reference data (the catalogue) is a snapshot kept in the repo, not change records in the inbox:
    # a night uses exactly the file given to it, and any row that breaks the schema fails the night.
    reference: bool = False
    # An optional source's folder may be missing from an inbox: it then loads nothing (not an error).
    optional: bool = False

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [column.name for column in self.columns if column.required]


T = ColumnType

MEMBERS = Source(
    name="members",
    key="member_id",
    columns=(
        Column("member_id", required=True),
        Column("email", required=True),
        Column("country", required=True),
        Column("language"),
        Column("marketing_opt_in", T.BOOLEAN, required=True),
        Column("joined_at", T.TIMESTAMP, required=True),
        Column("legacy_cps_number"),
        Column("updated_at", T.TIMESTAMP, required=True),
    ),
)

REGISTRATIONS = Source(
    name="registrations",
    key="registration_id",
    columns=(
        Column("registration_id", required=True),
        Column("member_id", required=True),
        Column("product_sku", required=True),
        Column("serial_number"),
        Column("purchase_date", T.DATE),
        Column("purchase_country"),
        Column("retailer"),
        Column("second_hand", T.BOOLEAN, default="false"),
        Column("registered_at", T.TIMESTAMP, required=True),
        Column("removed_at", T.TIMESTAMP),
        Column("updated_at", T.TIMESTAMP, required=True),
    ),
)

SERVICE_JOBS = Source(
    name="service_jobs",
    key="job_id",
    columns=(
        Column("job_id", required=True),
        Column("member_id"),
        Column("product_sku", required=True),
        Column("centre_id", required=True),
        Column("service_type", T.ENUM, required=True, allowed=("repair", "maintenance", "upgrade")),
        Column("serial_number"),
        Column("received_at", T.TIMESTAMP, required=True),
        Column("completed_at", T.TIMESTAMP),
        Column("updated_at", T.TIMESTAMP, required=True),
    ),
)

# Accounts of the old CPS programme, which members claim through members.legacy_cps_number.
LEGACY_ACCOUNTS = Source(
    name="legacy_accounts",
    key="legacy_cps_number",
    optional=True,
    columns=(
        Column("legacy_cps_number", required=True),
        Column("email", required=True),
        Column("old_level", T.ENUM, required=True, allowed=("Silver", "Gold", "Platinum", "Video")),
        Column("member_since", T.DATE, required=True),
        Column("marketing_opt_in", T.BOOLEAN, required=True),
        Column("updated_at", T.TIMESTAMP, required=True),
    ),
)

PRODUCT_CATEGORIES = (
    "camera",
    "lens",
    "cinema_camera",
    "camcorder",
    "printer",
    "flash",
    "accessory",
    "other",
)

PRODUCTS = Source(
    name="products",
    key="product_sku",
    reference=True,
    columns=(
        Column("product_sku", required=True),
        Column("product_name", required=True),
        Column("category", T.ENUM, required=True, allowed=PRODUCT_CATEGORIES),
        Column("is_video", T.BOOLEAN, required=True),
        Column("launch_date", T.DATE, required=True),
        Column("base_points", T.INTEGER, required=True, minimum=0),
        Column("fast_track", T.BOOLEAN, required=True),
        Column("superseded_by", refers_to_own_key=True),
        Column("superseded_on", T.DATE),
        Column("service_end_date", T.DATE),
    ),
)

SERVICE_CENTRES = Source(
    name="service_centres",
    key="centre_id",
    reference=True,
    columns=(
        Column("centre_id", required=True),
        Column("name", required=True),
        Column("country", required=True),
        Column(
            "centre_type",
            T.ENUM,
            required=True,
            allowed=("canon_service_centre", "authorised_partner"),
        ),
    ),
)

INBOX_SOURCES: tuple[Source, ...] = (MEMBERS, REGISTRATIONS, SERVICE_JOBS, LEGACY_ACCOUNTS)
REFERENCE_SOURCES: tuple[Source, ...] = (PRODUCTS, SERVICE_CENTRES)
ALL_SOURCES: tuple[Source, ...] = REFERENCE_SOURCES + INBOX_SOURCES
SOURCES_BY_NAME: dict[str, Source] = {source.name: source for source in ALL_SOURCES}
