"""The policy as Python reads it: the dbt vars, and the level ladder computed from int_level_ladder's own SQL."""

from __future__ import annotations

import pytest

from pipelines.core.policy import level_ladder, level_order, night_policy, policy, policy_problems, settable_policy


def test_the_ladder_climbs_from_the_policy_thresholds() -> None:
    ladder = level_ladder()
    values = policy()

    assert [rung.min_points for rung in ladder[1:]] == [
        values["level_silver_points"],
        values["level_gold_points"],
        values["level_platinum_points"],
    ]
    assert ladder[0].min_points == 0 and not ladder[0].is_paid_tier
    assert [rung.level_rank for rung in ladder] == list(range(len(ladder)))
    for lower, upper in zip(ladder, ladder[1:], strict=False):
        assert (lower.next_level, lower.next_level_points) == (upper.level, upper.min_points)
    assert (ladder[-1].next_level, ladder[-1].next_level_points) == (None, None)
    assert level_order() == tuple(rung.level for rung in ladder)


def test_overridden_vars_move_the_ladder_as_dbt_vars_would() -> None:
    shipped = level_ladder()
    gold = shipped[2].min_points + 7
    moved = level_ladder({"level_gold_points": gold, "sla_gold_days": 9})

    assert moved[2].min_points == gold and moved[1].next_level_points == gold
    assert moved[2].fast_track_target_days == 9
    assert level_ladder() == shipped  # the shipped ladder is not changed by an override


def test_a_nights_policy_is_the_shipped_one_with_its_overrides_and_only_policy_names_are_settable() -> None:
    shipped = policy()
    silver = shipped["level_silver_points"] + 1

    assert night_policy() == shipped
    assert night_policy({"level_silver_points": silver}) == {**shipped, "level_silver_points": silver}
    assert policy() == shipped  # the shipped policy is not changed by a night's overrides
    for not_policy in ("as_of_date", "current_night", "level_silver"):
        with pytest.raises(KeyError, match=f"not a policy value: {not_policy}; valid names: "):
            night_policy({not_policy: 1})
    assert "as_of_date" not in settable_policy() and "level_silver_points" in settable_policy()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"level_silver_points": -5}, "level_silver_points cannot be negative"),
        ({"level_silver_points": 1000}, "the level thresholds must climb"),
        ({"level_platinum_points": 999}, "the level thresholds must climb"),
        ({"max_quarantined_share": 2}, "max_quarantined_share is a share between 0 and 1"),
        ({"floor_share": -0.1}, "floor_share cannot be negative"),
        ({"grace_years": 2.5}, "grace_years takes a whole number"),
        ({"retention_days": True}, "retention_days takes a number"),
        ({"report_points_needed_bands": 50}, "report_points_needed_bands takes a list of numbers"),
        ({"serial_min_length": 21}, "serial_min_length is above serial_max_length"),
        ({"at_risk_days": 400}, "at_risk_days must be between 1 and forecast_horizon_days"),
    ],
)
def test_policy_values_that_cannot_work_are_named_before_any_work(overrides: dict, problem: str) -> None:
    (found,) = policy_problems(overrides)
    assert found.startswith(problem)


def test_the_shipped_policy_and_sensible_changes_have_no_problem() -> None:
    assert policy_problems({}) == []
    assert policy_problems({"level_silver_points": 999, "max_quarantined_share": 1, "decay_per_year": 0}) == []
    assert policy_problems({"level_silver_points": 600.0, "report_points_needed_bands": [10, 20]}) == []
