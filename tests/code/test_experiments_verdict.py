"""The verdict rule of the Experiments pages: held only when the whole interval is on the claimed side; a tie, or an
interval that straddles the threshold, is inconclusive; too few runs are inconclusive."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playbook_lib.experiments.verdict import (
    Check,
    Claim,
    Interval,
    Verdict,
    any_holds,
    combine,
    difference_interval,
    judge,
    mean_interval,
    moments_interval,
    proportion_interval,
    rule_verdict,
    rules,
    rules_markdown,
    within,
)


def test_a_clear_win_holds_a_clear_loss_does_not_and_a_tie_is_inconclusive() -> None:
    assert judge(mean_interval([0.05, 0.06, 0.04, 0.05, 0.055])) is Verdict.HELD
    assert judge(mean_interval([-0.05, -0.06, -0.04, -0.05, -0.055])) is Verdict.DID_NOT_HOLD
    assert judge(mean_interval([0.0, 0.0, 0.0, 0.0, 0.0])) is Verdict.INCONCLUSIVE  # a tie is never "held"
    assert judge(mean_interval([0.03, -0.02, 0.01, -0.01, 0.02])) is Verdict.INCONCLUSIVE  # straddles 0


def test_an_effect_smaller_than_its_noise_is_inconclusive_and_more_runs_can_settle_it() -> None:
    rng = np.random.default_rng(0)
    few = rng.normal(0.01, 0.02, 3)
    assert judge(mean_interval(few)) is Verdict.INCONCLUSIVE
    many = rng.normal(0.01, 0.02, 400)
    assert judge(mean_interval(many)) is Verdict.HELD


def test_one_run_has_no_interval() -> None:
    single = mean_interval([0.2])
    assert math.isinf(single.low) and judge(single) is Verdict.INCONCLUSIVE
    assert "too few runs" in str(single)


def test_interval_text_for_a_table_cell() -> None:
    assert Interval(0.8034, 0.7991, 0.8077, 5).text() == "0.803 [0.799, 0.808]"
    assert Interval(1304.2, 1260.0, 1356.9, 5).text(0) == "1,304 [1,260, 1,357]"
    assert Interval(-0.25, -0.5, 0.0, 3).text(2) == "-0.25 [-0.50, 0.00]"
    assert mean_interval([0.2]).text() == "0.200 (n=1: no interval)"


def test_interval_matches_the_t_distribution() -> None:
    iv = mean_interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t(0.975, 2) = 4.303
    assert iv.estimate == 2.0 and iv.high - 2.0 == pytest.approx(4.3027 / math.sqrt(3), rel=1e-4)


def test_paired_differences_remove_what_the_seeds_share() -> None:
    """Two arms that move together with the seed: paired, the small constant gap is clear; unpaired, it is lost in
    the seed-to-seed spread."""
    base = np.array([0.60, 0.70, 0.80, 0.65, 0.75])
    paired = difference_interval(base + 0.02, base, paired=True)
    assert paired.estimate == pytest.approx(0.02) and judge(paired) is Verdict.HELD
    assert judge(difference_interval(base + 0.02, base, paired=False)) is Verdict.INCONCLUSIVE
    with pytest.raises(ValueError, match="paired runs must match"):
        difference_interval([1.0, 2.0], [1.0], paired=True)


def test_a_claim_below_a_threshold_and_its_sentence() -> None:
    claim = Claim("prediction error", threshold=0.03, side="below")
    assert claim.judge(Interval(0.01, 0.0, 0.02, 5)) is Verdict.HELD
    assert claim.judge(Interval(0.05, 0.04, 0.06, 5)) is Verdict.DID_NOT_HOLD
    assert claim.judge(Interval(0.03, 0.02, 0.04, 5)) is Verdict.INCONCLUSIVE
    assert claim.sentence(Interval(0.01, 0.0, 0.02, 5)).startswith("held: prediction error = +0.010 [+0.000, +0.020]")
    with pytest.raises(ValueError, match="side must be"):
        judge(Interval(0.0, 0.0, 0.0, 2), side="sideways")  # type: ignore[arg-type]


def test_within_a_margin_and_combined_parts() -> None:
    assert within(Interval(0.01, -0.01, 0.02, 5), 0.03) is Verdict.HELD
    assert within(Interval(0.05, 0.04, 0.06, 5), 0.03) is Verdict.DID_NOT_HOLD
    assert within(Interval(-0.05, -0.06, -0.04, 5), 0.03) is Verdict.DID_NOT_HOLD
    assert within(Interval(0.02, 0.0, 0.04, 5), 0.03) is Verdict.INCONCLUSIVE  # reaches past the margin
    with pytest.raises(ValueError, match="margin must be > 0"):
        within(Interval(0.0, 0.0, 0.0, 2), 0.0)
    assert combine([Verdict.HELD, Verdict.HELD]) is Verdict.HELD
    assert combine([Verdict.HELD, Verdict.INCONCLUSIVE]) is Verdict.INCONCLUSIVE
    assert combine([Verdict.INCONCLUSIVE, Verdict.DID_NOT_HOLD]) is Verdict.DID_NOT_HOLD
    assert combine([]) is Verdict.INCONCLUSIVE


def test_a_recall_is_judged_by_its_wilson_interval() -> None:
    """21 of 30 planted rows caught is a recall of 0.70 [0.52, 0.83]: below a 0.9 bar, whatever the noise; 29 of
    30 is 0.97 [0.83, 0.99]: the bar is inside, inconclusive; 300 of 300 clears it."""
    assert judge(proportion_interval(21, 30), 0.9) is Verdict.DID_NOT_HOLD
    assert judge(proportion_interval(29, 30), 0.9) is Verdict.INCONCLUSIVE
    assert judge(proportion_interval(300, 300), 0.9) is Verdict.HELD
    assert proportion_interval(0, 0).low == 0.0 and proportion_interval(0, 0).high == 1.0


def test_moments_interval_equals_the_interval_of_the_values_it_summarises() -> None:
    values = np.array([0.3, 0.5, 0.4, 0.45, 0.35])
    direct = mean_interval(values)
    from_stats = moments_interval(float(values.mean()), float(values.std(ddof=1)), values.size)
    assert (from_stats.low, from_stats.high) == pytest.approx((direct.low, direct.high))
    assert moments_interval(0.4, 0.1, 1).low == -math.inf  # one value: no interval
    assert moments_interval(0.4, math.nan, 5).high == math.inf  # unknown spread: no interval


def test_any_holds_needs_one_part_held_and_fails_only_when_every_part_failed() -> None:
    assert any_holds([Verdict.DID_NOT_HOLD, Verdict.HELD]) is Verdict.HELD
    assert any_holds([Verdict.DID_NOT_HOLD, Verdict.INCONCLUSIVE]) is Verdict.INCONCLUSIVE
    assert any_holds([Verdict.DID_NOT_HOLD] * 2) is Verdict.DID_NOT_HOLD
    assert any_holds([]) is Verdict.DID_NOT_HOLD


def test_a_rule_claim_holds_when_every_check_passed() -> None:
    checks = [Check("hash changed on every edit", True, "36 of 36"), Check("unchanged hash kept", True)]
    assert rules(checks) is Verdict.HELD
    assert rules({"a": True, "b": np.bool_(True)}) is Verdict.HELD  # numpy booleans from array comparisons


def test_one_failed_check_means_did_not_hold_even_beside_unmeasured_ones() -> None:
    assert rules({"a": True, "b": False}) is Verdict.DID_NOT_HOLD
    assert rules({"a": None, "b": False, "c": True}) is Verdict.DID_NOT_HOLD


def test_an_unmeasured_check_or_no_check_at_all_is_inconclusive_never_held() -> None:
    assert rules({"a": True, "b": None}) is Verdict.INCONCLUSIVE
    assert rules({}) is Verdict.INCONCLUSIVE
    assert rules([]) is Verdict.INCONCLUSIVE


def test_a_check_refuses_a_count_or_score_for_passed() -> None:
    with pytest.raises(TypeError):
        Check("share", 0.97)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Check("rows", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rules(["not a check"])  # type: ignore[list-item]
    assert Check("x", np.bool_(False)).passed is False


def test_rule_verdict_renders_the_verdict_and_each_check() -> None:
    v = rule_verdict("the ladder", [Check("knowledge -> RAG", True, "3 scenarios"), Check("no evals -> evals", False)])
    assert v.verdict is Verdict.DID_NOT_HOLD
    assert [c.name for c in v.failed] == ["no evals -> evals"]
    text = v.markdown()
    assert text.splitlines()[0] == "- **the ladder**: **did not hold** (1 of 2 checks passed)"
    assert "  - passed: knowledge -> RAG (3 scenarios)" in text
    assert "  - failed: no evals -> evals" in text
    unmeasured = rule_verdict("c", {"needs traffic": None})
    assert unmeasured.verdict is Verdict.INCONCLUSIVE and "undecided: needs traffic" in unmeasured.markdown()
    assert rules_markdown([v, unmeasured]).count("\n- **") == 1
