"""dbt's saved parse of the project, kept whatever path the DuckDB file it builds is at.

dbt re-uses its parse (partial parsing, target/partial_parse.msgpack) only while a hash of the
profile's connection is unchanged, and dbt-duckdb puts the file's path into that hash. The platform
always builds a copy: the night's at <warehouse>/.build, `cps docs`, `cps simulate`, `cps forecast
--as-of` and `cps explain --as-of` theirs in scratch folders, each test in its own folder. Every new
path made dbt parse all models, macros and tests again: ~3 s of Python, more than the models take on
a small night. No model or macro reads the path (the catalog name, the file's name, stays in the
hash), so the path is left out; a parse saved for one copy serves any other copy of the warehouse.
"""

from __future__ import annotations

from pipelines.transformation.dbt_adjustments import original, replace_once

LEFT_OUT = ("path",)


def connection_keys_without_the_path(credentials: object) -> tuple[str, ...]:
    from dbt.adapters.duckdb.credentials import DuckDBCredentials

    own_keys = original(DuckDBCredentials, "_connection_keys")
    return tuple(key for key in own_keys(credentials) if key not in LEFT_OUT)


def parse_independent_of_the_path() -> None:
    """Make dbt's parse hash leave out the DuckDB file's path; idempotent."""
    from dbt.adapters.duckdb.credentials import DuckDBCredentials

    replace_once(DuckDBCredentials, "_connection_keys", connection_keys_without_the_path)
