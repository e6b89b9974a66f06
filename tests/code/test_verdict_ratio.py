"""verdict.ratio_interval: the geometric-mean ratio of paired timings with its interval, judged against a
"times faster" threshold on constructed held, did-not-hold and inconclusive cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from playbook_lib.experiments.verdict import Verdict, judge, ratio_interval


def test_the_estimate_is_the_geometric_mean_of_the_paired_ratios() -> None:
    slow, fast = [4.0, 9.0, 2.0], [1.0, 3.0, 1.0]  # ratios 4, 3, 2
    i = ratio_interval(slow, fast)
    assert i.estimate == pytest.approx((4 * 3 * 2) ** (1 / 3)) and i.n == 3
    logs = np.log([4.0, 3.0, 2.0])
    half = stats.t.ppf(0.975, 2) * logs.std(ddof=1) / math.sqrt(3)
    assert (i.low, i.high) == pytest.approx((math.exp(logs.mean() - half), math.exp(logs.mean() + half)))


def test_pairing_cancels_a_load_that_slows_both_arms_of_a_repeat() -> None:
    load = np.array([1.0, 3.0, 0.5, 2.0, 1.5, 4.0])  # a shared machine: each repeat runs at its own speed
    i = ratio_interval(2.5 * load, load)
    assert i.estimate == pytest.approx(2.5) and i.high - i.low == pytest.approx(0.0)


def test_held_did_not_hold_and_inconclusive_against_a_times_faster_threshold() -> None:
    rng = np.random.default_rng(0)
    fast = rng.uniform(0.5, 1.5, size=8)
    noise = np.exp(rng.normal(0, 0.05, size=8))
    assert judge(ratio_interval(3.0 * fast * noise, fast), 2.0) is Verdict.HELD
    assert judge(ratio_interval(1.2 * fast * noise, fast), 2.0) is Verdict.DID_NOT_HOLD
    wide = np.array([1.0, 4.0, 1.5, 3.0, 1.2, 3.5])  # ratios around 2, spread either side: straddles it
    assert judge(ratio_interval(wide * fast[:6], fast[:6]), 2.0) is Verdict.INCONCLUSIVE
    assert judge(ratio_interval([2.0, 2.0], [1.0, 1.0]), 2.0) is Verdict.INCONCLUSIVE  # a tie is not held


def test_too_few_pairs_unpaired_or_non_positive_values() -> None:
    one = ratio_interval([3.0], [1.0])
    assert one.estimate == pytest.approx(3.0) and math.isinf(one.low) and judge(one, 2.0) is Verdict.INCONCLUSIVE
    with pytest.raises(ValueError, match="paired"):
        ratio_interval([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        ratio_interval([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="no values"):
        ratio_interval([], [])
