"""The SQL that types a text value into its column's type and says why a row breaks its source's schema.

Everything is a SQL expression over the row's text values, so that a file of millions of rows is
checked by DuckDB in one pass. Reasons are `<kind>:<column>`, e.g. `missing_required:member_id`,
`bad_timestamp:updated_at`, `bad_enum:service_type`; several are joined by ',' in column order.
"""

from __future__ import annotations

from pipelines.core.sources import MAX_VALUE_LENGTH, Column, ColumnType, Source
from pipelines.ingestion.files import sql_text

# The accepted shapes, checked before casting because DuckDB's casts are lenient ('1.5' casts to the
# integer 2, '2024-1-5' to a date). Timestamps: ISO 8601 date and time, 'T' or a space between, optional
# seconds and fraction, optional 'Z' or offset (converted to UTC; none means UTC). Offsets exist from
# -12:00 to +14:00; anything beyond (+25:00) is not a time anywhere and breaks the schema, rather than
# being shifted by a day.
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
OFFSET_PATTERN = r"[+-]((0[0-9]|1[0-3])(:?[0-5][0-9])?|14(:?00)?)"
TIMESTAMP_PATTERN = DATE_PATTERN + r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?" + f"(Z|{OFFSET_PATTERN})?"
INTEGER_PATTERN = r"[+-]?[0-9]+"

PARSE_FAILURE_KIND = {
    ColumnType.DATE: "bad_date",
    ColumnType.TIMESTAMP: "bad_timestamp",
    ColumnType.BOOLEAN: "bad_boolean",
    ColumnType.INTEGER: "bad_integer",
}


def blank(value_sql: str) -> str:
    """Missing: NULL, empty or only spaces."""
    return f"(nullif(trim({value_sql}), '') is null)"


def _matches(text_sql: str, pattern: str) -> str:
    return f"regexp_full_match({text_sql}, {sql_text(pattern)})"


def typed_value(column: Column, value_sql: str) -> str:
    """The column's value in its raw-table type: NULL when blank or unparseable.

    Text is kept verbatim (blank handling is a rule downstream); other types are parsed from the
    value without its surrounding spaces, and a blank value takes the column's default if it has one.
    """
    if column.type is ColumnType.TEXT:
        return value_sql
    text = f"nullif(trim({value_sql}), '')"
    if column.default is not None:
        text = f"coalesce({text}, {sql_text(column.default)})"
    match column.type:
        case ColumnType.DATE:
            return f"case when {_matches(text, DATE_PATTERN)} then try_cast({text} as date) end"
        case ColumnType.TIMESTAMP:
            as_utc = f"cast(try_cast({text} as timestamptz) as timestamp)"  # the session time zone is UTC
            return f"case when {_matches(text, TIMESTAMP_PATTERN)} then {as_utc} end"
        case ColumnType.BOOLEAN:
            return f"case lower({text}) when 'true' then true when 'false' then false end"
        case ColumnType.INTEGER:
            return f"case when {_matches(text, INTEGER_PATTERN)} then try_cast({text} as bigint) end"
        case _:  # ENUM: the value as given, without surrounding spaces
            return text


def column_reasons(column: Column, text_sql: str, typed_sql: str) -> list[str]:
    """SQL expressions, each the reason text when the value breaks the schema, else NULL.

    `text_sql` is the value as read, `typed_sql` the result of typed_value() on it (computed once, earlier).
    """
    reasons = [f"case when length({text_sql}) > {MAX_VALUE_LENGTH} then 'too_long:{column.name}' end"]
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


def reason_sql(source: Source, text_sql: dict[str, str], typed_sql: dict[str, str]) -> str:
    """The row's reasons joined by ',' ('' for a row that fits the schema).

    `text_sql` and `typed_sql` map each of the source's columns to the SQL of its text and typed value.
    """
    reasons = [
        reason
        for column in source.columns
        for reason in column_reasons(column, text_sql[column.name], typed_sql[column.name])
    ]
    return f"concat_ws(',', {', '.join(reasons)})" if reasons else "''"
