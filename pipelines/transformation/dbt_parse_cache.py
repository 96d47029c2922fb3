"""dbt's saved parse kept for the whole project, so that a new warehouse starts from it.

dbt saves its parse of the project (partial_parse.msgpack) in its target folder and re-uses it there,
checking it against the project: the nights of one warehouse keep theirs (`.dbt/` beside the file). A
new warehouse had none, so its first night parsed every model, macro and test again: ~3 CPU-s and
~2.5 s of a small first night (the demo's, each test's, a warehouse started afresh).

Every parse (the platform passes dbt no vars: even policy overrides go through raw.run_context) is now
also kept in a cache folder, one file per DuckDB
file name (the name is DuckDB's catalog name, which dbt's check includes: dbt_parse_key.py). A target
folder without a saved parse starts from it. dbt still checks it as it checks its own: a changed
project is parsed again where it changed; other vars, profile or dbt version, in full.

The folder: CPS_DBT_PARSE_CACHE, by default data/.cache/dbt-parse in the project. A cache that cannot
be read or written is skipped: dbt then parses, as before.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

from pipelines.core.settings import PROJECT_ROOT

PARSE_CACHE_VARIABLE = "CPS_DBT_PARSE_CACHE"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"  # dbt's saved parse, in its target folder


def parse_cache_dir() -> Path:
    return Path(os.environ.get(PARSE_CACHE_VARIABLE) or PROJECT_ROOT / "data" / ".cache" / "dbt-parse")


def cached_parse(database: Path) -> Path:
    return parse_cache_dir() / f"{database.name}.{PARTIAL_PARSE_FILE}"


def saved_parse(artifacts_dir: Path) -> Path:
    return artifacts_dir / "target" / PARTIAL_PARSE_FILE


def start_from(saved: Path, artifacts_dir: Path) -> None:
    """Copy a saved parse into an artifacts folder that has none."""
    target = saved_parse(artifacts_dir)
    if saved.is_file() and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(saved, target)


def start_from_cache(database: Path, artifacts_dir: Path) -> None:
    """Start an artifacts folder that has no saved parse from the cached one for `database`."""
    try:
        start_from(cached_parse(database), artifacts_dir)
    except OSError as error:
        logging.getLogger(__name__).info("dbt parse cache not read: %s", error)


def keep_in_cache(database: Path, artifacts_dir: Path) -> None:
    """Keep the artifacts folder's saved parse as the cached one for `database`, if it is newer.

    Written aside and renamed into place: a reader (another night, another test worker) never sees
    half a file."""
    saved, cached = saved_parse(artifacts_dir), cached_parse(database)
    try:
        if not saved.is_file() or (cached.is_file() and cached.stat().st_mtime >= saved.stat().st_mtime):
            return
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f".{cached.name}.{os.getpid()}.{threading.get_ident()}")
        shutil.copyfile(saved, partial)
        os.replace(partial, cached)
    except OSError as error:
        logging.getLogger(__name__).info("dbt parse cache not written: %s", error)
