"""The night's DuckDB memory limit: one setting, applied to every connection the platform opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pipelines.cli import load_settings
from pipelines.core.errors import UsageError
from pipelines.core.settings import Settings
from pipelines.core.warehouse import MEMORY_LIMIT_VARIABLE, apply_memory_limit, connect
from pipelines.quality.gx import duckdb_datasource, new_context


def database_setting(connection, name: str) -> str:  # noqa: ANN001 - a DuckDB or SQLAlchemy connection
    return str(connection.execute(f"select current_setting('{name}')").fetchone()[0]).lower()


@pytest.mark.parametrize("value", ["1.5GB", "800MB", "2GiB", "80%", " 3 gb "])
def test_memory_limit_accepts_duckdb_sizes(value: str) -> None:
    assert Settings(duckdb_memory_limit=value).duckdb_memory_limit == value


@pytest.mark.parametrize("value", ["lots", "1.5", "GB", "-1GB", "1.5GB; drop table x"])
def test_memory_limit_rejects_anything_else(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(duckdb_memory_limit=value)


def test_a_bad_value_in_the_environment_is_a_usage_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "lots")

    with pytest.raises(UsageError, match=r"^bad setting CPS_DUCKDB_MEMORY_LIMIT='lots': ") as bad:
        load_settings()
    # what to give instead, not the pattern it failed
    assert "it should be a size such as 1.5GB, 800MB or 80%" in str(bad.value)
    assert "match pattern" not in str(bad.value) and "unset it for the default" in str(bad.value)


def test_connections_get_the_limit_and_spill_beside_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    apply_memory_limit("300MB")  # what a night does with Settings.duckdb_memory_limit
    database = tmp_path / "warehouse" / "cps.duckdb"

    writer = connect(database)
    try:
        assert database_setting(writer, "memory_limit") == "286.1 mib"  # DuckDB shows 300 MB in MiB
        assert database_setting(writer, "preserve_insertion_order") == "true"
        assert Path(database_setting(writer, "temp_directory")).parent == database.parent
    finally:
        writer.close()
    unordered = connect(database, ordered=False)
    try:
        assert database_setting(unordered, "preserve_insertion_order") == "false"
    finally:
        unordered.close()
    reader = connect(database, read_only=True)
    try:
        assert database_setting(reader, "memory_limit") == "286.1 mib"
    finally:
        reader.close()


def test_the_quality_gate_engine_gets_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    apply_memory_limit("300MB")
    database = tmp_path / "cps.duckdb"
    connect(database).close()

    with (
        duckdb_datasource(new_context(), "limit_check", database) as datasource,
        datasource.get_execution_engine().engine.connect() as connection,
    ):
        result = connection.exec_driver_sql("select current_setting('memory_limit')").fetchone()
    assert result[0] == "286.1 MiB"
