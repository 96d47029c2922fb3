"""One typed settings object for paths and options: flags, then CPS_* variables, then defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


def utc_today() -> date:
    return datetime.now(UTC).date()


def dbt_artifacts_dir(warehouse: Path) -> Path:
    """dbt's target and logs for the nights of `warehouse` (its saved parse among them)."""
    return warehouse.parent / ".dbt"


class Settings(BaseSettings):
    """Where the platform reads and writes, and for which night."""

    model_config = SettingsConfigDict(env_prefix="CPS_", extra="ignore")

    inbox: Path = Field(default=Path("data/inbox"), description="Inbox with one folder per source")
    catalog: Path = Field(
        default=PROJECT_ROOT / "catalog",
        description="Folder holding products.csv and service_centres.csv",
    )
    warehouse: Path = Field(default=Path("data/warehouse/cps.duckdb"), description="Published DuckDB warehouse")
    reports: Path = Field(default=Path("data/reports"), description="Reports output folder")
    as_of: date = Field(default_factory=utc_today, description="Run date D (UTC)")
    logs: Path = Field(default=Path("data/logs"), description="One log file per run, with the full detail")
    prefect_home: Path = Field(default=Path("data/prefect"), description="Prefect's local home")
    schedule_cron: str = Field(default="0 2 * * *", description="Nightly schedule for cps serve")
    schedule_timezone: str = Field(default="Europe/London", description="Time zone of the cron")
    prefect_temporary_server: bool = Field(
        default=False,
        description=(
            "Without PREFECT_API_URL: start a temporary Prefect server for the run, so that it is recorded "
            "as a flow run in PREFECT_HOME's database (~7-10 s more); off: the night runs its steps "
            "directly, without Prefect"
        ),
    )
    dbt_node_tasks: bool | None = Field(
        default=None,
        description=(
            "Show every dbt model and test as its own Prefect task (costs a little time per node; needs a "
            "Prefect server); unset: on when the run reports to a Prefect server, off with a temporary one"
        ),
    )
    # dbt's profile reads it from the environment (a night sets it, apply_dbt_threads); a bad value is
    # wrong usage found before any work, not a failed dbt build after the ingestion.
    dbt_threads: int = Field(default=2, ge=1, le=64, description="dbt's threads: models built at once")
    accept_rejected: bool = Field(
        default=False,
        description="Publish the night even though inbox files were rejected (the summary lists them)",
    )
    progress: Literal["auto", "always", "never"] = Field(
        default="auto",
        description=(
            "Progress lines on stderr while a command works: auto (only when stderr is a terminal, so that "
            "a scheduler or a script capturing the output gets the result alone: the summary on stdout, or "
            "one line on stderr when the run fails), always, or never; the run log has them in every case"
        ),
    )
    lock_wait_seconds: float = Field(default=0.0, description="How long a nightly run waits for another run's lock")
    allow_future: bool = Field(default=False, description="Accept a run date later than tomorrow (UTC)")
    full_refresh: bool = Field(
        default=False,
        description="Rebuild tonight's state from all records instead of only what changed since the current night",
    )
    duckdb_memory_limit: str = Field(
        default="1.5GB",
        pattern=r"(?i)^\s*\d+(\.\d+)?\s*([KMGT]i?B|%)\s*$",
        description=(
            "Most memory DuckDB may use for each database a night opens (ingestion, dbt, quality gate, "
            "reports; DuckDB's memory_limit, e.g. 1.5GB or 800MB); larger work spills to a folder beside "
            "the database file"
        ),
    )
    # Not a command-line flag: policy values that differ from dbt_project.yml for this run (tests of a
    # policy change between nights). Passed to dbt as vars and part of the policy hash the night records.
    policy_overrides: dict[str, int | float] = Field(
        default_factory=dict,
        description="Policy values overriding dbt_project.yml vars for this run (by name)",
    )

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the command-line flags that were given (None means 'not given')."""
        given = {key: value for key, value in overrides.items() if value is not None}
        return self.model_copy(update=given)

    def resolved(self) -> Settings:
        """The same settings with absolute paths (steps may run from other folders, e.g. GX's stores)."""
        paths = {name: getattr(self, name).resolve() for name in ("inbox", "catalog", "warehouse", "reports", "logs")}
        return self.model_copy(update=paths)

    @property
    def build_dir(self) -> Path:
        """Where a night is built aside before it is published (same file name, see publish)."""
        return self.warehouse.parent / ".build"

    @property
    def dbt_artifacts_dir(self) -> Path:
        """dbt's target and logs; kept between nights so dbt can re-use its parse (runs are locked)."""
        return dbt_artifacts_dir(self.warehouse)

    @property
    def lock_file(self) -> Path:
        return self.warehouse.with_name(self.warehouse.name + ".lock")
