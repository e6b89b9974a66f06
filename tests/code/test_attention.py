"""Attention from scratch: the formula's invariants, and agreement with MiniLM's own attention weights."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.models.attention import minilm_attention, scaled_dot_product_attention

rng = np.random.default_rng(0)


def test_rows_sum_to_one_and_output_is_weighted_values() -> None:
    q, k, v = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 7, 8)), rng.normal(size=(2, 7, 3))
    out, w = scaled_dot_product_attention(q, k, v)
    assert w.shape == (2, 5, 7) and out.shape == (2, 5, 3)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-12)
    assert (w >= 0).all()
    np.testing.assert_allclose(out, w @ v, atol=1e-12)


def test_matches_the_explicit_formula() -> None:
    q, k, v = rng.normal(size=(4, 6)), rng.normal(size=(4, 6)), rng.normal(size=(4, 2))
    s = q @ k.T / np.sqrt(6)
    expected = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    _, w = scaled_dot_product_attention(q, k, v)
    np.testing.assert_allclose(w, expected, atol=1e-12)


def test_mask_zeroes_weights_and_renormalises() -> None:
    q, k, v = rng.normal(size=(4, 6)), rng.normal(size=(4, 6)), rng.normal(size=(4, 2))
    causal = np.tril(np.ones((4, 4), dtype=bool))
    out, w = scaled_dot_product_attention(q, k, v, mask=causal)
    assert (w[~causal] == 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-12)
    assert w[0, 0] == pytest.approx(1.0)  # the first token can only see itself
    np.testing.assert_allclose(out[0], v[0], atol=1e-12)


def test_mask_that_blocks_a_whole_row_is_an_error() -> None:
    q = rng.normal(size=(2, 3))
    with pytest.raises(ValueError, match="no key"):
        scaled_dot_product_attention(q, q, q, mask=np.array([[True, False], [False, False]]))


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="d_k"):
        scaled_dot_product_attention(np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 1)))


@pytest.mark.parametrize(("layer", "head"), [(0, 0), (2, 5), (5, 11)])
def test_from_scratch_matches_minilm(layer: int, head: int) -> None:
    amap = minilm_attention("The pH probe must be calibrated every two weeks.", layer=layer, head=head)
    n = len(amap.tokens)
    assert amap.tokens[0] == "[CLS]" and amap.tokens[-1] == "[SEP]"
    assert amap.model_weights.shape == amap.scratch_weights.shape == (n, n)
    np.testing.assert_allclose(amap.scratch_weights, amap.model_weights, atol=1e-5)
    np.testing.assert_allclose(amap.model_weights.sum(axis=-1), 1.0, atol=1e-5)
    # A different head attends differently: the check is not vacuous.
    other = minilm_attention("The pH probe must be calibrated every two weeks.", layer=layer, head=(head + 1) % 12)
    assert np.abs(other.model_weights - amap.scratch_weights).max() > 1e-2


def test_bad_layer_or_head_is_an_error() -> None:
    with pytest.raises(ValueError, match="layer"):
        minilm_attention("hello", layer=6)
    with pytest.raises(ValueError, match="head"):
        minilm_attention("hello", head=12)
