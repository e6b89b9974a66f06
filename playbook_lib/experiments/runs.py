"""The measurements the experiments repeat: embed a task once, score a training set with a probe, sweep sizes and
noise, fit a learning curve and extrapolate it.

Taught in the book's *Quality over quantity* (``notebooks/exp_01_quality_vs_quantity.ipynb``) and *Learning
curves* (``notebooks/exp_02_learning_curve.ipynb``) pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from playbook_lib.embeddings.model import Embedder
from playbook_lib.errors import UsageError
from playbook_lib.experiments.noise import make_noisy
from playbook_lib.experiments.tasks import ProbeScore, TextTask, embed_texts, probe_score, stratified_sample


class VectorTable:
    """Text -> embedding, filled once (through the disk cache of :func:`embed_texts`) and read many times."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        if len(texts) != len(vectors):
            raise ValueError("texts and vectors differ in length")
        self._rows = {t: v for t, v in zip(texts, vectors)}
        self.dim = int(vectors.shape[1]) if len(vectors) else 0

    @classmethod
    def embed(
        cls, texts: Sequence[str], embedder: Embedder | None = None, cache_dir: str | Path | None = None
    ) -> VectorTable:
        """Embed the distinct ``texts`` (cached on disk) and index them by text."""
        distinct = list(dict.fromkeys(texts))
        return cls(distinct, embed_texts(distinct, embedder, cache_dir))

    def __len__(self) -> int:
        return len(self._rows)

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts`` in order; a :class:`UsageError` names a text that was never embedded."""
        try:
            return np.stack([self._rows[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)
        except KeyError as exc:
            raise UsageError(f"text not embedded: {str(exc)[:80]}") from None


def score(train: TextTask, test: TextTask, table: VectorTable, kind: str = "logreg", seed: int = 0) -> ProbeScore:
    """Train a probe on ``train`` and score it on ``test``."""
    return probe_score(
        table.matrix(train.texts), train.labels, table.matrix(test.texts), test.labels, kind=kind, seed=seed
    )


def zero_shot(test: TextTask, table: VectorTable, descriptions: dict[str, str]) -> ProbeScore:
    """No training at all: each text gets the label whose description (embedded in ``table``) is most similar.
    The baseline that says whether training a classifier helps."""
    from sklearn.metrics import accuracy_score, f1_score  # lazy: scikit-learn (~1 s) only where a classifier is fitted

    missing = [name for name in test.label_names if name not in descriptions]
    if missing:
        raise UsageError(f"no description for labels {missing}")
    labels = table.matrix([descriptions[name] for name in test.label_names])
    pred = np.argmax(table.matrix(test.texts) @ labels.T, axis=1)
    return ProbeScore(
        float(accuracy_score(test.labels, pred)),
        float(f1_score(test.labels, pred, average="macro", zero_division=0)),
        len(test),
    )


def quality_grid(
    pool: TextTask,
    test: TextTask,
    table: VectorTable,
    sizes: Sequence[int],
    noise_levels: Sequence[float],
    seeds: Sequence[int],
    duplicate_rate: float = 0.0,
    off_topic_rate: float = 0.0,
    off_topic: tuple[Sequence[str], Sequence[str]] | None = None,
    kind: str = "logreg",
) -> pd.DataFrame:
    """Accuracy for every (rows per class, label-noise level, seed): draw ``size`` clean rows per class from
    ``pool``, inject label noise at that level plus ``duplicate_rate`` and ``off_topic_rate`` (applied only when
    the label noise is above zero: the curated arm is clean), train, score on ``test``.

    Columns: ``size_per_class``, ``label_noise``, ``seed``, ``train_rows`` (after injection), ``accuracy``,
    ``macro_f1``.
    """
    rows = []
    for size in sizes:
        for level in noise_levels:
            for seed in seeds:
                clean = stratified_sample(pool, size, seed=seed)
                noisy = make_noisy(
                    clean,
                    label_noise=level,
                    duplicate_rate=duplicate_rate if level > 0 else 0.0,
                    off_topic_rate=off_topic_rate if level > 0 else 0.0,
                    off_topic=off_topic,
                    seed=seed,
                )
                result = score(noisy.task, test, table, kind, seed)
                rows.append(
                    {
                        "size_per_class": size,
                        "label_noise": level,
                        "seed": seed,
                        "train_rows": len(noisy.task),
                        "accuracy": result.accuracy,
                        "macro_f1": result.macro_f1,
                    }
                )
    return pd.DataFrame(rows)


def learning_curve(
    pool: TextTask, test: TextTask, table: VectorTable, sizes: Sequence[int], seeds: Sequence[int], kind: str = "logreg"
) -> pd.DataFrame:
    """Accuracy for every (rows per class, seed): a fresh stratified sample of ``pool`` per seed.

    Columns: ``size_per_class``, ``train_rows``, ``seed``, ``accuracy``, ``macro_f1``.
    """
    rows = []
    for size in sizes:
        for seed in seeds:
            train = stratified_sample(pool, size, seed=seed)
            result = score(train, test, table, kind, seed)
            rows.append(
                {
                    "size_per_class": size,
                    "train_rows": len(train),
                    "seed": seed,
                    "accuracy": result.accuracy,
                    "macro_f1": result.macro_f1,
                }
            )
    return pd.DataFrame(rows)


def summarise(frame: pd.DataFrame, by: Sequence[str], metric: str = "accuracy") -> pd.DataFrame:
    """Mean, standard deviation and count of ``metric`` per group (the error bars of the plots)."""
    grouped = frame.groupby(list(by))[metric]
    return grouped.agg(mean="mean", std="std", runs="count").reset_index().fillna({"std": 0.0})


@dataclass(frozen=True)
class PowerLawFit:
    """``accuracy(n) = ceiling - scale * n ** -exponent``: the usual shape of a learning curve."""

    ceiling: float
    scale: float
    exponent: float

    def predict(self, n: np.ndarray | Sequence[float] | float) -> np.ndarray:
        return self.ceiling - self.scale * np.power(np.asarray(n, dtype=float), -self.exponent)


def fit_power_law(n: Sequence[float], accuracy: Sequence[float]) -> PowerLawFit:
    """Least-squares fit of :class:`PowerLawFit` to measured points (at least three distinct ``n``); the ceiling
    is kept in [0, 1] and the exponent in (0, 3]."""
    from scipy.optimize import curve_fit  # lazy: scipy is heavy to import; only this statistic needs it

    x = np.asarray(n, dtype=float)
    y = np.asarray(accuracy, dtype=float)
    if len(np.unique(x)) < 3:
        raise UsageError("fitting a learning curve needs at least three distinct training sizes")

    def model(v: np.ndarray, ceiling: float, scale: float, exponent: float) -> np.ndarray:
        return ceiling - scale * np.power(v, -exponent)

    start = (min(1.0, float(y.max()) + 0.05), max(1e-3, float(y.max() - y.min())), 0.5)
    params, _ = curve_fit(model, x, y, p0=start, bounds=([0.0, 0.0, 1e-3], [1.0, 10.0, 3.0]), maxfev=20000)
    return PowerLawFit(*(float(p) for p in params))
