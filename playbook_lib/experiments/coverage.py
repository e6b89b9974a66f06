"""Coverage experiments: build a training set that under-covers one slice, sample production-like traffic, score
per slice, and ask the registered ``coverage`` check whether it notices.

Taught in the book's *Coverage* page (``notebooks/exp_05_coverage.ipynb``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook_lib.checks import Check, CheckContext, CheckResult, get_check
from playbook_lib.errors import UsageError
from playbook_lib.experiments.runs import VectorTable, score
from playbook_lib.experiments.tasks import TextTask, evaluate_probe, split_task, stratified_sample, train_probe
from playbook_lib.experiments.verdict import (
    Claim,
    Interval,
    Verdict,
    combine,
    difference_interval,
    judge,
    mean_interval,
    proportion_interval,
)


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


def traffic_shares(label_names: Sequence[str], slice_name: str, slice_share: float) -> dict[str, float]:
    """Traffic shares: ``slice_share`` for ``slice_name``, the rest split equally among the other labels."""
    if slice_name not in label_names:
        raise UsageError(f"unknown slice {slice_name!r}; valid: {', '.join(label_names)}")
    if not 0.0 < slice_share < 1.0:
        raise UsageError(f"the slice's traffic share must be in (0, 1), got {slice_share}")
    others = [n for n in label_names if n != slice_name]
    return {slice_name: slice_share, **{n: (1 - slice_share) / len(others) for n in others}}


def flags_slice(result: CheckResult, slice_name: str) -> bool:
    """Whether a ``coverage`` check result names ``slice_name`` as under-covered or missing."""
    return slice_name in list(result.summary["under_covered"]) + list(result.summary["missing_slices"])


def coverage_seed(
    task: TextTask,
    table: VectorTable,
    slice_name: str,
    per_class: int,
    keep: int,
    test_per_class: int,
    shares: Mapping[str, float],
    traffic_rows: int,
    seed: int = 0,
) -> dict[str, float | int | bool]:
    """One seed of the coverage experiment: split ``task``, train a balanced and an under-covered set (the same
    seed, so the arms differ only by the slice's rows), and measure the paired effects of the page's claims.

    Returns ``slice_drop`` (balanced minus under-covered accuracy on the slice's test rows), ``other_drop`` (the
    same, averaged over the other slices), ``excess_drop`` (their difference), ``production_drop`` and
    ``balanced_test_drop`` (accuracy on a production-like traffic sample and on the balanced test set), and whether
    the ``coverage`` check flags the slice in the under-covered (``flagged``) and balanced (``balanced_flagged``)
    training sets.
    """
    pool, test = split_task(task, test_per_class, seed=seed)
    balanced = stratified_sample(pool, per_class, seed=seed)
    skewed = under_covered(pool, slice_name, per_class, keep, seed=seed)
    traffic = production_sample(test, shares, traffic_rows, seed=seed)
    acc = {
        name: slice_accuracy(data, test, table, seed=seed).set_index("slice")["accuracy"]
        for name, data in (("balanced", balanced), ("skewed", skewed))
    }
    drops = acc["balanced"] - acc["skewed"]
    slice_drop = float(drops[slice_name])
    other_drop = float(drops.drop(index=slice_name).mean())
    return {
        "seed": seed,
        "slice_drop": slice_drop,
        "other_drop": other_drop,
        "excess_drop": slice_drop - other_drop,
        "production_drop": score(balanced, traffic, table, seed=seed).accuracy
        - score(skewed, traffic, table, seed=seed).accuracy,
        "balanced_test_drop": score(balanced, test, table, seed=seed).accuracy
        - score(skewed, test, table, seed=seed).accuracy,
        "flagged": flags_slice(coverage_check(skewed, traffic), slice_name),
        "balanced_flagged": flags_slice(coverage_check(balanced, traffic), slice_name),
    }


#: The page's claim (a), part by part: each effect is a per-seed paired difference that the claim puts above 0.
CLAIM_A = (
    Claim("slice accuracy drop (balanced - under-covered)"),
    Claim("slice drop - mean drop on the other slices"),
    Claim("production-traffic accuracy drop"),
)
#: Not part of (a), but what its prose says: the balanced test set understates the production-traffic loss.
CLAIM_UNDERSTATED = Claim("production-traffic drop - balanced-test-set drop")
#: The page's claim (b): the check flags the slice in more than half of the seeds.
CLAIM_B = Claim("share of seeds in which the coverage check flags the slice", threshold=0.5)


@dataclass(frozen=True)
class CoverageVerdict:
    """The verdicts of the coverage page: (a) the slice loses and production traffic shows it, (b) the check
    flags the slice before training; with the intervals they were judged on."""

    effects: tuple[Interval, Interval, Interval]
    understated: Interval
    flagged: Interval
    balanced_flagged: Interval
    a: Verdict
    b: Verdict

    def lines(self) -> list[str]:
        """Markdown bullet lines: each verdict with the parts and intervals it rests on."""
        parts = [f"  - {c.sentence(i)}" for c, i in zip(CLAIM_A, self.effects, strict=True)]
        k, n = round(self.flagged.estimate * self.flagged.n), self.flagged.n
        kb = round(self.balanced_flagged.estimate * self.balanced_flagged.n)
        return [
            f"- **(a) {self.a.value}** (all three parts must hold, over {self.effects[0].n} seeds):",
            *parts,
            f"- Beside (a): {CLAIM_UNDERSTATED.sentence(self.understated)}",
            f"- **(b) {self.b.value}**: the check flagged the slice in {k} of {n} seeds; "
            f"{CLAIM_B.sentence(self.flagged)}. For comparison it flagged the slice in the balanced set in "
            f"{kb} of {n} seeds.",
        ]


def coverage_verdict(runs: pd.DataFrame) -> CoverageVerdict:
    """Judge the page's claims from one row per seed of :func:`coverage_seed`: t intervals of the paired per-seed
    effects for (a), a Wilson interval on the share of seeds flagged for (b); ``understated`` pairs the
    production-traffic drop with the balanced-test-set drop."""
    if len(runs) == 0:
        raise UsageError("no seeds to judge")
    effects = (
        mean_interval(runs["slice_drop"]),
        mean_interval(runs["excess_drop"]),
        mean_interval(runs["production_drop"]),
    )
    understated = difference_interval(runs["production_drop"], runs["balanced_test_drop"])
    flagged = proportion_interval(int(runs["flagged"].sum()), len(runs))
    balanced = proportion_interval(int(runs["balanced_flagged"].sum()), len(runs))
    a = combine([c.judge(i) for c, i in zip(CLAIM_A, effects, strict=True)])
    return CoverageVerdict(effects, understated, flagged, balanced, a, judge(flagged, CLAIM_B.threshold, CLAIM_B.side))


def nearest_similarity(train: TextTask, queries: TextTask, table: VectorTable, same_label: bool = False) -> np.ndarray:
    """Per query, the cosine similarity of its most similar training row, from the vectors in ``table``
    (L2-normalised, so an inner product; exact, every pair): the number the ``embedding_coverage`` check compares
    with its ``threshold``. ``same_label=True`` searches only the training rows with the query's own label (a
    per-slice search, which the check does not do), -1.0 for a query whose label has no training row."""
    if not len(train) or not len(queries):
        raise UsageError("nearest_similarity needs at least one training row and one query")
    sims = table.matrix(queries.texts) @ table.matrix(train.texts).T
    if same_label:
        sims = np.where(queries.labels[:, None] == train.labels[None, :], sims, -1.0)
    return np.asarray(sims.max(axis=1), dtype=float)


@dataclass(frozen=True)
class SliceUncovered:
    """Traffic with no training example within ``threshold``, per slice: ``table`` has one row per slice with
    traffic (``slice``, ``queries``, ``uncovered``, ``share``); ``target`` is the slice's uncovered share and
    ``others`` that of the other slices' traffic pooled, each with its 95 % Wilson interval. ``stands_out`` when
    the target's interval lies wholly above the others' (a plain, pre-set rule: no tuning per page)."""

    threshold: float
    slice_name: str
    table: pd.DataFrame
    target: Interval
    others: Interval
    stands_out: bool

    @property
    def uncovered_share(self) -> float:
        """Uncovered share of all the traffic (the ``embedding_coverage`` check's metric)."""
        return float(self.table["uncovered"].sum() / max(int(self.table["queries"].sum()), 1))


def uncovered_by_slice(
    similarity: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    label_names: Sequence[str],
    slice_name: str,
    threshold: float,
) -> SliceUncovered:
    """Per slice, the traffic queries whose nearest training similarity (:func:`nearest_similarity`) is below
    ``threshold`` (uncovered, as the ``embedding_coverage`` check counts them), and whether ``slice_name`` stands
    out (see :class:`SliceUncovered`). ``labels[i]`` indexes ``label_names``; a query repeated in the traffic
    counts each time, as production repeats it."""
    sims = np.asarray(similarity, dtype=float)
    ids = np.asarray(labels, dtype=np.int64)
    if sims.shape != ids.shape:
        raise UsageError(f"{sims.size} similarities for {ids.size} labels")
    if slice_name not in label_names:
        raise UsageError(f"unknown slice {slice_name!r}; valid: {', '.join(label_names)}")
    uncovered = sims < threshold
    rows = []
    for y, name in enumerate(label_names):
        mask = ids == y
        if mask.any():
            k = int(uncovered[mask].sum())
            rows.append({"slice": name, "queries": int(mask.sum()), "uncovered": k, "share": k / int(mask.sum())})
    target = ids == list(label_names).index(slice_name)
    inside = proportion_interval(int(uncovered[target].sum()), int(target.sum()))
    outside = proportion_interval(int(uncovered[~target].sum()), int((~target).sum()))
    stands_out = bool(target.any() and (~target).any() and inside.low > outside.high)
    return SliceUncovered(float(threshold), slice_name, pd.DataFrame(rows), inside, outside, stands_out)
