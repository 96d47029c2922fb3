"""dbt's saved parse kept for the whole project, so that a new warehouse starts from it, and never
kept across a change of the project.

dbt saves its parse of the project (partial_parse.msgpack) in its target folder and re-uses it there,
checking it against the project: the nights of one warehouse keep theirs (`.dbt/` beside the file). A
new warehouse had none, so its first night parsed every model, macro and test again: ~3 CPU-s and
~2.5 s of a small first night (the demo's, each test's, a warehouse started afresh).

Every parse (the platform passes dbt no vars: even policy overrides go through raw.run_context) is now
also kept in a cache folder, one file per DuckDB file name (the name is DuckDB's catalog name, which
dbt's check includes: dbt_parse_key.py) and project. A target folder without a saved parse starts
from it.

A saved parse serves only the project it was made from (build_plan.project_sha256, written beside it):
after any change of the project's files it is dropped, and dbt parses in full. dbt's own check
re-parses only what it finds changed, and misses some changes: after a macro that models call in
their config() changed (incremental_nights.sql's recomputed_keys_config), dbt re-parsed some of those
models and kept the old configuration of another (int_registration_status kept its old strategy and
pre-hook), silently. A full parse after a deployment costs a few seconds once.

The folder: CPS_DBT_PARSE_CACHE, by default data/.cache/dbt-parse in the project. A cache that cannot
be read or written is skipped: dbt then parses, as before.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from pipelines.core.files import write_beside_then_rename
from pipelines.core.settings import PROJECT_ROOT

PARSE_CACHE_VARIABLE = "CPS_DBT_PARSE_CACHE"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"  # dbt's saved parse, in its target folder
PROJECT_SUFFIX = ".project-sha256"  # beside it: the project it was made from


def parse_cache_dir() -> Path:
    return Path(os.environ.get(PARSE_CACHE_VARIABLE) or PROJECT_ROOT / "data" / ".cache" / "dbt-parse")


def cached_parse(database: Path, project: str) -> Path:
    """The cached parse for a DuckDB file's name and a project digest (project_sha256)."""
    return parse_cache_dir() / f"{database.name}.{project[:16]}.{PARTIAL_PARSE_FILE}"


def saved_parse(artifacts_dir: Path) -> Path:
    return artifacts_dir / "target" / PARTIAL_PARSE_FILE


def project_of(parse: Path) -> Path:
    """The file beside a saved parse that names the project it was made from (project_sha256)."""
    return parse.with_name(parse.name + PROJECT_SUFFIX)


def made_from(parse: Path, project: str) -> bool:
    """Whether a saved parse was made from the project with this digest (no record: not known, no)."""
    try:
        return parse.is_file() and project_of(parse).read_text(encoding="utf-8").strip() == project
    except OSError:
        return False


def record_project(artifacts_dir: Path, project: str) -> None:
    """Name the project beside the folder's saved parse, after a dbt command saved it for that project."""
    saved = saved_parse(artifacts_dir)
    if saved.is_file():
        project_of(saved).write_text(project, encoding="utf-8")


def drop_stale_parse(artifacts_dir: Path, project: str) -> None:
    """Remove the folder's saved parse unless it was made from this project: dbt then parses in full."""
    saved = saved_parse(artifacts_dir)
    if saved.exists() and not made_from(saved, project):
        saved.unlink(missing_ok=True)
        project_of(saved).unlink(missing_ok=True)


def _place(parse: Path, artifacts_dir: Path, project: str) -> None:
    """Copy a parse of `project` into an artifacts folder that has none, with the project named beside it."""
    target = saved_parse(artifacts_dir)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(parse, target)
        project_of(target).write_text(project, encoding="utf-8")


def start_from(saved: Path, artifacts_dir: Path, project: str) -> None:
    """Copy a saved parse of this project into an artifacts folder that has none."""
    if made_from(saved, project):
        _place(saved, artifacts_dir, project)


def start_from_cache(database: Path, artifacts_dir: Path, project: str) -> None:
    """Start an artifacts folder that has no saved parse from the cached one for `database` and the project
    (the project is in the cached file's name)."""
    cached = cached_parse(database, project)
    try:
        if cached.is_file():
            _place(cached, artifacts_dir, project)
    except OSError as error:
        logging.getLogger(__name__).info("dbt parse cache not read: %s", error)


def keep_in_cache(database: Path, artifacts_dir: Path, project: str) -> None:
    """Keep the artifacts folder's saved parse as the cached one for `database` and the project, if it is
    newer; the cached parses of other projects for `database` go.

    Written aside and renamed into place: a reader (another night, another test worker) never sees
    half a file."""
    saved, cached = saved_parse(artifacts_dir), cached_parse(database, project)
    try:
        if not made_from(saved, project) or (cached.is_file() and cached.stat().st_mtime >= saved.stat().st_mtime):
            return
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_beside_then_rename(cached, lambda partial: shutil.copyfile(saved, partial))
        for other in cached.parent.glob(f"{database.name}.*.{PARTIAL_PARSE_FILE}"):
            if other != cached:
                other.unlink(missing_ok=True)
    except OSError as error:
        logging.getLogger(__name__).info("dbt parse cache not written: %s", error)
