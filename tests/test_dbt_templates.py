"""Node templates compiled once per process render exactly as dbt's own, each with its own context; the
compiled code is kept on disk for the next process."""

from __future__ import annotations

from pathlib import Path

import dbt.clients.jinja as dbt_jinja
import pytest

from pipelines.transformation import dbt_templates
from pipelines.transformation.dbt_adjustments import original

SOURCE = "select {{ a }} as a, '{{ b if b is defined else 'none' }}' as b{% if native_probe is defined %}{% endif %}"


@pytest.fixture(autouse=True)
def _patched() -> None:
    dbt_templates.compile_node_templates_once()


def test_a_source_is_compiled_once_and_each_render_reads_only_its_own_context() -> None:
    dbt_templates._compiled.pop((SOURCE, False), None)
    first = dbt_jinja.get_rendered(SOURCE, {"a": 1, "b": "x"})
    second = dbt_jinja.get_rendered(SOURCE, {"a": 2})  # no b: the first render's must not show through
    assert (first, second) == ("select 1 as a, 'x' as b", "select 2 as a, 'none' as b")
    assert (SOURCE, False) in dbt_templates._compiled


def test_renders_equal_dbt_commons_own_get_template() -> None:
    contexts = [{"a": 1, "b": "x"}, {"a": 2}, {"a": "'quoted'", "b": ""}]
    cached = [dbt_jinja.get_rendered(SOURCE, context) for context in contexts]
    own = [original(dbt_jinja, "get_template")(SOURCE, context).render(context) for context in contexts]
    assert cached == own


def test_native_rendering_keeps_its_own_compiled_code() -> None:
    source = "{{ [1, 2] | length }}{{ 1 + 2 }}"
    native, text = dbt_jinja.get_rendered(source, {}, native=True), dbt_jinja.get_rendered(source, {})
    dbt_jinja.get_template = original(dbt_jinja, "get_template")
    try:
        assert (native, text) == (dbt_jinja.get_rendered(source, {}, native=True), dbt_jinja.get_rendered(source, {}))
    finally:
        dbt_jinja.get_template = dbt_templates.get_template_compiled_once
    assert {(source, True), (source, False)} <= set(dbt_templates._compiled)


def start_another_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's cache as a new process starts it (empty, its file not read yet)."""
    for name, empty in (("_compiled", {}), ("_used", set()), ("_on_disk", {})):
        monkeypatch.setattr(dbt_templates, name, empty)


@pytest.fixture
def fresh_process_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new process's cache, its file in tmp_path."""
    monkeypatch.setenv("CPS_DBT_PARSE_CACHE", str(tmp_path))
    start_another_process(monkeypatch)


def test_a_new_process_renders_the_saved_code_without_compiling(
    fresh_process_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2

    expected = dbt_jinja.get_rendered(SOURCE, {"a": 3, "b": "y"})
    dbt_templates.save_compiled_templates()
    assert dbt_templates.code_cache_file().is_file()

    start_another_process(monkeypatch)

    def no_compile(*_: object, **__: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(jinja2.Environment, "compile", no_compile)
    assert dbt_jinja.get_rendered(SOURCE, {"a": 3, "b": "y"}) == expected
    assert dbt_jinja.get_rendered(SOURCE, {"a": 4}) == "select 4 as a, 'none' as b"


def test_the_macros_dbt_common_renders_come_from_the_same_cache(fresh_process_cache: None) -> None:
    import dbt_common.clients.jinja as dbt_common_jinja

    macro_source = "{% macro doubled(x) %}{{ x * 2 }}{% endmacro %}"
    template = dbt_common_jinja.get_template(macro_source, {})
    assert template.module.dbt_macro__doubled(21).strip() == "42"  # dbt prefixes macro names
    assert (macro_source, False) in dbt_templates._compiled


def test_an_unreadable_cache_file_is_ignored_and_replaced(
    fresh_process_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = dbt_templates.code_cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not marshal data")

    assert dbt_jinja.get_rendered(SOURCE, {"a": 5}) == "select 5 as a, 'none' as b"
    dbt_templates.save_compiled_templates()

    start_another_process(monkeypatch)
    dbt_templates.load_compiled_templates()
    assert (SOURCE, False) in dbt_templates._compiled


def test_another_version_of_jinja_or_dbt_has_a_file_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    ours = dbt_templates.code_cache_file()
    real_version = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "version", lambda package: "0.0" if package == "jinja2" else real_version(package)
    )
    dbt_templates._versions_digest.cache_clear()
    try:
        assert dbt_templates.code_cache_file() != ours
    finally:
        dbt_templates._versions_digest.cache_clear()
