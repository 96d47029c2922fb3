"""Great Expectations plumbing for DuckDB: a SQL data source that works, and closes, on one warehouse file.

GX 1.x does not know the duckdb dialect. Out of the box two things break:
- every metric fails with an empty result (`list index out of range` / `'NoneType' object is not
  subscriptable`, only visible in exception_info), because GX opens a fresh connection per query;
  GX keeps one persisted connection only for the dialects it lists, so duckdb is added to that list;
- regex expectations report "not supported for dialect duckdb", because GX picks the regex operator
  from the dialect module and has none for duckdb. DuckDB understands Postgres' `~` / `!~` (a search,
  which is what GX means by "match regex" on every backend), so duckdb borrows the Postgres module.
And one thing is slow: GX reads each table's columns and primary key through SQLAlchemy, and
duckdb_engine asks DuckDB's emulated Postgres catalogue (~45 ms a query, 15 a night: 0.3 s of the
gate's 3 s of SQL). DuckDB's own catalogue functions answer the same in ~2 ms.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import great_expectations as gx
import sqlalchemy.dialects.postgresql as postgresql_dialect
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.core.batch_definition import BatchDefinition
from great_expectations.core.validation_definition import ValidationDefinition
from great_expectations.data_context import AbstractDataContext
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import sqlalchemy_execution_engine as gx_sql_engine
from great_expectations.expectations import Expectation
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from sqlalchemy import text
from sqlalchemy import types as sql_types
from sqlalchemy.engine import Connection, Dialect

from pipelines.core.runlog import quiet_library_loggers
from pipelines.core.warehouse import memory_limit
from pipelines.quality.suites import UNEXPECTED_ROWS, ExpectationSpec, SuiteSpec

quiet_library_loggers()  # after Great Expectations' imports, which set one of its loggers to INFO

DUCKDB_DIALECT = "duckdb"


class _DialectName(str):
    """A dialect name GX can compare like its own enum members (they expose `.value`)."""

    @property
    def value(self) -> str:
        return str(self)


def _keep_one_duckdb_connection() -> None:
    persisted = gx_sql_engine._PERSISTED_CONNECTION_DIALECTS
    if DUCKDB_DIALECT not in persisted:
        gx_sql_engine._PERSISTED_CONNECTION_DIALECTS = (*persisted, _DialectName(DUCKDB_DIALECT))


# SQLAlchemy's type for each DuckDB base type a suite's table may hold (others: NullType, which GX
# accepts; no expectation here checks a column's type).
_SQL_TYPES: dict[str, type[sql_types.TypeEngine[Any]]] = {
    "VARCHAR": sql_types.String,
    "BOOLEAN": sql_types.Boolean,
    "TINYINT": sql_types.SmallInteger,
    "SMALLINT": sql_types.SmallInteger,
    "INTEGER": sql_types.Integer,
    "BIGINT": sql_types.BigInteger,
    "HUGEINT": sql_types.Numeric,
    "DECIMAL": sql_types.Numeric,
    "FLOAT": sql_types.Float,
    "DOUBLE": sql_types.Float,
    "DATE": sql_types.Date,
    "TIMESTAMP": sql_types.DateTime,
    "TIMESTAMP WITH TIME ZONE": sql_types.DateTime,
}


def _catalogue_rows(
    connection: Connection, columns: str, function: str, table_name: str, schema: str | None, condition: str = "true"
) -> list[Any]:
    """One table's rows of a DuckDB catalogue function (duckdb_columns(), duckdb_constraints())."""
    query = f"select {columns} from {function} where schema_name = :schema and table_name = :table and {condition}"
    return list(connection.execute(text(query), {"schema": schema or "main", "table": str(table_name)}).fetchall())


def _columns_from_duckdb(
    connection: Connection, table_name: str, schema: str | None = None, **_: Any
) -> list[dict[str, Any]]:
    """SQLAlchemy's reflected columns of a table or view, from DuckDB's own catalogue."""
    rows = _catalogue_rows(
        connection, "column_name, data_type, is_nullable, column_index", "duckdb_columns()", table_name, schema
    )
    return [
        {
            "name": name,
            "type": _SQL_TYPES.get(data_type.split("(")[0], sql_types.NullType)(),
            "nullable": bool(nullable),
            "default": None,
        }
        for name, data_type, nullable, _ in sorted(rows, key=lambda row: row[3])
    ]


def _primary_key_from_duckdb(
    connection: Connection, table_name: str, schema: str | None = None, **_: Any
) -> dict[str, Any]:
    rows = _catalogue_rows(
        connection,
        "constraint_column_names",
        "duckdb_constraints()",
        table_name,
        schema,
        "constraint_type = 'PRIMARY KEY'",
    )
    return {"constrained_columns": list(rows[0][0]) if rows else [], "name": None}


def _reflect_from_duckdb_catalogue(dialect: Dialect) -> None:
    """Make this engine's dialect (an instance: nothing global) read columns and keys from DuckDB's catalogue."""
    dialect.get_columns = _columns_from_duckdb  # type: ignore[method-assign]
    dialect.get_pk_constraint = _primary_key_from_duckdb  # type: ignore[method-assign]


def quiet_gx() -> None:
    """GX logs every metric it cannot compute at WARNING/ERROR; the gate reports them itself."""
    logging.getLogger("great_expectations").setLevel(logging.CRITICAL)


def new_context() -> AbstractDataContext:
    """An in-memory GX context (nothing written next to the project), progress bars off."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    quiet_gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def add_duckdb_datasource(context: AbstractDataContext, name: str, database: Path) -> SQLDatasource:
    """A GX SQL data source on one DuckDB file, with the two duckdb fixes applied to its engine."""
    _keep_one_duckdb_connection()
    # The night's memory limit; the checks only count and aggregate, so row order does not matter.
    # Read-only: the checks only read, and the night renders its reports from the same file meanwhile.
    config = {"memory_limit": memory_limit(), "preserve_insertion_order": False}
    datasource = context.data_sources.add_sql(
        name=name,
        connection_string=f"duckdb:///{database}",
        kwargs={"connect_args": {"read_only": True, "config": config}},
    )
    engine = datasource.get_execution_engine()
    engine.dialect_module = postgresql_dialect
    # the execution engine's own, and the data source's second one (table inspection)
    for sql_engine in (engine.engine, datasource.get_engine()):
        _reflect_from_duckdb_catalogue(sql_engine.dialect)
    return datasource


def close_datasource(datasource: SQLDatasource) -> None:
    """Close the persisted connection and dispose of the engine: the warehouse file must be free."""
    engine = datasource.get_execution_engine()
    connection = getattr(engine, "_connection", None)
    if connection is not None:
        connection.close()
        engine._connection = None
    engine.engine.dispose()
    # The data source keeps a second engine of its own (connection tests, table inspection).
    datasource.get_engine().dispose()


@contextmanager
def duckdb_datasource(context: AbstractDataContext, name: str, database: Path) -> Iterator[SQLDatasource]:
    datasource = add_duckdb_datasource(context, name, database)
    try:
        yield datasource
    finally:
        close_datasource(datasource)


@dataclass(frozen=True)
class ValidationGroup:
    """Expectations GX validates together: one suite, one table, one kind (column checks or custom SQL)."""

    suite: SuiteSpec
    table: str
    custom_sql: bool

    @property
    def specs(self) -> list[ExpectationSpec]:
        return [spec for spec in self.suite.for_table(self.table) if (spec.type == UNEXPECTED_ROWS) == self.custom_sql]

    @property
    def gx_name(self) -> str:
        return gx_suite_name(self.suite.name, self.table, self.custom_sql)


@dataclass(frozen=True)
class GroupValidation:
    """A group as GX validated it, or why it could not."""

    group: ValidationGroup
    result: ExpectationSuiteValidationResult | None
    error: str | None = None


# Column checks report counts and a few unexpected values, never the full list (millions of rows);
# custom SQL checks keep (up to 200 of) the offending rows: they are the reason. GX applies one result
# format per checkpoint run (it overrides each expectation's own), hence one checkpoint per kind.
RESULT_FORMATS = {
    False: {"result_format": "SUMMARY", "partial_unexpected_count": 20},
    True: {"result_format": "COMPLETE"},
}


def gx_suite_name(suite_name: str, table: str, custom_sql: bool) -> str:
    """GX's name for a validation group (no dots: GX turns them into folders)."""
    return f"{suite_name}-{table.replace('.', '-')}" + ("-sql" if custom_sql else "")


def groups_of(suites: list[SuiteSpec]) -> list[ValidationGroup]:
    groups = [
        ValidationGroup(suite, table, custom_sql)
        for suite in suites
        for table in suite.tables()
        for custom_sql in (False, True)
    ]
    return [group for group in groups if group.specs]


# The column each row of an UnexpectedRowsCountedOnce query carries: how many rows the query gives.
ROW_COUNT_COLUMN = "cps_unexpected_row_count"


class UnexpectedRowsCountedOnce(gx.expectations.UnexpectedRowsExpectation):
    """GX's UnexpectedRowsExpectation with its query run once, not twice.

    GX runs the query once to count its rows and once more to read (up to 200 of) them: at a million
    members a share check scanned the ~8 M registrations twice. Here the query's rows carry their
    count (a window over the query, see to_gx_expectation), and the rows read give both."""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.table",)

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,
        execution_engine: Any = None,
    ) -> Any:
        rows = metrics["unexpected_rows_query.table"]
        count = int(rows[0][ROW_COUNT_COLUMN]) if rows else 0
        rows = [{key: value for key, value in row.items() if key != ROW_COUNT_COLUMN} for row in rows]
        counted = {"unexpected_rows_query.table": rows, "unexpected_rows_query.row_count": count}
        return super()._validate(counted, runtime_configuration, execution_engine)


def to_gx_expectation(spec: ExpectationSpec) -> Expectation:
    """The GX expectation for a suite entry; name and severity travel in `meta`."""
    meta = {"name": spec.name, "severity": str(spec.severity), "description": spec.description}
    if spec.type == UNEXPECTED_ROWS:
        query = str(spec.kwargs["unexpected_rows_query"]).strip().rstrip(";")
        counted = f"select *, count(*) over () as {ROW_COUNT_COLUMN}\nfrom (\n{query}\n) as unexpected_rows"
        return UnexpectedRowsCountedOnce(
            **{**spec.kwargs, "unexpected_rows_query": counted},
            meta=meta,
            description=f"[{spec.severity}] {spec.description}",
        )
    return ExpectationConfiguration(type=spec.type, kwargs=dict(spec.kwargs), meta=meta).to_domain_obj()


def validate_suites(
    context: AbstractDataContext, datasource: SQLDatasource, suites: list[SuiteSpec]
) -> list[GroupValidation]:
    """Run every suite on its tables (results land in the context, for Data Docs).

    A table that cannot be opened (missing view, broken SQL) does not stop the others: its
    expectations come back with the error and count as "could not evaluate".
    """
    definitions: dict[bool, list[tuple[ValidationGroup, ValidationDefinition]]] = {False: [], True: []}
    failed: list[GroupValidation] = []
    assets: dict[str, BatchDefinition] = {}
    for group in groups_of(suites):
        try:
            if group.table not in assets:
                schema_name, _, table_name = group.table.rpartition(".")
                asset = datasource.add_table_asset(name=group.table, table_name=table_name, schema_name=schema_name)
                assets[group.table] = asset.add_batch_definition_whole_table(name=f"{group.table} (whole table)")
            gx_suite = context.suites.add(
                gx.ExpectationSuite(name=group.gx_name, expectations=[to_gx_expectation(s) for s in group.specs])
            )
        except Exception as error:  # noqa: BLE001 - GX raises many types; each becomes a gate failure
            failed.append(GroupValidation(group, None, error=_one_line(error)))
            continue
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=group.gx_name, data=assets[group.table], suite=gx_suite)
        )
        definitions[group.custom_sql].append((group, definition))
    validated: list[GroupValidation] = []
    for custom_sql, entries in definitions.items():
        if not entries:
            continue
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"cps-quality-{'sql' if custom_sql else 'columns'}",
                validation_definitions=[definition for _, definition in entries],
                actions=[],
                result_format=RESULT_FORMATS[custom_sql],
            )
        )
        by_name = {result.suite_name: result for result in checkpoint.run().run_results.values()}
        validated += [GroupValidation(group, by_name.get(group.gx_name)) for group, _ in entries]
    return failed + validated


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}"
