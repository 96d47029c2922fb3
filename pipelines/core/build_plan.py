"""Incremental or full: how much of tonight's state dbt recomputes.

A new night D after the current night C recomputes only what can have changed since C (see the
README, "Incremental nights"): the registrations whose records, dates, products or serial groups
moved in (C, D], and the members holding them. Everything else keeps the row stored at C. That is
exact only while the stored rows were computed by the same rules from the same catalogue, so the
night is rebuilt in full when any of those differs from what night C recorded in raw.nights, when
the operator asks for it, and for the kinds of run the stored state does not describe (first
night, re-run, backfill).

The fingerprints live here (core) because both the decision and the nights ledger
(pipelines/publishing/nights.py, which records them per night) need them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.nights import NightKind
from pipelines.core.policy import night_policy
from pipelines.core.settings import DBT_PROJECT_DIR
from pipelines.core.warehouse import connect

CATALOGUE_FILES = ("products.csv", "service_centres.csv")
# What the stored rows were computed with besides policy and catalogue: the models, macros and seeds;
# and the data tests: an incremental night checks only the rows it rewrote, so a changed check must
# read them all (a full rebuild).
PROJECT_FOLDERS = ("models", "macros", "seeds", "tests")


def catalogue_hashes(catalog_dir: Path) -> str:
    parts = []
    for name in CATALOGUE_FILES:
        digest = hashlib.sha256((catalog_dir / name).read_bytes()).hexdigest()
        parts.append(f"{name}={digest}")
    return ";".join(parts)


def policy_json(overrides: Mapping[str, Any] | None = None) -> str:
    """The policy a night uses: the project's vars with the run's overrides (Settings.policy_overrides)."""
    return json.dumps(night_policy(overrides), sort_keys=True, default=str)


def policy_sha256(overrides: Mapping[str, Any] | None = None) -> str:
    return hashlib.sha256(policy_json(overrides).encode()).hexdigest()


def project_sha256(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """One digest over the dbt project's SQL, docs and seeds (not its target or logs)."""
    digest = hashlib.sha256()
    files = [project_dir / "dbt_project.yml"]
    for folder in PROJECT_FOLDERS:
        files.extend(sorted(path for path in (project_dir / folder).rglob("*") if path.is_file()))
    for path in files:
        digest.update(path.relative_to(project_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def registrations_file_watermark(connection: duckdb.DuckDBPyConnection) -> int:
    """The highest file id of raw.registrations and raw.members rows: rows above it arrived later."""
    highest = 0
    for table in ("registrations", "members"):
        exists = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?", [table]
        ).fetchone()[0]
        if exists:
            value = connection.execute(f"select max(_file_id) from raw.{table}").fetchone()[0]
            highest = max(highest, int(value or 0))
    return highest


@dataclass(frozen=True)
class BuildPlan:
    """incremental_since: the night C whose stored rows tonight builds on; None for a full rebuild."""

    incremental_since: date | None
    reason: str = ""  # why a full rebuild (empty when incremental)
    files_after: int | None = None  # raw rows of files above this id arrived after night C was built
    # the dbt project tonight is built with, taken before the build (recorded with the night)
    project_digest: str = field(default_factory=lambda: project_sha256())

    @property
    def incremental(self) -> bool:
        return self.incremental_since is not None

    @property
    def kind(self) -> str:
        return "incremental" if self.incremental else "full"

    def describe(self) -> str:
        if self.incremental:
            return f"incremental since {self.incremental_since}"
        return f"full rebuild: {self.reason}"


def full(reason: str, project: str | None = None) -> BuildPlan:
    if project is None:
        return BuildPlan(incremental_since=None, reason=reason)
    return BuildPlan(incremental_since=None, reason=reason, project_digest=project)


@dataclass(frozen=True)
class RecordedNight:
    """What raw.nights recorded for the current night C when it was built."""

    catalogue_sha256: str | None
    policy_sha256: str | None
    project_sha256: str | None
    file_watermark: int | None


def recorded_night(database: Path, night: date) -> RecordedNight | None:
    """raw.nights' row for the published night (kind 'night'), or None when there is none."""
    if not database.exists():
        return None
    connection = connect(database, read_only=True)
    try:
        columns = {
            row[0]
            for row in connection.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'raw' and table_name = 'nights'"
            ).fetchall()
        }
        if not {"project_sha256", "file_watermark"} <= columns:
            return None  # recorded before incremental nights: nothing says what built the stored rows
        row = connection.execute(
            "select catalogue_sha256, policy_sha256, project_sha256, file_watermark from raw.nights"
            " where as_of_date = ? and kind = 'night'",
            [night],
        ).fetchone()
    finally:
        connection.close()
    return RecordedNight(*row) if row is not None else None


def plan_build(
    database: Path,
    night: date,
    current: date | None,
    kind: NightKind,
    full_refresh: bool,
    catalog_dir: Path,
    policy_overrides: Mapping[str, Any] | None = None,
) -> BuildPlan:
    """Decide for a night as of `night` built in `database` (the copy of the published warehouse)."""
    project = project_sha256()
    if full_refresh:
        return full("--full-refresh was asked for", project)
    if current is None:
        return full("no current night yet", project)
    if kind is NightKind.RERUN:
        return full(f"re-run of the current night {current}", project)
    if kind is NightKind.BACKFILL:
        return full(f"backfill of a night before the current night {current}", project)
    recorded = recorded_night(database, current)
    if recorded is None or recorded.file_watermark is None:
        return full(f"no record of how the current night {current} was built", project)
    if recorded.catalogue_sha256 != catalogue_hashes(catalog_dir):
        return full(f"the catalogue changed since {current}", project)
    if recorded.policy_sha256 != policy_sha256(policy_overrides):
        return full(f"the policy changed since {current}", project)
    if recorded.project_sha256 != project:
        return full(f"the dbt project changed since {current}", project)
    return BuildPlan(incremental_since=current, files_after=recorded.file_watermark, project_digest=project)
