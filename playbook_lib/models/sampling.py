"""Next-token sampling over a 1-D logits array: temperature, top-k, top-p, and how consistent the outputs are.

Taught in the book's *Probabilistic outputs* page (``notebooks/dm_06_probabilistic_outputs.ipynb``).

Filters take logits and return logits of the same shape with removed tokens set to ``-inf``, so they compose:
``sample`` applies temperature, then top-k, then top-p (the order of Hugging Face ``generate``). Ties are broken
deterministically in favour of the lower token id, so the same logits always give the same kept set.
Temperature 0 means greedy decoding (argmax); a very high temperature tends to the uniform distribution.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _logits(logits: ArrayLike) -> FloatArray:
    arr = np.asarray(logits, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"logits must be a non-empty 1-D array, got shape {arr.shape}")
    if np.isnan(arr).any() or np.isposinf(arr).any():
        raise ValueError("logits must not contain NaN or +inf")
    if np.isneginf(arr).all():
        raise ValueError("every logit is -inf: no token can be sampled")
    return arr


def _ranked(arr: FloatArray) -> NDArray[np.intp]:
    """Token ids from highest to lowest value; equal values keep ascending id order."""
    return np.argsort(-arr, kind="stable")


def softmax(logits: ArrayLike, temperature: float = 1.0) -> FloatArray:
    """Probabilities softmax(logits / temperature); temperature 0 gives a one-hot vector at the argmax.

    Args:
        logits: 1-D array of unnormalised scores; ``-inf`` marks a removed token (probability 0).
        temperature: >= 0. Below 1 sharpens, above 1 flattens; 0 is greedy (ties go to the lowest id).
    """
    arr = _logits(logits)
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if temperature == 0:
        out = np.zeros_like(arr)
        out[int(np.argmax(arr))] = 1.0
        return out
    scaled = arr / temperature
    scaled = scaled - scaled[np.isfinite(scaled)].max()
    with np.errstate(under="ignore"):
        exp = np.exp(scaled)
    return exp / exp.sum()


def top_k_filter(logits: ArrayLike, k: int) -> FloatArray:
    """Keep the ``k`` highest logits (exactly ``min(k, number of finite logits)``), set the rest to ``-inf``.

    Ties at the cut-off keep the lower token ids, so exactly k tokens survive, never more.
    """
    arr = _logits(logits)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top_k must be an integer >= 1, got {k!r}")
    keep = _ranked(arr)[: int(k)]
    out = np.full_like(arr, -np.inf)
    out[keep] = arr[keep]
    return out


def top_p_filter(logits: ArrayLike, p: float) -> FloatArray:
    """Nucleus filter: keep the smallest set of most probable tokens whose total probability reaches ``p``.

    Probabilities are ``softmax(logits)``. Tokens are taken in order of probability (ties: lower id first) until
    the cumulative sum is >= p (with a 1e-12 allowance for rounding); the token that crosses p is kept.

    Args:
        logits: 1-D array of scores.
        p: in (0, 1]. ``p = 1`` keeps every token with non-zero probability.
    """
    arr = _logits(logits)
    if not (0 < p <= 1):
        raise ValueError(f"top_p must be in (0, 1], got {p!r}")
    probs = softmax(arr)
    order = _ranked(probs)
    cum = np.cumsum(probs[order])
    n_keep = int(np.searchsorted(cum, p - 1e-12, side="left")) + 1
    n_keep = min(n_keep, int(np.count_nonzero(probs)))
    keep = order[: max(n_keep, 1)]
    out = np.full_like(arr, -np.inf)
    out[keep] = arr[keep]
    return out


def sampling_distribution(
    logits: ArrayLike, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> FloatArray:
    """The distribution ``sample`` draws from: temperature, then top-k, then top-p, renormalised."""
    arr = _logits(logits)
    probs = softmax(arr, temperature if temperature != 0 else 1.0)  # validates temperature
    scaled = np.where(probs > 0, np.log(np.where(probs > 0, probs, 1.0)), -np.inf)
    if top_k is not None:
        scaled = top_k_filter(scaled, top_k)
    if top_p is not None:
        scaled = top_p_filter(scaled, top_p)
    if temperature == 0:  # greedy: the filters always keep the argmax, so this is argmax(logits)
        return softmax(arr, 0.0)
    return softmax(scaled)


def sample(
    logits: ArrayLike,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    rng: np.random.Generator | int | None = None,
) -> int:
    """Draw one token id. Temperature 0 returns the argmax (greedy) without using ``rng``.

    Args:
        logits: 1-D array of next-token scores.
        temperature: >= 0.
        top_k: keep only the k most likely tokens (None: no limit).
        top_p: keep the smallest nucleus reaching probability p (None: no limit).
        rng: a ``numpy.random.Generator`` or a seed; pass one for reproducible draws.
    """
    probs = sampling_distribution(logits, temperature, top_k, top_p)
    if temperature == 0:
        return int(np.argmax(probs))
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return int(gen.choice(probs.size, p=probs))


@dataclass(frozen=True)
class Consistency:
    """How consistent repeated outputs for the same input are.

    Attributes:
        n: number of outputs.
        n_distinct: number of different outputs.
        entropy_bits: Shannon entropy of the empirical output distribution, in bits (0 = always the same).
        agreement: share of outputs equal to the modal (most frequent) output, in (0, 1].
        mode: the modal output (ties: the one seen first).
    """

    n: int
    n_distinct: int
    entropy_bits: float
    agreement: float
    mode: Hashable


def consistency(outputs: Sequence[Hashable]) -> Consistency:
    """Distinct outputs, entropy and agreement rate of repeated samples (e.g. answers to one prompt)."""
    if len(outputs) == 0:
        raise ValueError("consistency needs at least one output")
    counts = Counter(outputs)  # insertion order: first-seen wins ties in most_common
    n = len(outputs)
    freqs = np.array(list(counts.values()), dtype=np.float64) / n
    entropy = float(-(freqs * np.log2(freqs)).sum())
    mode, top = counts.most_common(1)[0]
    entropy = max(entropy, 0.0) + 0.0  # never -0.0 (one output: -(1 * log2 1))
    return Consistency(n=n, n_distinct=len(counts), entropy_bits=entropy, agreement=top / n, mode=mode)
