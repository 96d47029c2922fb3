"""The architecture as tests: Python stages import only downwards, dbt data only walks forward, and no
block of policy or report code is written twice. Read from the source text; nothing is run."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pipelines' stages, lowest first: a module may import its own stage and the ones before it.
STAGES = ("core", "ingestion", "transformation", "quality", "publishing", "flows", "cli")
# The command line may start the tools, lazily, from these commands only (never on the nightly path;
# `cps demo` generates its inbox).
CLI_COMMANDS_USING_TOOLS = {"generate", "bench", "demo"}
# dbt layers in the order data walks; a model may read its own layer and the ones before it.
LAYERS = ("staging", "intermediate", "marts")


def python_files(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, str | None]]:
    """(imported module, the top-level function it is imported in, None at module level)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, str | None]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inside = function
            if function is None and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inside = child.name
            if isinstance(child, ast.Import):
                found.extend((alias.name, inside) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((child.module, inside))
                # `from pipelines import x` imports the module pipelines.x
                found.extend((f"{child.module}.{alias.name}", inside) for alias in child.names)
            visit(child, inside)

    visit(tree, None)
    return found


def stage_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "pipelines" or len(parts) < 2:
        return None
    return STAGES.index(parts[1]) if parts[1] in STAGES else None


def test_pipelines_stages_import_only_their_own_stage_and_lower_ones() -> None:
    upward = []
    for path in python_files("pipelines"):
        importer = module_name(path)
        own = stage_of(importer)
        for imported, _ in imports(path):
            target = stage_of(imported)
            if own is not None and target is not None and target > own:
                upward.append(f"{importer} -> {imported}")
    assert upward == [], upward


def test_every_pipelines_module_belongs_to_a_stage() -> None:
    loose = [module_name(path) for path in python_files("pipelines") if module_name(path) != "pipelines"]
    assert [name for name in loose if stage_of(name) is None] == []


def test_reports_import_only_the_core_of_pipelines() -> None:
    reaching = [
        f"{module_name(path)} -> {imported}"
        for path in python_files("reports")
        for imported, _ in imports(path)
        if imported.startswith("pipelines.") and not imported.startswith("pipelines.core")
    ]
    assert reaching == [], reaching


def test_pipelines_start_the_tools_only_lazily_from_their_commands() -> None:
    uses = [
        (module_name(path), imported, function)
        for path in python_files("pipelines")
        for imported, function in imports(path)
        if imported == "tools" or imported.startswith("tools.")
    ]
    allowed = [use for use in uses if use[0] == "pipelines.cli" and use[2] in CLI_COMMANDS_USING_TOOLS]
    assert sorted(set(uses) - set(allowed)) == []


def dbt_models() -> dict[str, tuple[str, set[str]]]:
    """Model name -> (layer, the models it refs)."""
    models = {}
    for path in (ROOT / "dbt" / "models").rglob("*.sql"):
        layer = path.parent.name
        refs = set(re.findall(r"\bref\(\s*['\"](\w+)['\"]\s*\)", path.read_text(encoding="utf-8")))
        models[path.stem] = (layer, refs)
    return models


def test_every_dbt_model_sits_in_a_domain_and_a_layer() -> None:
    misplaced = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "dbt" / "models").rglob("*.sql")
        if path.parent.name not in LAYERS or len(path.relative_to(ROOT / "dbt" / "models").parts) != 3
    ]
    assert misplaced == []


def test_dbt_data_walks_forward_no_staging_or_intermediate_model_reads_a_mart() -> None:
    models = dbt_models()
    backward = {
        (name, ref)
        for name, (layer, refs) in models.items()
        for ref in refs
        if ref in models and LAYERS.index(models[ref][0]) > LAYERS.index(layer)
    }
    assert backward == set(), f"models reading a later layer: {sorted(backward)}"


# --- duplicate code --------------------------------------------------------------------------------
MIN_LINES = 6


def significant_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, the line with white space folded), without blanks, comments and imports."""
    comment = "--" if path.suffix == ".sql" else "#"
    kept = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = " ".join(line.split())
        if not text or text.startswith(comment) or text.startswith(("import ", "from ", "{#", "#}")):
            continue
        if len(text) <= 2:  # lone punctuation: ), ], ),
            continue
        kept.append((number, text))
    return kept


def repeated_blocks(paths: list[Path]) -> list[str]:
    """Places where MIN_LINES significant lines in a row stand again, identical, elsewhere."""
    seen: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for path in paths:
        lines = significant_lines(path)
        for start in range(len(lines) - MIN_LINES + 1):
            window = tuple(text for _, text in lines[start : start + MIN_LINES])
            seen[window].append(f"{path.relative_to(ROOT)}:{lines[start][0]}")
    return sorted({" ~ ".join(places[:2]) for places in seen.values() if len(places) > 1})


def test_no_block_of_policy_code_is_written_twice() -> None:
    policy_code = [
        *sorted((ROOT / "dbt" / "models").rglob("*.sql")),
        *sorted((ROOT / "dbt" / "macros").rglob("*.sql")),
        ROOT / "pipelines" / "core" / "policy.py",
        *python_files("tools/bench"),
        ROOT / "pipelines" / "publishing" / "explain.py",
    ]
    assert repeated_blocks(policy_code) == []


def test_the_duplicate_check_finds_a_repeated_block(tmp_path: Path) -> None:
    block = "\n".join(f"value_{number} = compute({number})" for number in range(MIN_LINES))
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text(f"# one\n{block}\n", encoding="utf-8")
    second.write_text(f"x = 1\n\n{block}\n", encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert repeated_blocks([first, second]) == ["a.py:2 ~ b.py:3"]
    finally:
        ROOT = saved
