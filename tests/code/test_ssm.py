"""Attention vs a diagonal SSM layer: shapes, the chunked scan against the per-step loop, causality, the log-log
exponent fit and the verdicts on constructed numbers (no timing assertions)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playbook_lib.experiments.verdict import Verdict
from playbook_lib.models.attention import scaled_dot_product_attention
from playbook_lib.models.ssm import (
    attention_layer,
    exponents,
    fit_exponent,
    judge_exponents,
    make_layers,
    ssm_naive,
    ssm_scan,
    time_layers,
)

LAYERS = make_layers(d=8, seed=3)


def _x(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, LAYERS.d, generator=torch.Generator().manual_seed(seed))


def test_output_shapes() -> None:
    x = _x(37)
    assert tuple(attention_layer(x, LAYERS).shape) == (37, 8)
    assert tuple(ssm_scan(x, LAYERS, chunk=16).shape) == (37, 8)


def test_attention_layer_is_the_causal_formula() -> None:
    x = _x(20)
    q, k, v = (x @ w for w in (LAYERS.wq, LAYERS.wk, LAYERS.wv))
    mask = np.tril(np.ones((20, 20), dtype=bool))
    expected, _ = scaled_dot_product_attention(q.numpy(), k.numpy(), v.numpy(), mask=mask)
    np.testing.assert_allclose(attention_layer(x, LAYERS).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize(("n", "chunk"), [(1, 4), (5, 8), (64, 16), (70, 16), (100, 1), (33, 64)])
def test_scan_equals_the_per_step_recurrence(n: int, chunk: int) -> None:
    x = _x(n, seed=n)
    expected = ssm_naive(x.numpy(), LAYERS.a.numpy(), LAYERS.b.numpy(), LAYERS.c.numpy())
    np.testing.assert_allclose(ssm_scan(x, LAYERS, chunk=chunk).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_both_layers_are_causal() -> None:
    x = _x(50)
    x2 = x.clone()
    x2[30:] = torch.randn(20, LAYERS.d) * 5  # change later tokens only
    for layer in (lambda z: attention_layer(z, LAYERS), lambda z: ssm_scan(z, LAYERS, chunk=16)):
        y, y2 = layer(x), layer(x2)
        torch.testing.assert_close(y[:30], y2[:30])
        assert not torch.allclose(y[30:], y2[30:])


def test_exponent_fit_on_constructed_timings() -> None:
    n = np.array([256, 512, 1024, 2048, 4096], dtype=float)
    assert fit_exponent(n, 3e-9 * n**2) == pytest.approx(2.0)
    assert fit_exponent(n, 1e-6 * n) == pytest.approx(1.0)
    assert fit_exponent(n, 0.5 + 0 * n) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        fit_exponent([1.0], [1.0])
    with pytest.raises(ValueError):
        fit_exponent([1.0, 2.0], [0.0, 1.0])


def test_verdicts_on_constructed_exponents() -> None:
    held = judge_exponents([1.9, 2.0, 1.95, 2.05, 1.98], [1.02, 0.98, 1.05, 1.0, 0.97])
    assert held.attention_verdict is Verdict.HELD and held.ssm_verdict is Verdict.HELD
    assert "held" in held.markdown()
    not_held = judge_exponents([1.1, 1.0, 1.05, 1.12, 0.98], [1.9, 2.0, 1.95, 2.05, 1.98])
    assert not_held.attention_verdict is Verdict.DID_NOT_HOLD and not_held.ssm_verdict is Verdict.DID_NOT_HOLD
    unsure = judge_exponents([1.0, 2.0, 1.3, 1.8, 1.5], [0.6, 1.4, 0.8, 1.3, 1.0])
    assert unsure.attention_verdict is Verdict.INCONCLUSIVE and unsure.ssm_verdict is Verdict.INCONCLUSIVE


def test_timing_table_and_per_repeat_fits_have_the_right_shape() -> None:
    table = time_layers(lengths=(8, 16, 32), repeats=2, calls=1, d=4)
    assert len(table) == 2 * 2 * 3
    assert set(table["layer"]) == {"attention", "SSM"}
    assert (table["seconds"] > 0).all()
    att_mem = table[table["layer"] == "attention"].groupby("n")["memory_bytes"].first()
    assert att_mem.to_dict() == {8: 8 * 8 * 4, 16: 16 * 16 * 4, 32: 32 * 32 * 4}
    assert set(table[table["layer"] == "SSM"]["memory_bytes"]) == {4 * 4}
    fits = exponents(table)
    assert len(fits) == 4 and np.isfinite(fits["exponent"]).all()
