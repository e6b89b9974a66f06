"""The model-selection page's cost and routing verdicts over simulated seeds: held, did not hold, inconclusive."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.decide.cost import PathStats
from playbook_lib.errors import UsageError
from playbook_lib.experiments.selection_claims import (
    choose_threshold,
    judge_selection,
    retry_premium,
    routing_sweep,
    simulate_attempts,
    simulate_confidence,
)
from playbook_lib.experiments.verdict import Verdict

PRICE = {"strong": 0.01, "cheap": 0.001, "mid": 0.004}
SEEDS = [0, 1, 2, 3, 4, 5]


def test_the_simulation_retries_until_success_and_prices_every_attempt() -> None:
    a = simulate_attempts({"strong": 1.0, "cheap": 0.0}, {"strong": 0.01, "cheap": 0.001}, 10, np.random.default_rng(0))
    assert (a[a.model == "strong"].attempt == 1).all() and len(a[a.model == "strong"]) == 10
    assert len(a[a.model == "cheap"]) == 30 and not a[a.model == "cheap"].success.any()  # three failed attempts each
    premium = retry_premium(a, {"strong": 0.01, "cheap": 0.001})
    assert premium["strong"] == pytest.approx(1.0) and premium["cheap"] == np.inf
    with pytest.raises(UsageError):
        simulate_attempts({"x": 1.2}, {"x": 0.1}, 5, np.random.default_rng(0))
    with pytest.raises(UsageError):
        simulate_attempts({"x": 0.5}, {"y": 0.1}, 5, np.random.default_rng(0))


def test_a_clear_premium_and_a_cheap_confident_router_hold() -> None:
    v = judge_selection({"strong": 0.9, "cheap": 0.6, "mid": 0.75}, PRICE, "strong", "cheap", 400, SEEDS)
    assert v.weakest == "cheap" and v.strongest == "strong"
    assert v.premium is Verdict.HELD, v.markdown()
    # a cheap path as good as the strong one needs no escalation: the held-out runs keep its success at a tenth
    # of the cost
    good = judge_selection(
        {"strong": 0.9, "cheap": 0.9}, {"strong": 0.01, "cheap": 0.001}, "strong", "cheap", 2000, SEEDS
    )
    assert good.routing is Verdict.HELD, good.markdown()
    assert good.cost_ratio.high < 0.5
    assert len(v.per_seed) == 5 and (v.per_seed.held_out_seed == v.per_seed.seed + 1).all()
    assert "on 5 held-out runs" in v.markdown() and "over 6 seeds" in v.markdown()


def test_no_premium_gap_when_models_are_equally_good_and_routing_fails_when_the_cheap_path_costs_more() -> None:
    same = judge_selection(
        {"strong": 0.9, "cheap": 0.9}, {"strong": 0.01, "cheap": 0.001}, "strong", "cheap", 300, SEEDS
    )
    assert same.premium is Verdict.INCONCLUSIVE  # equal success rates: "larger for weaker models" is not testable
    # a "cheap" path that costs more than the strong one: routing can only add cost
    dear = judge_selection(
        {"strong": 0.9, "cheap": 0.6}, {"strong": 0.001, "cheap": 0.01}, "strong", "cheap", 300, SEEDS
    )
    assert dear.routing is Verdict.DID_NOT_HOLD
    assert (dear.per_seed.cost_ratio > 1).all()


def test_a_weak_cheap_path_on_few_tasks_is_not_held() -> None:
    # a cheap path that is right only a third of the time escalates almost everything: no saving that clears 1
    v = judge_selection({"strong": 0.95, "cheap": 0.3}, {"strong": 0.01, "cheap": 0.009}, "strong", "cheap", 60, SEEDS)
    assert v.routing is not Verdict.HELD


def test_the_threshold_is_chosen_on_one_run_and_guarded() -> None:
    rng = np.random.default_rng(3)
    confidence, ok = simulate_confidence(0.6, 500, rng)
    assert confidence[ok].mean() > confidence[~ok].mean()  # the signal carries information
    sweep = routing_sweep(confidence, ok, 0.001, PathStats("strong", 0.01, 0.9))
    assert sweep.escalation_rate.is_monotonic_increasing and sweep.expected_cost.is_monotonic_increasing
    t = choose_threshold(sweep, 0.9)
    assert sweep.set_index("threshold").loc[t, "expected_success"] >= 0.88
    assert choose_threshold(sweep, 2.0) == sweep.threshold.iloc[-1]  # unreachable: the highest threshold
    with pytest.raises(UsageError):
        judge_selection({"strong": 0.9, "cheap": 0.6}, PRICE, "strong", "cheap", 100, [0])
    with pytest.raises(UsageError):
        judge_selection({"strong": 0.9}, PRICE, "strong", "cheap", 100, SEEDS)


def bundled_selection():  # type: ignore[no-untyped-def]
    from playbook_lib import sample_data
    from playbook_lib.decide.select import load_catalog, load_requirements, select_models

    catalog = load_catalog(sample_data.path("model_catalog.yaml"))
    return select_models(catalog, load_requirements(sample_data.path("requirements_profile.yaml")))


def test_reasons_hold_on_the_real_selection_and_fail_on_a_tampered_one() -> None:
    import dataclasses

    from playbook_lib.experiments.selection_claims import judge_reasons

    sel = bundled_selection()
    assert judge_reasons(sel).verdict is Verdict.HELD
    bare = dataclasses.replace(sel.excluded[0], excluded_because=[])
    tampered = dataclasses.replace(sel, excluded=[bare, *sel.excluded[1:]])
    v = judge_reasons(tampered)
    assert v.verdict is Verdict.DID_NOT_HOLD and "without a reason" in v.markdown()
    swapped = dataclasses.replace(sel, ranked=list(reversed(sel.ranked)))
    assert judge_reasons(swapped).verdict is Verdict.DID_NOT_HOLD  # not ranked by score
    empty = dataclasses.replace(sel, ranked=[], excluded=[])
    assert judge_reasons(empty).verdict is Verdict.INCONCLUSIVE


def test_flips_need_a_move_and_the_constraints_direction() -> None:
    from playbook_lib.experiments.selection_claims import judge_flips

    base = {"a", "b"}
    ok = {"relaxed": ("c", {"a", "b", "c"}), "tightened": ("a", {"a"})}
    assert judge_flips(base, ok, ["relaxed"], ["tightened"], base_top="a").verdict is Verdict.HELD
    wrong = {"relaxed": ("a", {"a"}), "tightened": ("a", {"a"})}
    assert judge_flips(base, wrong, ["relaxed"], ["tightened"], base_top="a").verdict is Verdict.DID_NOT_HOLD
    still = {"x": ("a", {"a", "b"})}
    v = judge_flips(base, still, base_top="a")
    assert v.verdict is Verdict.DID_NOT_HOLD  # nothing moved: there is nothing to compute
    assert judge_flips(base, {"x": ("b", {"a", "b"})}, base_top="a").verdict is Verdict.INCONCLUSIVE  # no direction
