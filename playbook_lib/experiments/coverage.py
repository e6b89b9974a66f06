"""Coverage experiments: build a training set that under-covers one slice, sample production-like traffic, score
per slice, and ask the registered ``coverage`` check whether it notices.

Taught in the book's *Coverage* page (``notebooks/exp_05_coverage.ipynb``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from playbook_lib.checks import Check, CheckContext, CheckResult, get_check
from playbook_lib.errors import UsageError
from playbook_lib.experiments.runs import VectorTable
from playbook_lib.experiments.tasks import TextTask, evaluate_probe, stratified_sample, train_probe


def under_covered(pool: TextTask, slice_name: str, per_class: int, keep: int, seed: int = 0) -> TextTask:
    """A stratified sample of ``per_class`` rows per label, except ``keep`` rows of ``slice_name``."""
    if slice_name not in pool.label_names:
        raise UsageError(f"unknown slice {slice_name!r}; valid: {', '.join(pool.label_names)}")
    if not 0 <= keep <= per_class:
        raise UsageError(f"keep must be in [0, per_class={per_class}], got {keep}")
    sample = stratified_sample(pool, per_class, seed=seed)
    target = pool.label_names.index(slice_name)
    rows = np.flatnonzero(sample.labels == target)
    drop = set(rows[keep:].tolist())
    return sample.subset([i for i in range(len(sample)) if i not in drop])


def production_sample(test: TextTask, shares: Mapping[str, float], n: int, seed: int = 0) -> TextTask:
    """``n`` rows drawn with replacement from ``test`` so that labels follow ``shares`` (normalised; labels not
    named get no traffic): a stand-in for what production asks."""
    weights = np.array([max(0.0, float(shares.get(name, 0.0))) for name in test.label_names])
    unknown = sorted(set(shares) - set(test.label_names))
    if unknown or weights.sum() <= 0:
        raise UsageError(f"shares must name labels of the task ({', '.join(test.label_names)}) with a positive sum")
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(weights), size=n, p=weights / weights.sum())
    idx = [int(rng.choice(np.flatnonzero(test.labels == y))) for y in labels]
    return test.subset(idx)


def slice_accuracy(
    train: TextTask, test: TextTask, table: VectorTable, kind: str = "logreg", seed: int = 0
) -> pd.DataFrame:
    """Train on ``train``, then accuracy on each label's test rows (the slice's recall), with train/test counts."""
    model = train_probe(table.matrix(train.texts), train.labels, kind=kind, seed=seed)
    x = table.matrix(test.texts)
    rows = []
    for y, name in enumerate(test.label_names):
        mask = test.labels == y
        if not mask.any():
            continue
        result = evaluate_probe(model, x[mask], test.labels[mask])
        rows.append(
            {
                "slice": name,
                "train_rows": int((train.labels == y).sum()),
                "test_rows": int(mask.sum()),
                "accuracy": result.accuracy,
            }
        )
    return pd.DataFrame(rows)


def weighted_accuracy(per_slice: pd.DataFrame, shares: Mapping[str, float]) -> float:
    """Accuracy under a traffic mix: per-slice accuracy weighted by the slice's (normalised) traffic share."""
    weights = per_slice["slice"].map(lambda s: float(shares.get(s, 0.0))).to_numpy()
    if weights.sum() <= 0:
        raise UsageError("the traffic shares give no weight to any slice")
    return float((per_slice["accuracy"].to_numpy() * weights).sum() / weights.sum())


def coverage_check(train: TextTask, traffic: TextTask, **options: object) -> CheckResult:
    """The registered ``coverage`` check on ``train`` against a ``traffic`` sample, sliced by label (category)."""
    coverage: Callable[..., Check] = get_check("coverage")  # takes the coverage check's own options
    check = coverage(**options)
    return check.run(train.to_records(), CheckContext(traffic=traffic.to_records()))
