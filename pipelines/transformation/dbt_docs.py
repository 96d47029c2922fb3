"""The dbt project's browsable documentation, as one static page (dbt docs generate --static).

Built against a database that is not the published one (dbt-duckdb opens its file for writing,
which would lock analysts out): the night's build copy, or a copy of the published file.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.core.errors import CpsError
from pipelines.core.runlog import PROGRESS
from pipelines.transformation.dbt_runner import DbtInvocation, run_dbt, run_dbt_read_only, scratch_invocation

STATIC_PAGE = "static_index.html"


def build_static_docs(
    database: Path,
    as_of: date,
    artifacts_dir: Path,
    out_dir: Path,
    compile_: bool = True,
    manifest: Any | None = None,
    saved_parse_from: Path | None = None,
) -> Path:
    """Write the docs page to out_dir/index.html and return its path.

    compile_=False re-uses the manifest a dbt build just wrote to artifacts_dir (the night's case);
    the catalogue (tables and columns) is always read from `database`. manifest: that build's manifest
    as dbt holds it (dbt_runner.compiled_manifest): dbt then only reads `database`, opened read-only.
    saved_parse_from: dbt artifacts whose saved parse a scratch copy's dbt starts from.
    """
    started = time.perf_counter()
    command = ("docs", "generate", "--static", "--quiet")
    invocation = DbtInvocation(
        database=database, as_of=as_of, artifacts_dir=artifacts_dir, saved_parse_from=saved_parse_from
    )
    if manifest is not None:
        run_dbt_read_only(invocation, (*command, "--no-compile"), manifest)
    else:
        run_dbt(invocation, command if compile_ else (*command, "--no-compile"))
    page = artifacts_dir / "target" / STATIC_PAGE
    if not page.is_file():
        raise CpsError(f"dbt docs generate wrote no {STATIC_PAGE} in {page.parent}")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "index.html"
    shutil.copyfile(page, target)
    PROGRESS.info("docs %s %.1f s", target, time.perf_counter() - started)
    return target


def build_docs_from_published(warehouse: Path, as_of: date, out_dir: Path) -> Path:
    """`cps docs`: the docs of the published night, built on a throw-away copy of the warehouse."""
    if not warehouse.is_file():
        raise CpsError(f"no warehouse at {warehouse}: run `cps nightly` first (or set --warehouse)")
    with tempfile.TemporaryDirectory(prefix="cps-docs-") as scratch_dir:
        invocation = scratch_invocation(warehouse, Path(scratch_dir), as_of)
        return build_static_docs(
            invocation.database, as_of, invocation.artifacts_dir, out_dir, saved_parse_from=invocation.saved_parse_from
        )
