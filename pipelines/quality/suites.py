"""The expectation suites as kept in expectations/*.yml: read, checked, and turned into GX expectations.

A suite file names a default table, its warning thresholds and a list of expectations, each with its
severity beside it. `${name}` placeholders are filled from the thresholds, the dbt policy vars and the
run date, so the numbers stay in one place (see expectations/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.errors import CpsError
from pipelines.core.policy import policy
from pipelines.core.settings import EXPECTATIONS_DIR
from pipelines.core.sources import SOURCES_BY_NAME

# GX's name for a custom SQL check (the query returns the offending rows; none means success).
UNEXPECTED_ROWS = "unexpected_rows"
SOURCE_VALUE_SET_PREFIX = "source:"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Severity(StrEnum):
    CRITICAL = "critical"  # the night is not published
    WARNING = "warning"  # published, and reported


@dataclass(frozen=True)
class ExpectationSpec:
    name: str
    severity: Severity
    description: str
    type: str
    kwargs: Mapping[str, Any]
    table: str

    @property
    def column(self) -> str | None:
        column = self.kwargs.get("column")
        return str(column) if column is not None else None

    @property
    def target(self) -> str:
        """What the expectation looks at: `schema.table` or `schema.table.column`."""
        return f"{self.table}.{self.column}" if self.column else self.table


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    path: Path
    expectations: tuple[ExpectationSpec, ...] = field(default_factory=tuple)

    def tables(self) -> list[str]:
        return list(dict.fromkeys(expectation.table for expectation in self.expectations))

    def for_table(self, table: str) -> list[ExpectationSpec]:
        return [expectation for expectation in self.expectations if expectation.table == table]


def load_suites(
    as_of: date, directory: Path = EXPECTATIONS_DIR, policy_values: Mapping[str, Any] | None = None
) -> list[SuiteSpec]:
    """Every suite of the directory with its placeholders filled for the night `as_of`.

    policy_values: the night's policy (pipelines.core.policy.night_policy); the project's vars if None.
    """
    paths = sorted(directory.glob("*.yml"))
    if not paths:
        raise CpsError(f"no expectation suites found in {directory}")
    return [load_suite(path, as_of, policy_values) for path in paths]


def load_suite(path: Path, as_of: date, policy_values: Mapping[str, Any] | None = None) -> SuiteSpec:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CpsError(f"cannot read expectation suite {path}: {error}") from error
    if not isinstance(document, dict) or "suite" not in document or "table" not in document:
        raise CpsError(f"expectation suite {path} must have `suite`, `table` and `expectations`")
    night_values = policy() if policy_values is None else policy_values
    values = {**night_values, **(document.get("thresholds") or {}), "as_of_date": as_of.isoformat()}
    names: set[str] = set()
    expectations = []
    for entry in document.get("expectations") or []:
        expectation = _expectation(entry, default_table=document["table"], values=values, path=path)
        if expectation.name in names:
            raise CpsError(f"{path}: expectation name {expectation.name!r} is used twice")
        names.add(expectation.name)
        expectations.append(expectation)
    return SuiteSpec(name=str(document["suite"]), path=path, expectations=tuple(expectations))


def _expectation(
    entry: Mapping[str, Any], default_table: str, values: Mapping[str, Any], path: Path
) -> ExpectationSpec:
    missing = {"name", "severity", "type", "kwargs"} - set(entry)
    if missing:
        raise CpsError(f"{path}: expectation {entry.get('name', '?')} lacks {sorted(missing)}")
    try:
        severity = Severity(entry["severity"])
    except ValueError as error:
        raise CpsError(f"{path}: {entry['name']}: severity must be critical or warning") from error
    kwargs = {key: _fill(value, values, path) for key, value in dict(entry["kwargs"]).items()}
    if "value_set" in kwargs:
        kwargs["value_set"] = _value_set(kwargs["value_set"], path)
    return ExpectationSpec(
        name=str(entry["name"]),
        severity=severity,
        description=str(entry.get("description", entry["name"])).strip(),
        type=str(entry["type"]),
        kwargs=kwargs,
        table=str(entry.get("table", default_table)),
    )


def _fill(value: Any, values: Mapping[str, Any], path: Path) -> Any:
    """Fill `${name}` placeholders; a value that is only a placeholder keeps the named value's type.

    Only the braced form is a placeholder: a bare `$` (a regex anchor) is left alone.
    """
    if isinstance(value, list):
        return [_fill(item, values, path) for item in value]
    if not isinstance(value, str):
        return value
    names = PLACEHOLDER.findall(value)
    unknown = sorted({name for name in names if name not in values})
    if unknown:
        raise CpsError(f"{path}: unknown placeholder(s) {unknown} (not a threshold, policy var or as_of_date)")
    whole = PLACEHOLDER.fullmatch(value.strip())
    if whole:
        return values[whole.group(1)]
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), value)


def _value_set(value: Any, path: Path) -> list[Any]:
    """A literal list, or `source:<source>.<column>`: the allowed values declared in pipelines.core.sources."""
    if isinstance(value, str) and value.startswith(SOURCE_VALUE_SET_PREFIX):
        source_name, _, column_name = value.removeprefix(SOURCE_VALUE_SET_PREFIX).partition(".")
        source = SOURCES_BY_NAME.get(source_name)
        columns = {column.name: column for column in source.columns} if source else {}
        if column_name not in columns or not columns[column_name].allowed:
            raise CpsError(f"{path}: {value!r} is not an enum column of pipelines.core.sources")
        return list(columns[column_name].allowed)
    if not isinstance(value, list):
        raise CpsError(f"{path}: value_set must be a list or 'source:<source>.<column>'")
    return value
