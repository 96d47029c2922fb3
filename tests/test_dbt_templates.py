"""Node templates compiled once per process render exactly as dbt's own, each with its own context."""

from __future__ import annotations

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
