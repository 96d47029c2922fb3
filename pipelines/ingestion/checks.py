"""The SQL that types a text value into its column's type and says why a row breaks its source's schema.

Everything is a SQL expression over the row's text values, so that a file of millions of rows is
checked by DuckDB in one pass. Reasons are `<kind>:<column>`, e.g. `missing_required:member_id`,
`bad_timestamp:updated_at`, `bad_enum:service_type`; several are joined by ',' in column order.
"""

from __future__ import annotations

from pipelines.core.sources import DUCKDB_TYPES, MAX_VALUE_LENGTH, Column, ColumnType, Source
from pipelines.ingestion.files import sql_text

# The accepted shapes, checked before casting because DuckDB's casts are lenient ('1.5' casts to the
# integer 2, '2024-1-5' to a date). Timestamps: ISO 8601 date and time, 'T' or a space between, optional
# seconds and fraction, optional 'Z' or offset (converted to UTC; none means UTC). Offsets exist from
# -12:00 to +14:00; anything beyond (+25:00) is not a time anywhere and breaks the schema, rather than
# being shifted by a day.
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
OFFSET_PATTERN = r"[+-]((0[0-9]|1[0-3])(:?[0-5][0-9])?|14(:?00)?)"
LOCAL_TIME_PATTERN = DATE_PATTERN + r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
TIMESTAMP_PATTERN = LOCAL_TIME_PATTERN + f"(Z|{OFFSET_PATTERN})?"
# A timestamp in UTC already ('Z' or no offset): the plain TIMESTAMP cast reads it, several times faster than
# the time-zone-aware one (which an offset needs: the plain cast would ignore the offset).
UTC_TIMESTAMP_PATTERN = LOCAL_TIME_PATTERN + "Z?"
INTEGER_PATTERN = r"[+-]?[0-9]+"

# Parquet column types that already are a column's type: such values are taken as they are (no text round
# trip, nothing to parse). Any other Parquet type is read as text and checked like CSV.
NATIVE_PARQUET_TYPES: dict[ColumnType, tuple[str, ...]] = {
    ColumnType.DATE: ("DATE",),
    ColumnType.TIMESTAMP: ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"),
    ColumnType.BOOLEAN: ("BOOLEAN",),
    ColumnType.INTEGER: ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"),
}

PARSE_FAILURE_KIND = {
    ColumnType.DATE: "bad_date",
    ColumnType.TIMESTAMP: "bad_timestamp",
    ColumnType.BOOLEAN: "bad_boolean",
    ColumnType.INTEGER: "bad_integer",
}


def blank(value_sql: str) -> str:
    """Missing: NULL, empty or only spaces (trim's spaces: ' ' and the Unicode space separators).

    Only a value that starts with a control character, a space or a non-ASCII character can be blank:
    comparing the value's first bytes is much cheaper than trimming every value of every row.
    """
    return f"({value_sql} is null or (({value_sql} < '!' or {value_sql} >= chr(128)) and trim({value_sql}) = ''))"


def _matches(text_sql: str, pattern: str) -> str:
    return f"regexp_full_match({text_sql}, {sql_text(pattern)})"


def is_native(column: Column, parquet_type: str) -> bool:
    """Whether a Parquet column of this type holds the column's values as they are (see NATIVE_PARQUET_TYPES)."""
    return parquet_type in NATIVE_PARQUET_TYPES.get(column.type, ())


def typed_value(column: Column, value_sql: str, native: bool = False) -> str:
    """The column's value in its raw-table type: NULL when blank or unparseable.

    Text is kept verbatim (blank handling is a rule downstream); other types are parsed from the
    value without its surrounding spaces, and a blank value takes the column's default if it has one.
    A `native` value (a typed Parquet column, see is_native) is only cast, to UTC for a timestamp.
    """
    if column.type is ColumnType.TEXT:
        return value_sql
    if native:
        value = f"cast({value_sql} as {DUCKDB_TYPES[column.type]})"  # the session time zone is UTC
        if column.default is not None:
            value = f"coalesce({value}, {typed_value(column, sql_text(column.default))})"
        return value
    text = f"nullif(trim({value_sql}), '')"
    if column.default is not None:
        text = f"coalesce({text}, {sql_text(column.default)})"
    match column.type:
        case ColumnType.DATE:
            parsed = _parsed_if_matches(value_sql, text, DATE_PATTERN, "try_cast({} as date)")
        case ColumnType.TIMESTAMP:
            # The session time zone is UTC: an offset is converted to UTC, no offset means UTC.
            parsed = _parsed_if_matches(
                value_sql, text, TIMESTAMP_PATTERN, "cast(try_cast({} as timestamptz) as timestamp)"
            )
            in_utc = f"when {_matches(value_sql, UTC_TIMESTAMP_PATTERN)} then try_cast({value_sql} as timestamp)"
            parsed = parsed.replace("case ", f"case {in_utc} ", 1)
        case ColumnType.BOOLEAN:
            parsed = f"case lower({text}) when 'true' then true when 'false' then false end"
            # The usual spelling first: no trimming, no lower-casing.
            return f"case {value_sql} when 'true' then true when 'false' then false else {parsed} end"
        case ColumnType.INTEGER:
            parsed = _parsed_if_matches(value_sql, text, INTEGER_PATTERN, "try_cast({} as bigint)")
        case _:  # ENUM: the value as given, without surrounding spaces
            return text
    return parsed


def _parsed_if_matches(value_sql: str, text_sql: str, pattern: str, parse: str) -> str:
    """`parse` of the value if it has the shape `pattern`, else of its trimmed text if that has it, else NULL.

    The value as read is tried first: it nearly always fits, and then trimming it would change nothing
    (no pattern allows surrounding spaces).
    """
    return (
        f"case when {_matches(value_sql, pattern)} then {parse.format(value_sql)} "
        f"when {_matches(text_sql, pattern)} then {parse.format(text_sql)} end"
    )


def column_reasons(column: Column, text_sql: str, typed_sql: str, native: bool = False) -> list[str]:
    """SQL expressions, each the reason text when the value breaks the schema, else NULL.

    `text_sql` is the value as read, `typed_sql` the result of typed_value() on it (computed once, earlier).
    A `native` value (a typed Parquet column) can only be missing or below the minimum.
    """
    if native:
        reasons = []
        if column.required and column.default is None:
            reasons.append(f"case when {text_sql} is null then 'missing_required:{column.name}' end")
        if column.type is ColumnType.INTEGER and column.minimum is not None:
            reasons.append(f"case when {typed_sql} < {column.minimum} then 'below_minimum:{column.name}' end")
        return reasons
    # strlen (bytes, known without reading the value) is at least length (characters): checked first.
    too_long = f"strlen({text_sql}) > {MAX_VALUE_LENGTH} and length({text_sql}) > {MAX_VALUE_LENGTH}"
    reasons = [f"case when {too_long} then 'too_long:{column.name}' end"]
    if column.type is ColumnType.TEXT:  # a NUL byte in one field: that row, not the file (see csv_header)
        reasons.append(f"case when contains({text_sql}, chr(0)) then 'nul_byte:{column.name}' end")
    if column.required and column.default is None:
        reasons.append(f"case when {blank(text_sql)} then 'missing_required:{column.name}' end")
    present = f"not {blank(text_sql)}"
    kind = PARSE_FAILURE_KIND.get(column.type)
    if kind:
        reasons.append(f"case when {present} and {typed_sql} is null then '{kind}:{column.name}' end")
    if column.type is ColumnType.INTEGER and column.minimum is not None:
        reasons.append(f"case when {typed_sql} < {column.minimum} then 'below_minimum:{column.name}' end")
    if column.type is ColumnType.ENUM:
        allowed = ", ".join(sql_text(value) for value in column.allowed)
        reasons.append(f"case when {present} and {typed_sql} not in ({allowed}) then 'bad_enum:{column.name}' end")
    return reasons


def reason_sql(
    source: Source, text_sql: dict[str, str], typed_sql: dict[str, str], native: frozenset[str] = frozenset()
) -> str:
    """The row's reasons joined by ',' ('' for a row that fits the schema).

    `text_sql` and `typed_sql` map each of the source's columns to the SQL of its text and typed value;
    `native` names the columns read from a typed Parquet column (see is_native).
    """
    reasons = [
        reason
        for column in source.columns
        for reason in column_reasons(column, text_sql[column.name], typed_sql[column.name], column.name in native)
    ]
    return f"concat_ws(',', {', '.join(reasons)})" if reasons else "''"
