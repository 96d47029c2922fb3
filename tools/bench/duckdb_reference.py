"""Member points and levels in one hand-written DuckDB query over the inbox files (benchmark floor).

No warehouse, no intermediate tables: read_csv / read_parquet of the batch files, then CTEs for
the latest versions, product points, registration status and the sum per member. Only the typing of
each file's columns (which rows break the schema) is generated from pipelines.core.sources, so that the
source columns are not restated here.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.policy import policy
from pipelines.core.sources import MEMBERS, PRODUCTS, REGISTRATIONS, Column, ColumnType, Source
from tools.bench.inputs import BenchInputs, iso_country_codes_file, points_policy

SQL_TYPES = {ColumnType.DATE: "date", ColumnType.TIMESTAMP: "timestamp", ColumnType.INTEGER: "bigint"}


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def file_columns(path: Path) -> list[str]:
    """The file's column names, in file order (the CSV header line, the Parquet schema)."""
    if path.suffix.lower() == ".parquet":
        return list(pq.read_schema(path).names)
    with path.open(encoding="utf-8") as handle:
        return [name.strip().strip('"') for name in handle.readline().rstrip("\r\n").split(",")]


def typed_value(column: Column, value: str, from_text: bool) -> str:
    """The column in its type, NULL when blank or unparseable; CSV cells are text, Parquet is typed."""
    text = f"nullif(trim({value}), '')"
    match column.type:
        case ColumnType.DATE if from_text:
            typed = f"cast(try_strptime({text}, '%Y-%m-%d') as date)"
        case ColumnType.TIMESTAMP if from_text:
            typed = f"cast(try_cast({text} as timestamptz) as timestamp)"
        case ColumnType.INTEGER if from_text:
            typed = f"try_cast({text} as bigint)"
        case ColumnType.DATE | ColumnType.TIMESTAMP | ColumnType.INTEGER:
            typed = f"cast({value} as {SQL_TYPES[column.type]})"
        case ColumnType.BOOLEAN if from_text:
            typed = f"case lower({text}) when 'true' then true when 'false' then false end"
        case ColumnType.BOOLEAN:
            typed = value
        case ColumnType.ENUM:
            typed = f"case when trim({value}) in ({', '.join(map(quoted, column.allowed))}) then trim({value}) end"
        case _:
            return value
    if column.default is not None:
        blank = f"{text} is null" if from_text else f"{value} is null"
        typed = f"case when {blank} then {column.default} else {typed} end"
    return typed


def blank_flag(column: Column) -> str:
    return f'"_blank_{column.name}"'


def blank_value(column: Column, value: str, from_text: bool) -> str:
    textual = from_text or column.type is ColumnType.TEXT
    return f"(nullif(trim({value}), '') is null)" if textual else f"({value} is null)"


def breaks_schema(column: Column) -> list[str]:
    """Conditions (on the typed column and its blank flag) under which a row breaks the schema."""
    typed, blank = f'"{column.name}"', blank_flag(column)
    conditions = []
    if column.required and column.default is None:
        conditions.append(blank)
    if column.type is not ColumnType.TEXT:
        conditions.append(f"(not {blank} and {typed} is null)")
    if column.minimum is not None:
        conditions.append(f"coalesce({typed} < {column.minimum}, false)")
    return conditions


def batch_sql(path: Path, file_number: int, source: Source) -> str:
    """One file as typed rows with _file (arrival order) and _row (1-based data row), valid rows only."""
    present = file_columns(path)
    if path.suffix.lower() == ".parquet":
        from_text = False
        reader = (
            f"(select *, file_row_number + 1 as _row from read_parquet({quoted(str(path))}, file_row_number = true))"
        )
    else:
        from_text = True
        # Every column as text, named by the header: no dialect or type sniffing (it costs more than the read).
        columns = "{" + ", ".join(f"{quoted(name)}: 'VARCHAR'" for name in present) + "}"
        reader = (
            f"(select *, ordinality as _row from read_csv({quoted(str(path))}, header = true, auto_detect = false,"
            f" delim = ',', quote = '\"', escape = '\"', columns = {columns}) with ordinality)"
        )

    def value(column: Column) -> str:
        return f'"{column.name}"' if column.name in present else "cast(null as varchar)"

    typed = ", ".join(
        f'{typed_value(c, value(c), from_text)} as "{c.name}", {blank_value(c, value(c), from_text)} as {blank_flag(c)}'
        for c in source.columns
    )
    breaks = " or ".join(condition for c in source.columns for condition in breaks_schema(c)) or "false"
    names = ", ".join(f'"{c.name}"' for c in source.columns)
    return (
        f"select {names}, {file_number} as _file, _row from (select {typed}, _row from {reader}) where not ({breaks})"
    )


def source_sql(files: list[Path], source: Source) -> str:
    return "\n        union all ".join(batch_sql(path, number, source) for number, path in enumerate(files))


def member_levels_sql(inputs: BenchInputs) -> str:
    rules = points_policy()
    values = policy()
    d = f"date '{inputs.as_of.isoformat()}'"
    end_of_day = f"timestamp '{inputs.end_of_day.isoformat(sep=' ')}'"

    def share(name: str) -> str:
        return f"cast('{values[name]}' as decimal(18, 6))"

    level_cases = " ".join(f"when validated_points >= {t} then '{name}'" for name, t in reversed(rules.levels))
    return f"""
    with
    members_in as ({source_sql(inputs.files(MEMBERS.name), MEMBERS)}),
    registrations_in as ({source_sql(inputs.files(REGISTRATIONS.name), REGISTRATIONS)}),
    products_in as ({source_sql([inputs.products_file], PRODUCTS)}),
    countries as (
        select country_code from read_csv({quoted(str(iso_country_codes_file()))}, header = true, all_varchar = true)
    ),

    members as (
        select member_id from members_in
        where updated_at < {end_of_day}
        qualify row_number() over (partition by member_id order by updated_at desc, _file desc, _row desc) = 1
    ),
    registrations as (
        select * from registrations_in
        where updated_at < {end_of_day} and registered_at < {end_of_day}
        qualify row_number() over (partition by registration_id order by updated_at desc, _file desc, _row desc) = 1
    ),

    product_age as (
        select
            product_sku, launch_date, base_points,
            greatest(0, year({d}) - year(launch_date)
                - case when month(launch_date) > month({d})
                         or (month(launch_date) = month({d}) and day(launch_date) > day({d})) then 1 else 0 end
            ) as age_years,
            coalesce(superseded_on <= {d}, false) as is_superseded,
            coalesce(service_end_date <= {d}, false) as is_service_ended
        from products_in
    ),
    product_points as (
        select
            product_sku, launch_date,
            case when base_points > 0 then greatest(1, floor(base_points * factor + 0.5)) else 0 end as points
        from (
            select *, greatest(
                case
                    when is_service_ended then {share("floor_share")}
                    when is_superseded then least(
                        1 - {share("decay_per_year")} * greatest(0, age_years - {rules.grace_years} + 1),
                        {share("superseded_factor_cap")})
                    else 1 - {share("decay_per_year")} * greatest(0, age_years - {rules.grace_years} + 1)
                end,
                {share("floor_share")}
            ) as factor
            from product_age
        )
    ),

    checked as (
        select
            r.registration_id, r.member_id, r.product_sku, r.registered_at,
            upper(trim(r.serial_number)) as serial_key,
            p.points,
            case
                when r.removed_at < {end_of_day} then 'removed'
                when p.product_sku is null then 'unknown_product'
                when nullif(trim(r.serial_number), '') is null or r.purchase_date is null
                    or nullif(trim(r.purchase_country), '') is null or nullif(trim(r.retailer), '') is null
                    then 'incomplete'
                when r.purchase_date > {d}
                    or r.purchase_date < p.launch_date - {rules.purchase_before_launch_days}
                    or c.country_code is null
                    or not regexp_full_match(trim(r.serial_number), '{rules.serial_pattern}')
                    then 'invalid'
            end as failed_rule
        from registrations as r
        left join product_points as p on r.product_sku = p.product_sku
        left join countries as c on upper(trim(r.purchase_country)) = c.country_code
    ),
    serial_holders as (
        select registration_id,
            row_number() over (partition by product_sku, serial_key order by registered_at, registration_id) = 1
                as holds_serial
        from checked
        where failed_rule is null
    ),
    member_points as (
        select c.member_id, sum(c.points) as validated_points
        from checked as c
        join serial_holders as h on c.registration_id = h.registration_id and h.holds_serial
        group by c.member_id
    )

    select member_id, validated_points, case {level_cases} else '{rules.bottom_level}' end as level
    from (
        select m.member_id, coalesce(p.validated_points, 0)::bigint as validated_points
        from members as m
        left join member_points as p on m.member_id = p.member_id
    )
    """


def member_levels(inputs: BenchInputs) -> pa.Table:
    """member_id, validated_points, level for every member as of D, as an Arrow table."""
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        return connection.sql(member_levels_sql(inputs)).to_arrow_table()
    finally:
        connection.close()
