"""Are the published marts the same at two git revisions? Builds one night at each, on the same inputs.

    uv run python scripts/compare_marts.py [--base 6f5c5b1] [--head HEAD] [--members 300] [--seed 7]
                                           [--as-of 2026-10-20,2026-11-20] [--workdir DIR] [--keep]

Each revision is checked out in a temporary git worktree and runs its own `cps nightly` (with this
environment's Python and packages, the revision's own code, dbt project and catalogue) on one inbox,
generated once by the base revision with a fixed seed as of the last night; with several nights (in
order), the history, level changes and welcome packs cover them all. Then every marts table of both
warehouses is read ordered by its key and hashed (sha256 of its rows), over the columns both
revisions publish; columns only one revision has are listed, not compared. Exit 0 when every table
both revisions publish is equal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
# The key each published table is ordered by (its grain); a table not listed is ordered by every column.
TABLE_KEYS = {
    "dim_products": ["product_sku"],
    "dim_members": ["member_id"],
    "fct_registrations": ["registration_id"],
    "fct_member_levels": ["member_id", "as_of_date"],
    "fct_level_changes": ["member_id", "as_of_date"],
    "fct_service_jobs": ["job_id"],
    "rpt_invitations": ["member_id", "as_of_date"],
    "rpt_completion_campaign": ["member_id", "as_of_date"],
    "rpt_welcome_packs": ["member_id"],
    "rpt_action_required": ["registration_id"],
}


@dataclass(frozen=True)
class TableDigest:
    rows: int
    sha256: str


def run(command: list[str], cwd: Path, log: Path) -> None:
    """Run one command of a revision with its own code first on the import path; raise with the log's tail."""
    environment = {**os.environ, "PYTHONPATH": str(cwd), "CPS_DBT_THREADS": os.environ.get("CPS_DBT_THREADS", "1")}
    environment.pop("PREFECT_API_URL", None)
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}  (in {cwd})\n")
        out.flush()
        finished = subprocess.run(command, cwd=cwd, env=environment, stdout=out, stderr=subprocess.STDOUT)
    if finished.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        raise SystemExit(f"{' '.join(command[2:4])} failed in {cwd} (exit {finished.returncode}):\n" + "\n".join(tail))


def checkout(revision: str, folder: Path) -> Path:
    command = ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(folder), revision]
    subprocess.run(command, check=True)
    return folder


def cps(*arguments: str) -> list[str]:
    return [sys.executable, "-c", "from pipelines.cli import main; main()", *arguments]


def marts_columns(connection: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = connection.execute(
        "select table_name, column_name from information_schema.columns"
        " where table_schema = 'marts' order by table_name, ordinal_position"
    ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def digest(connection: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> TableDigest:
    key = [column for column in TABLE_KEYS.get(table, []) if column in columns]
    order = ", ".join(f'"{column}"' for column in [*key, *(c for c in columns if c not in key)])
    selected = ", ".join(f'"{column}"' for column in columns)
    hasher = hashlib.sha256()
    rows = 0
    cursor = connection.execute(f"select {selected} from marts.{table} order by {order}")
    while batch := cursor.fetchmany(10_000):
        for row in batch:
            hasher.update(repr(tuple(str(value) if value is not None else None for value in row)).encode())
            rows += 1
    return TableDigest(rows, hasher.hexdigest())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="6f5c5b1", help="revision before (default: 6f5c5b1, before the redesign)")
    parser.add_argument("--head", default="HEAD", help="revision after (default: HEAD)")
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--as-of", default="2026-10-20,2026-11-20", help="the nights to build, in order (YYYY-MM-DD, comma-separated)"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where to build (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the worktrees and warehouses")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="compare-marts-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "compare.log"
    nights = [night.strip() for night in args.as_of.split(",") if night.strip()]
    revisions = {"base": args.base, "head": args.head}
    trees = {name: checkout(revision, workdir / f"tree-{name}") for name, revision in revisions.items()}
    try:
        inbox = workdir / "inbox"
        run(cps("generate", "--members", str(args.members), "--seed", str(args.seed),
                "--as-of", nights[-1], "--out", str(inbox)), trees["base"], log)  # fmt: skip
        warehouses = {}
        for name, tree in trees.items():
            warehouses[name] = workdir / f"{name}.duckdb"
            paths = ["--inbox", str(inbox), "--catalog", str(tree / "catalog"), "--warehouse", str(warehouses[name])]
            for night in nights:
                run(cps("nightly", "--as-of", night, *paths, "--reports", str(workdir / f"reports-{name}")), tree, log)
        return compare(warehouses, revisions, args)
    finally:
        if not args.keep:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def compare(warehouses: dict[str, Path], revisions: dict[str, str], args: argparse.Namespace) -> int:
    connections = {name: duckdb.connect(str(path), read_only=True) for name, path in warehouses.items()}
    try:
        columns = {name: marts_columns(connection) for name, connection in connections.items()}
        print(f"marts of {revisions['base']} (base) and {revisions['head']} (head): {args.members} members, "
              f"seed {args.seed}, nights {args.as_of}")  # fmt: skip
        all_equal = True
        for table in sorted(set(columns["base"]) | set(columns["head"])):
            if table not in columns["base"] or table not in columns["head"]:
                print(f"{table:<26} only in {'head' if table in columns['head'] else 'base'}")
                continue
            common = [column for column in columns["base"][table] if column in columns["head"][table]]
            digests = {name: digest(connections[name], table, common) for name in connections}
            equal = digests["base"] == digests["head"]
            all_equal &= equal
            print(f"{table:<26} {digests['base'].rows:>7} rows  {digests['base'].sha256[:16]}  "
                  f"{digests['head'].sha256[:16]}  {'equal' if equal else 'DIFFERENT'}")  # fmt: skip
            added = [column for column in columns["head"][table] if column not in columns["base"][table]]
            removed = [column for column in columns["base"][table] if column not in columns["head"][table]]
            if added or removed:
                print(f"{'':<26} columns added: {', '.join(added) or '-'}; removed: {', '.join(removed) or '-'}")
        print("all marts equal" if all_equal else "marts differ")
        return 0 if all_equal else 1
    finally:
        for connection in connections.values():
            connection.close()


if __name__ == "__main__":
    sys.exit(main())
