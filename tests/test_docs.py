"""docs/ARCHITECTURE.md's table of rules names files, dbt models and dbt doc blocks that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
MODELS = ROOT / "dbt" / "models"
TABLE_HEADING = "## Where each rule lives"


def rule_rows() -> list[tuple[str, str, str]]:
    """(rule, owned by, explained in) for each row of the table."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("rule", "---"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def model_names() -> set[str]:
    return {path.stem for path in MODELS.rglob("*.sql")}


def doc_block_names() -> set[str]:
    names: set[str] = set()
    for path in MODELS.rglob("*.md"):
        names.update(re.findall(r"{%\s*docs\s+(\w+)\s*%}", path.read_text(encoding="utf-8")))
    return names


def named(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def missing_owner(name: str) -> bool:
    """A name with a slash or a file suffix is a path from the repository root; any other is a dbt model."""
    if "/" in name or "." in name:
        return not (ROOT / name).exists()
    return name not in model_names()


def test_the_table_covers_the_rules_a_newcomer_looks_for() -> None:
    rules = " ".join(rule for rule, _, _ in rule_rows()).lower()
    for topic in ("registration status", "decay", "levels", "tiers", "invitation", "completion campaign",
                  "welcome pack", "level changes", "fast track", "loans", "backfill", "rejection",
                  "quarantine", "catalogue snapshot", "exit codes"):  # fmt: skip
        assert topic in rules, f"no row for {topic!r} in {ARCHITECTURE.name}"


@pytest.mark.parametrize(("rule", "owners", "explained"), rule_rows(), ids=[row[0][:40] for row in rule_rows()])
def test_every_named_file_model_and_doc_block_exists(rule: str, owners: str, explained: str) -> None:
    assert named(owners), f"{rule!r} names no owner"
    missing = [name for name in named(owners) if missing_owner(name)]
    if explained.startswith("doc"):
        missing += [f"doc {name}" for name in named(explained) if name not in doc_block_names()]
    elif explained != "this page":
        missing += [name for name in named(explained) if missing_owner(name)]
    assert not missing, f"{rule!r} names what does not exist: {missing}"


def test_every_doc_block_is_used_by_a_model_description() -> None:
    used = "\n".join(path.read_text(encoding="utf-8") for path in MODELS.rglob("*.yml"))
    unused = sorted(name for name in doc_block_names() if f'doc("{name}")' not in used)
    assert unused == [], f"doc blocks no model description shows: {unused}"
