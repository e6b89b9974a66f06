"""The same budget spent two ways: on a better model (rented) or on the data (kept), measured on one task.

Taught in the book's *Data-centric AI* page (``notebooks/dm_01_data_centric.ipynb``). The task is the experiments'
tool routing (:mod:`playbook_lib.experiments.tasks`) with a share of its training labels flipped
(:func:`~playbook_lib.experiments.noise.flip_labels`). The cheap system is a linear probe on the distilled static
embedder. A fixed budget in euros is spent either

- **model-centric**: on MiniLM instead of the static embedder, trained on the same messy labels. The upgrade is
  rented: its extra inference cost recurs per request, so the budget covers ``budget / (extra cost per request)``
  requests and then must be paid again; or
- **data-centric**: on human review of ``budget / cost per label`` training rows, chosen by a label check (the rows
  whose given label an out-of-fold probe finds least likely); a reviewed row gets its true label. The fixed labels
  stay with the dataset.

:func:`budget_verdict` judges "data-centric spending beats model-centric spending at equal budget" from the paired
per-seed accuracies with :mod:`playbook_lib.experiments.verdict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook_lib.errors import UsageError
from playbook_lib.experiments.noise import flip_labels
from playbook_lib.experiments.tasks import TextTask, probe_score, split_task, train_probe
from playbook_lib.experiments.verdict import Claim, Interval, Verdict, difference_interval

#: The claim, stated before any number: data-centric accuracy minus model-centric accuracy is above zero.
CLAIM = Claim("data-centric accuracy - model-centric accuracy (same budget)", threshold=0.0, side="above")
#: The small and full profiles of the page (the full one is longer; no tuning after seeing numbers).
PROFILES: dict[str, dict[str, int | float]] = {
    "small": {"n_per_class": 60, "test_per_class": 20, "noise_rate": 0.3, "seeds": 5},
    "full": {"n_per_class": 120, "test_per_class": 40, "noise_rate": 0.3, "seeds": 10},
}


@dataclass(frozen=True)
class Budget:
    """A budget in euros and what it buys each way.

    Args:
        euros: the money to spend.
        label_cost: euros for one human review of a training row (its label checked and fixed).
        upgrade_cost_per_1m: extra euros per million requests of serving the better model instead of the cheap one.
    """

    euros: float
    label_cost: float
    upgrade_cost_per_1m: float

    def __post_init__(self) -> None:
        if self.euros < 0 or self.label_cost <= 0 or self.upgrade_cost_per_1m <= 0:
            raise UsageError("budget must be >= 0 and the label and upgrade costs > 0")

    @property
    def reviews(self) -> int:
        """Training rows the budget reviews (spent once; the fixes stay in the dataset)."""
        return int(self.euros // self.label_cost)

    @property
    def upgraded_requests(self) -> float:
        """Requests the budget serves on the better model before it must be paid again."""
        return self.euros / self.upgrade_cost_per_1m * 1e6

    def months_covered(self, requests_per_month: float) -> float:
        """How many months of traffic the model upgrade is paid for by the budget."""
        if requests_per_month <= 0:
            raise UsageError("requests_per_month must be > 0")
        return self.upgraded_requests / requests_per_month


def upgrade_cost_per_1m(cheap_per_s: float, better_per_s: float, eur_per_cpu_hour: float) -> float:
    """Extra euros per million requests of serving the better model, from the measured throughput of both (texts
    per second on one core) and the price of a CPU hour: the recurring cost of the model upgrade."""
    if cheap_per_s <= 0 or better_per_s <= 0 or eur_per_cpu_hour <= 0:
        raise UsageError("throughputs and the CPU-hour price must be > 0")
    extra_seconds = max(0.0, 1.0 / better_per_s - 1.0 / cheap_per_s)
    return extra_seconds * 1e6 / 3600.0 * eur_per_cpu_hour


def suspect_order(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Rows ordered from most to least suspect: by the out-of-fold probability a probe gives each row's own label
    (lowest first), the simple label check a reviewer's queue is sorted by."""
    y = np.asarray(y, dtype=int)
    if folds < 2 or len(y) < folds:
        raise UsageError(f"need at least 2 folds and as many rows, got {folds} folds and {len(y)} rows")
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(y)) % folds
    own = np.zeros(len(y))
    for f in range(folds):
        train, held = fold != f, fold == f
        model = train_probe(x[train], y[train], seed=seed)
        if not hasattr(model, "predict_proba"):
            continue
        proba = model.predict_proba(x[held])
        cols = {int(c): j for j, c in enumerate(model.classes_)}
        own[held] = [proba[i, cols[int(lab)]] if int(lab) in cols else 0.0 for i, lab in enumerate(y[held])]
    return np.argsort(own, kind="stable")


def review(noisy: np.ndarray, true: np.ndarray, order: np.ndarray, reviews: int) -> np.ndarray:
    """The labels after a reviewer fixes the first ``reviews`` rows of ``order`` to their true labels."""
    fixed = np.asarray(noisy, dtype=int).copy()
    pick = np.asarray(order[: max(0, int(reviews))], dtype=int)
    fixed[pick] = np.asarray(true, dtype=int)[pick]
    return fixed


def run_budget(
    task: TextTask,
    cheap: np.ndarray,
    better: np.ndarray,
    budget: Budget,
    test_per_class: int,
    noise_rate: float,
    seeds: Sequence[int],
) -> pd.DataFrame:
    """One row per seed: accuracy of the cheap model on messy labels, the model-centric arm (better embeddings,
    same labels), the data-centric arm (cheap embeddings, ``budget.reviews`` rows reviewed), and how many flipped
    labels the reviews fixed. ``cheap`` and ``better`` are the embeddings of ``task.texts`` (row-aligned)."""
    curve = review_curve(task, cheap, better, [budget.reviews], test_per_class, noise_rate, seeds)
    return curve.drop(columns="reviews_bought")


def review_curve(
    task: TextTask,
    cheap: np.ndarray,
    better: np.ndarray,
    reviews: Sequence[int],
    test_per_class: int,
    noise_rate: float,
    seeds: Sequence[int],
) -> pd.DataFrame:
    """:func:`run_budget` at several review counts at once: one row per seed and count in ``reviews``
    (``reviews_bought``), with the same splits, flipped labels and review queue per seed, so each count's rows
    are what :func:`run_budget` returns for a budget buying that many reviews. ``reviews`` is the count reviewed
    (capped at the training rows); the baseline and model-centric arms do not depend on it and are trained once
    per seed, and counts that cap to the same number share one data-centric fit."""
    if len(cheap) != len(task) or len(better) != len(task):
        raise UsageError("embeddings must be row-aligned with the task")
    counts = sorted({int(r) for r in reviews})
    if not counts or counts[0] < 0:
        raise UsageError(f"review counts must be >= 0, got {list(reviews)}")
    index = pd.Series(range(len(task)), index=pd.Index(task.sources))
    rows = []
    for seed in seeds:
        train, test = split_task(task, test_per_class, seed=seed)
        tr = index.loc[train.sources].to_numpy()
        te = index.loc[test.sources].to_numpy()
        noisy = flip_labels(train, noise_rate, seed=seed)
        y_noisy = noisy.task.labels
        order = suspect_order(cheap[tr], y_noisy, seed=seed)
        baseline = probe_score(cheap[tr], y_noisy, cheap[te], test.labels, seed=seed).accuracy
        model_centric = probe_score(better[tr], y_noisy, better[te], test.labels, seed=seed).accuracy
        fits: dict[int, tuple[float, int]] = {}
        for bought in counts:
            done = min(bought, len(tr))
            if done not in fits:
                y_fixed = review(y_noisy, train.labels, order, done)
                accuracy = probe_score(cheap[tr], y_fixed, cheap[te], test.labels, seed=seed).accuracy
                fits[done] = (accuracy, int((y_noisy != y_fixed).sum()))
            rows.append(
                {
                    "seed": seed,
                    "reviews_bought": bought,
                    "baseline": baseline,
                    "model_centric": model_centric,
                    "data_centric": fits[done][0],
                    "flipped": noisy.count("flipped"),
                    "fixed": fits[done][1],
                    "reviews": done,
                }
            )
    return pd.DataFrame(rows)


def budget_interval(runs: pd.DataFrame) -> Interval:
    """The paired across-seed interval of data-centric minus model-centric accuracy."""
    return difference_interval(runs["data_centric"].to_numpy(), runs["model_centric"].to_numpy(), paired=True)


def arm_intervals(runs: pd.DataFrame) -> dict[str, Interval]:
    """Each arm's paired gain over the cheap baseline, and data-centric minus model-centric (:func:`budget_interval`)."""
    base = runs["baseline"].to_numpy()
    return {
        "model-centric - baseline": difference_interval(runs["model_centric"].to_numpy(), base),
        "data-centric - baseline": difference_interval(runs["data_centric"].to_numpy(), base),
        "data-centric - model-centric": budget_interval(runs),
    }


def budget_verdict(runs: pd.DataFrame) -> Verdict:
    """:data:`CLAIM` judged on :func:`budget_interval`."""
    return CLAIM.judge(budget_interval(runs))
