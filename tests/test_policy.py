"""The policy as Python reads it: the dbt vars, and the level ladder computed from int_level_ladder's own SQL."""

from __future__ import annotations

from pipelines.core.policy import level_ladder, level_order, policy


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
