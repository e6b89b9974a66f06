"""Sampling invariants: top-k keeps k, top-p keeps the smallest set reaching p, temperature limits, consistency."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from playbook_lib.models.sampling import (
    consistency,
    sample,
    sampling_distribution,
    softmax,
    top_k_filter,
    top_p_filter,
)

logit_arrays = arrays(
    np.float64,
    st.integers(min_value=1, max_value=40),
    elements=st.floats(min_value=-30, max_value=30, allow_nan=False, allow_infinity=False),
)
# Few distinct values, so ties are common.
tied_arrays = arrays(np.float64, st.integers(min_value=1, max_value=30), elements=st.sampled_from([-1.0, 0.0, 2.0]))


@settings(max_examples=200, deadline=None)
@given(logit_arrays, st.floats(min_value=0.05, max_value=50))
def test_softmax_is_a_distribution(logits: np.ndarray, temperature: float) -> None:
    p = softmax(logits, temperature)
    assert p.shape == logits.shape
    assert np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    # Order is preserved: a larger logit never gets a smaller probability.
    i, j = int(np.argmax(logits)), int(np.argmin(logits))
    assert p[i] >= p[j]


@settings(max_examples=200, deadline=None)
@given(st.one_of(logit_arrays, tied_arrays), st.integers(min_value=1, max_value=50))
def test_top_k_keeps_exactly_k(logits: np.ndarray, k: int) -> None:
    out = top_k_filter(logits, k)
    kept = np.isfinite(out)
    assert kept.sum() == min(k, logits.size)
    # Every kept logit is >= every dropped one, and kept values are unchanged.
    if (~kept).any():
        assert logits[kept].min() >= logits[~kept].max()
    np.testing.assert_array_equal(out[kept], logits[kept])


def test_top_k_ties_keep_lower_ids() -> None:
    out = top_k_filter(np.array([1.0, 3.0, 3.0, 3.0, 0.0]), 2)
    assert np.isfinite(out).tolist() == [False, True, True, False, False]
    # Long runs of ties (past numpy's small-array insertion sort) still keep the lowest ids.
    logits = np.tile([0.0, 2.0, 1.0, 2.0], 50)
    kept = np.flatnonzero(np.isfinite(top_k_filter(logits, 7)))
    assert kept.tolist() == [1, 3, 5, 7, 9, 11, 13]
    flat = np.zeros(1000)
    assert np.flatnonzero(np.isfinite(top_p_filter(flat, 0.0105))).tolist() == list(range(11))


@settings(max_examples=300, deadline=None)
@given(st.one_of(logit_arrays, tied_arrays), st.floats(min_value=0.01, max_value=1.0))
def test_top_p_keeps_smallest_set_reaching_p(logits: np.ndarray, p: float) -> None:
    probs = softmax(logits)
    kept = np.isfinite(top_p_filter(logits, p))
    m = int(kept.sum())
    assert m >= 1
    # The kept set reaches p ...
    assert probs[kept].sum() >= p - 1e-9 or m == np.count_nonzero(probs)
    # ... and is the m most probable tokens, and no smaller set of the most probable tokens reaches p.
    desc = np.sort(probs)[::-1]
    assert probs[kept].sum() == pytest.approx(desc[:m].sum(), abs=1e-12)
    if m > 1:
        assert desc[: m - 1].sum() < p + 1e-9


def test_top_p_hand_example_and_ties() -> None:
    logits = np.log(np.array([0.1, 0.5, 0.3, 0.1]))
    assert np.isfinite(top_p_filter(logits, 0.5)).tolist() == [False, True, False, False]
    assert np.isfinite(top_p_filter(logits, 0.6)).tolist() == [False, True, True, False]
    assert np.isfinite(top_p_filter(logits, 0.85)).tolist() == [True, True, True, False]  # tie: lower id kept
    assert np.isfinite(top_p_filter(logits, 1.0)).all()


@settings(max_examples=100, deadline=None)
@given(logit_arrays)
def test_temperature_zero_is_argmax(logits: np.ndarray) -> None:
    expected = int(np.argmax(logits))
    assert sample(logits, temperature=0.0) == expected
    assert softmax(logits, 0.0)[expected] == 1.0
    # A tiny positive temperature puts essentially all mass on the argmax when it is unique by a margin.
    top2 = np.sort(logits)[-2:] if logits.size > 1 else None
    if top2 is not None and top2[1] - top2[0] > 0.5:
        assert softmax(logits, 1e-3)[expected] > 0.999


def test_temperature_to_infinity_tends_to_uniform() -> None:
    logits = np.array([5.0, 1.0, -3.0, 0.0])
    gaps = [np.abs(softmax(logits, t) - 0.25).max() for t in (1.0, 10.0, 100.0, 1e4)]
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-3
    assert gaps[0] > 0.5


def test_sample_respects_filters_and_frequencies() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    rng = np.random.default_rng(0)
    draws = [sample(logits, 1.0, top_k=2, rng=rng) for _ in range(4000)]
    assert set(draws) <= {0, 1}
    assert np.mean(np.array(draws) == 0) == pytest.approx(0.5 / 0.8, abs=0.03)
    draws_p = {sample(logits, 1.0, top_p=0.5, rng=rng) for _ in range(200)}
    assert draws_p == {0}
    # Same seed, same draws.
    assert [sample(logits, rng=7) for _ in range(3)] == [sample(logits, rng=7) for _ in range(3)]


def test_sampling_distribution_renormalises() -> None:
    p = sampling_distribution(np.log(np.array([0.5, 0.3, 0.15, 0.05])), temperature=1.0, top_k=3, top_p=0.7)
    np.testing.assert_allclose(p, [0.625, 0.375, 0.0, 0.0])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: softmax([1.0, 2.0], -1), "temperature"),
        (lambda: softmax([], 1), "non-empty"),
        (lambda: softmax([[1.0]], 1), "1-D"),
        (lambda: softmax([float("nan")], 1), "NaN"),
        (lambda: top_k_filter([1.0], 0), "top_k"),
        (lambda: top_p_filter([1.0], 0.0), "top_p"),
        (lambda: top_p_filter([1.0], 1.5), "top_p"),
        (lambda: softmax([-math.inf, -math.inf], 1), "-inf"),
        (lambda: sample([1.0, 2.0], temperature=0.0, top_k=0), "top_k"),
        (lambda: sample([1.0, 2.0], temperature=-0.5), "temperature"),
    ],
)
def test_bad_inputs_raise(call, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        call()


def test_consistency_metrics() -> None:
    c = consistency(["a", "b", "a", "c", "a", "b"])
    assert (c.n, c.n_distinct, c.mode) == (6, 3, "a")
    assert c.agreement == pytest.approx(0.5)
    expected = -(0.5 * math.log2(0.5) + (1 / 3) * math.log2(1 / 3) + (1 / 6) * math.log2(1 / 6))
    assert c.entropy_bits == pytest.approx(expected)
    same = consistency(["x"] * 5)
    assert (same.n_distinct, same.entropy_bits, same.agreement) == (1, 0.0, 1.0)
    uniform = consistency(list(range(8)))
    assert uniform.entropy_bits == pytest.approx(3.0)
    assert consistency(["b", "a", "a", "b"]).mode == "b"  # tie: first seen
    with pytest.raises(ValueError):
        consistency([])


def test_lower_temperature_is_more_consistent() -> None:
    logits = np.array([2.0, 1.5, 1.0, 0.5, 0.0])
    rng = np.random.default_rng(1)
    cold = consistency([sample(logits, 0.2, rng=rng) for _ in range(500)])
    hot = consistency([sample(logits, 2.0, rng=rng) for _ in range(500)])
    greedy = consistency([sample(logits, 0.0) for _ in range(20)])
    assert greedy.n_distinct == 1
    assert cold.entropy_bits < hot.entropy_bits
    assert cold.agreement > hot.agreement
