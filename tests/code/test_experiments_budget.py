"""Tests for playbook_lib.experiments.budget: the budget arithmetic, the label check, and the verdict rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.experiments.budget import (
    Budget,
    arm_intervals,
    budget_interval,
    budget_verdict,
    review,
    review_curve,
    run_budget,
    suspect_order,
    upgrade_cost_per_1m,
)
from playbook_lib.experiments.tasks import TextTask
from playbook_lib.experiments.verdict import Verdict


def _runs(data: list[float], model: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"baseline": [0.5] * len(data), "data_centric": data, "model_centric": model})


def test_budget_arithmetic() -> None:
    b = Budget(euros=60, label_cost=0.5, upgrade_cost_per_1m=2.0)
    assert b.reviews == 120
    assert b.upgraded_requests == pytest.approx(30e6)
    assert b.months_covered(10e6) == pytest.approx(3.0)
    with pytest.raises(UsageError):
        Budget(euros=10, label_cost=0, upgrade_cost_per_1m=1)
    with pytest.raises(UsageError):
        b.months_covered(0)


def test_upgrade_cost_from_throughput() -> None:
    # 100 texts/s vs 10 000/s: 0.0099 extra CPU-seconds per request
    assert upgrade_cost_per_1m(10_000, 100, 0.36) == pytest.approx((0.01 - 0.0001) * 1e6 / 3600 * 0.36)
    assert upgrade_cost_per_1m(100, 10_000, 1.0) == 0.0  # a faster "upgrade" costs nothing extra
    with pytest.raises(UsageError):
        upgrade_cost_per_1m(0, 1, 1)


def test_held_did_not_hold_inconclusive() -> None:
    assert budget_verdict(_runs([0.80, 0.82, 0.81, 0.83, 0.80], [0.70, 0.71, 0.72, 0.70, 0.71])) is Verdict.HELD
    assert budget_verdict(_runs([0.70, 0.71, 0.72, 0.70, 0.71], [0.80, 0.82, 0.81, 0.83, 0.80])) is Verdict.DID_NOT_HOLD
    tie = _runs([0.80, 0.70, 0.82, 0.71, 0.76], [0.75, 0.76, 0.74, 0.77, 0.75])
    assert budget_verdict(tie) is Verdict.INCONCLUSIVE
    assert budget_interval(tie).n == 5
    assert set(arm_intervals(tie)) == {
        "model-centric - baseline",
        "data-centric - baseline",
        "data-centric - model-centric",
    }


def _blobs(n_per: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(3) * 4
    x = np.vstack([rng.normal(c, 1.0, size=(n_per, 3)) for c in centres])
    return x, np.repeat(np.arange(3), n_per)


def test_suspect_order_puts_flipped_labels_first_and_review_fixes_them() -> None:
    x, y = _blobs()
    noisy = y.copy()
    flipped = np.array([0, 31, 62, 5, 40])
    noisy[flipped] = (noisy[flipped] + 1) % 3
    order = suspect_order(x, noisy)
    assert set(order[:5]) == set(flipped)
    fixed = review(noisy, y, order, 5)
    assert (fixed == y).all()
    assert (review(noisy, y, order, 0) == noisy).all()
    with pytest.raises(UsageError):
        suspect_order(x[:3], noisy[:3], folds=5)


def test_run_budget_rows_and_reviews_fix_flips() -> None:
    x, y = _blobs(40)
    task = TextTask("blobs", [f"t{i}" for i in range(len(y))], y, ["a", "b", "c"], [f"f:{i}" for i in range(len(y))])
    runs = run_budget(task, x, x, Budget(30, 1.0, 1.0), test_per_class=10, noise_rate=0.2, seeds=[0, 1])
    assert list(runs["seed"]) == [0, 1]
    assert (runs["reviews"] == 30).all()
    assert (runs["fixed"] > 0).all() and (runs["fixed"] <= runs["flipped"]).all()
    # the same embeddings and labels: the model-centric arm equals the baseline
    assert (runs["model_centric"] == runs["baseline"]).all()
    with pytest.raises(UsageError):
        run_budget(task, x[:5], x, Budget(1, 1, 1), 10, 0.2, [0])


def test_review_curve_rows_are_run_budget_at_each_count() -> None:
    x, y = _blobs(40)
    task = TextTask("blobs", [f"t{i}" for i in range(len(y))], y, ["a", "b", "c"], [f"f:{i}" for i in range(len(y))])
    rng = np.random.default_rng(1)
    better = x + rng.normal(0, 0.5, size=x.shape)  # another embedding: the model-centric arm differs from baseline
    curve = review_curve(task, x, better, [30, 0, 5, 500], test_per_class=10, noise_rate=0.3, seeds=[0, 1])
    assert sorted(set(curve["reviews_bought"])) == [0, 5, 30, 500]
    assert (curve.loc[curve["reviews_bought"] == 500, "reviews"] == 90).all()  # capped at the 90 training rows
    for bought in (0, 5, 30, 500):
        runs = run_budget(task, x, better, Budget(bought, 1.0, 1.0), 10, 0.3, [0, 1])
        rows = curve[curve["reviews_bought"] == bought].drop(columns="reviews_bought").reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, runs)
    assert (curve.loc[curve["reviews_bought"] == 0, "fixed"] == 0).all()
    with pytest.raises(UsageError):
        review_curve(task, x, better, [-1], 10, 0.3, [0])
