"""The cost of one self-attention layer vs one state-space layer as the sequence grows.

Taught in the book's *Transformers, attention and scaling* page (``notebooks/dm_04_scaling.ipynb``).

A causal self-attention layer compares every token with every earlier one: its score matrix has ``n x n`` entries,
so time and memory grow with the square of the length ``n``. A state-space (SSM) layer instead carries a fixed-size
state along the sequence. The one here is the simplest diagonal linear recurrence, per channel::

    h_t = a * h_{t-1} + b * x_t,    y_t = c * h_t,    0 < a < 1

computed with a *chunked causal scan* (:func:`ssm_scan`): inside each chunk of ``chunk`` steps the recurrence is a
small lower-triangular matrix of powers of ``a``, and only the state crosses from one chunk to the next, so the work
is linear in ``n``. :func:`ssm_naive` is the per-step loop the scan must equal (``tests/code/test_ssm.py``).

:func:`time_layers` measures wall time per forward (CPU torch, best of a few calls) at several lengths,
:func:`fit_exponent` fits the log-log slope ``t ~ n^k``, and :func:`judge_exponents` turns per-repeat slopes into
verdicts with :mod:`playbook_lib.experiments.verdict`. The attention layer applies the formula of
:func:`playbook_lib.models.attention.scaled_dot_product_attention` in torch (the tests check it against that NumPy
function).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from playbook_lib import settings
from playbook_lib.experiments.verdict import Claim, Interval, Verdict, mean_interval, within

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Layers:
    """Weights of one single-head causal attention layer and one diagonal SSM layer on ``d``-wide inputs.

    Attributes:
        wq, wk, wv: ``(d, d)`` query, key and value projections of the attention layer (float32 torch tensors).
        a: ``(d,)`` per-channel decay of the SSM, in ``(0, 1)``.
        b, c: ``(d,)`` per-channel input and output scales of the SSM.
    """

    wq: Any
    wk: Any
    wv: Any
    a: Any
    b: Any
    c: Any

    @property
    def d(self) -> int:
        """The model width."""
        return int(self.a.shape[0])


def make_layers(d: int = 64, seed: int = 0) -> Layers:
    """Random layers of width ``d`` (decays ``a`` drawn in ``[0.5, 0.99]``), reproducible from ``seed``."""
    import torch  # lazy: torch takes seconds to import; only these layers need it

    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    g = torch.Generator().manual_seed(seed)
    w = [torch.randn(d, d, generator=g) / d**0.5 for _ in range(3)]
    a = 0.5 + 0.49 * torch.rand(d, generator=g)
    b, c = torch.randn(d, generator=g), torch.randn(d, generator=g)
    return Layers(wq=w[0], wk=w[1], wv=w[2], a=a, b=b, c=c)


def attention_layer(x: Any, layers: Layers) -> Any:
    """One causal single-head self-attention layer: softmax(Q·Kᵀ/sqrt(d), causal mask)·V on ``x`` of shape
    ``(n, d)``; returns ``(n, d)``. It materialises the ``(n, n)`` score matrix, as the formula does."""
    import torch  # lazy: torch takes seconds to import; only these layers need it

    q, k, v = x @ layers.wq, x @ layers.wk, x @ layers.wv
    n = x.shape[0]
    scores = (q @ k.T) / layers.d**0.5
    mask = torch.ones(n, n, dtype=torch.bool).triu_(1)
    scores.masked_fill_(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def ssm_scan(x: Any, layers: Layers, chunk: int = 64) -> Any:
    """The diagonal SSM layer on ``x`` of shape ``(n, d)`` by a chunked causal scan; returns ``(n, d)``.

    Within a chunk of length ``L`` starting after state ``h``: ``h_{k} = a^{k+1} h + sum_{j<=k} a^{k-j} b x_j``, one
    ``(d, L, L)`` lower-triangular product; the last state carries into the next chunk. Work ``O(n * d * chunk)``.
    """
    import torch  # lazy: torch takes seconds to import; only these layers need it

    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    n, d = x.shape
    u = x * layers.b  # (n, d)
    steps = torch.arange(chunk, dtype=x.dtype)
    lag = steps[:, None] - steps[None, :]  # k - j
    log_a = torch.log(layers.a)  # (d,)
    kernel = torch.exp(lag.clamp(min=0)[None] * log_a[:, None, None]) * (lag >= 0)  # (d, L, L)
    carry = torch.exp((steps + 1)[None, :] * log_a[:, None])  # (d, L): a^{k+1}
    h = torch.zeros(d, dtype=x.dtype)
    out = torch.empty_like(x)
    for start in range(0, n, chunk):
        length = min(chunk, n - start)
        uc = u[start : start + length].T  # (d, length)
        states = torch.einsum("dkj,dj->dk", kernel[:, :length, :length], uc)
        states = states + carry[:, :length] * h[:, None]
        h = states[:, -1]
        out[start : start + length] = (states * layers.c[:, None]).T
    return out


def ssm_naive(x: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The same recurrence one step at a time in NumPy (float64): the reference :func:`ssm_scan` must equal."""
    x = np.asarray(x, dtype=np.float64)
    h = np.zeros(x.shape[1])
    y = np.empty_like(x)
    for t in range(x.shape[0]):
        h = a * h + b * x[t]
        y[t] = c * h
    return y


def fit_exponent(lengths: Sequence[float], times: Sequence[float]) -> float:
    """The slope ``k`` of a least-squares line through ``(log n, log t)``: ``t ~ n^k``."""
    n, t = np.asarray(lengths, dtype=float), np.asarray(times, dtype=float)
    if n.shape != t.shape or n.size < 2:
        raise ValueError("need at least two (length, time) pairs of the same size")
    if (n <= 0).any() or (t <= 0).any():
        raise ValueError("lengths and times must be positive")
    return float(np.polyfit(np.log(n), np.log(t), 1)[0])


def _best_time(fn: Any, x: Any, calls: int) -> float:
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        fn(x)
        best = min(best, time.perf_counter() - start)
    return best


def time_layers(
    lengths: Sequence[int] = (256, 512, 1024, 2048, 4096),
    repeats: int = 5,
    calls: int = 3,
    d: int = 64,
    threads: int | None = 1,
    seed: int = 0,
) -> pd.DataFrame:
    """Wall time per forward of :func:`attention_layer` and :func:`ssm_scan` at each length, ``repeats`` times.

    Each repeat times every length once (best of ``calls`` forwards, after one warm-up call), on fresh random
    inputs; torch runs with ``threads`` threads. Returns one row per (repeat, layer, length) with columns
    ``repeat, layer, n, seconds, memory_bytes``; ``memory_bytes`` is the size of what grows with ``n`` and is
    not the output: the attention score matrix (``n*n`` float32) or the SSM's carried state (``d`` float32).
    """
    import pandas as pd  # lazy: only the timing table needs pandas
    import torch  # lazy: torch takes seconds to import; only these layers need it

    layers = make_layers(d, seed)
    rows: list[dict[str, Any]] = []
    with settings.using_torch_threads(threads), torch.no_grad():
        g = torch.Generator().manual_seed(seed + 1)
        for r in range(repeats):
            for n in lengths:
                x = torch.randn(int(n), d, generator=g)
                for name, fn, mem in (
                    ("attention", lambda z: attention_layer(z, layers), int(n) * int(n) * 4),
                    ("SSM", lambda z: ssm_scan(z, layers), d * 4),
                ):
                    fn(x)  # warm-up
                    rows.append(
                        {
                            "repeat": r,
                            "layer": name,
                            "n": int(n),
                            "seconds": _best_time(fn, x, calls),
                            "memory_bytes": mem,
                        }
                    )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ExponentVerdicts:
    """Fitted time exponents over repeats and the verdicts on them.

    Attributes:
        attention: interval of attention's fitted exponent (one fit per repeat).
        ssm_minus_one: interval of the SSM's fitted exponent minus 1.
        attention_verdict: the claim that attention's exponent is above ``attention_threshold``.
        ssm_verdict: the claim that the SSM's exponent is within ``±ssm_margin`` of 1 (linear).
    """

    attention: Interval
    ssm_minus_one: Interval
    attention_verdict: Verdict
    ssm_verdict: Verdict
    attention_claim: Claim
    ssm_margin: float

    def markdown(self) -> str:
        """The two verdicts as Markdown lines for the page."""
        return (
            f"- {self.attention_claim.sentence(self.attention)}\n"
            f"- {self.ssm_verdict.value}: SSM exponent - 1 = {self.ssm_minus_one} "
            f"(claim: within ±{self.ssm_margin:g}, i.e. linear in n)"
        )


def exponents(table: pd.DataFrame) -> pd.DataFrame:
    """One fitted exponent per (repeat, layer) from a :func:`time_layers` table: columns ``repeat, layer, exponent``."""
    import pandas as pd  # lazy: only the timing table needs pandas

    fits = [
        {"repeat": r, "layer": layer, "exponent": fit_exponent(g["n"].to_numpy(), g["seconds"].to_numpy())}
        for (r, layer), g in table.groupby(["repeat", "layer"], sort=True)
    ]
    return pd.DataFrame(fits)


def judge_exponents(
    attention_exponents: Sequence[float],
    ssm_exponents: Sequence[float],
    attention_threshold: float = 1.5,
    ssm_margin: float = 0.3,
) -> ExponentVerdicts:
    """Verdicts on per-repeat exponents: attention's mean exponent above ``attention_threshold`` (a
    :class:`~playbook_lib.experiments.verdict.Claim`), and the SSM's mean exponent minus 1 within ``±ssm_margin``
    (:func:`~playbook_lib.experiments.verdict.within`); both on 95 % t intervals over the repeats."""
    claim = Claim("attention time exponent", attention_threshold, "above")
    att = mean_interval(attention_exponents)
    ssm = mean_interval(np.asarray(ssm_exponents, dtype=float) - 1.0)
    return ExponentVerdicts(
        attention=att,
        ssm_minus_one=ssm,
        attention_verdict=claim.judge(att),
        ssm_verdict=within(ssm, ssm_margin),
        attention_claim=claim,
        ssm_margin=ssm_margin,
    )


def plot_layer_times(table: pd.DataFrame) -> Figure:
    """Time per forward vs sequence length on log-log axes, one line per layer (median over repeats, the range
    shaded), with an ``n`` and an ``n^2`` guide line."""
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for (layer, g), color in zip(table.groupby("layer", sort=True), ("#3b7dd8", "#d8663b")):
        s = g.groupby("n")["seconds"]
        n = s.median().index.to_numpy()
        ax.plot(n, s.median().to_numpy() * 1e3, "o-", color=color, label=f"{layer} (median)")
        ax.fill_between(n, s.min().to_numpy() * 1e3, s.max().to_numpy() * 1e3, color=color, alpha=0.2)
    n = np.sort(table["n"].unique()).astype(float)
    t0 = float(table[table["n"] == n[0]]["seconds"].median()) * 1e3
    ax.plot(n, t0 * n / n[0], ":", color="grey", label="slope 1 (linear)")
    ax.plot(n, t0 * (n / n[0]) ** 2, "--", color="grey", label="slope 2 (quadratic)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length n (tokens)")
    ax.set_ylabel("time per forward (ms, best of calls)")
    ax.set_title("One causal attention layer vs one diagonal SSM layer (CPU, 1 thread)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig
