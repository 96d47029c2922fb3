"""dbt's behaviour-flag source, found from the frames' module names: the same answer as dbt-common's."""

from __future__ import annotations

from pipelines.transformation.dbt_flag_source import (
    dbt_commons_own_source,
    first_calling_module,
    use_cheap_flag_source,
)


def test_the_flag_source_is_the_calling_module_as_dbt_common_finds_it() -> None:
    assert first_calling_module() == dbt_commons_own_source()() == __name__


def test_dbt_adapters_flags_name_the_adapter_module() -> None:
    use_cheap_flag_source()
    from dbt_common.behavior_flags import Behavior

    def created_by_an_adapter() -> str:
        flags = Behavior([{"name": "probe_flag", "default": False, "description": "a test flag"}], {})
        return flags.probe_flag._behavior_change_event.flag_source  # type: ignore[attr-defined]

    assert created_by_an_adapter() == __name__
