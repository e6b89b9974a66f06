"""Statistics of the dataset checks: seeded row samples and the Wilson interval of a share estimated on one, robust
centre/spread and z-scores (median/MAD), and the covered share of queries by similarity threshold.

Used by the embedding checks (:mod:`playbook_lib.checks.embedding`) and taught in the book's *Dataset engineering*
page (``notebooks/dm_02_dataset_engineering.ipynb``).
"""

from __future__ import annotations

import numpy as np


def sample_positions(n: int, sample: int | None, seed: int = 0) -> np.ndarray | None:
    """Sorted positions of a seeded random sample of ``sample`` of ``n`` rows (without replacement), or ``None``
    when every row is kept (``sample`` is ``None`` or at least ``n``). Deterministic: the same ``n``, ``sample`` and
    ``seed`` give the same positions."""
    if sample is None or sample >= n:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False)).astype(np.int64)


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95 % for ``z`` 1.96) of a share of ``k`` in ``n``; ``(0, 1)`` when ``n`` is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def robust_spread(values: np.ndarray) -> tuple[float, float]:
    """``(median, 1.4826 * MAD)`` of the non-NaN values: a centre and a spread a few outliers cannot drag.

    When the MAD is zero (most values equal) the standard deviation stands in; it may be zero too.
    """
    kept = np.asarray(values, dtype=float)
    kept = kept[~np.isnan(kept)]
    if kept.size == 0:
        return float("nan"), float("nan")
    median = float(np.median(kept))
    spread = 1.4826 * float(np.median(np.abs(kept - median)))
    return median, spread if spread > 1e-12 else float(np.std(kept))


def robust_z(values: np.ndarray) -> np.ndarray:
    """``(x - median) / (1.4826 * MAD)`` (see :func:`robust_spread`); NaN stays NaN, and every z is 0 when the
    values do not vary."""
    values = np.asarray(values, dtype=float)
    median, spread = robust_spread(values)
    if not spread > 1e-12:
        return np.where(np.isnan(values), np.nan, 0.0)
    return (values - median) / spread


def coverage_curve(max_similarity: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Share of queries whose nearest training example reaches each threshold (the covered share)."""
    sims = np.asarray(max_similarity, dtype=float)
    return np.array([float(np.mean(sims >= t)) if sims.size else 0.0 for t in np.asarray(thresholds, dtype=float)])
