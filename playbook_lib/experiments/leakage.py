"""Score the project's dataset checks against problems we planted ourselves: which planted rows did a check flag
(recall), and how many of its flags were planted (precision).

Taught in the book's *Duplicates and contamination inflate evaluation* page
(``notebooks/exp_04_contamination.ipynb``). The checks are called through the registry
(:func:`playbook_lib.checks.get_check`), exactly as a checklist would call them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.checks import CheckContext, get_check
from playbook_lib.checks.contamination import ContaminationCheck, overlap
from playbook_lib.errors import UsageError
from playbook_lib.experiments.tasks import TextTask
from playbook_lib.experiments.verdict import (
    Interval,
    Verdict,
    combine,
    difference_interval,
    judge,
    mean_interval,
    proportion_interval,
)

#: Cross-split checks scored by default: label -> (registered check name, constructor arguments).
DEFAULT_CHECKS: dict[str, tuple[str, dict[str, Any]]] = {
    "contamination (13-grams, default)": ("contamination", {}),
    "contamination (5-grams)": ("contamination", {"ngram": 5}),
    "exact_duplicates across splits": ("exact_duplicates", {"fields": ["instruction"]}),
    "near_duplicates (3-grams, default)": ("near_duplicates", {"fields": ["instruction"]}),
    "near_duplicates (word sets, Jaccard >= 0.7)": (
        "near_duplicates",
        {"fields": ["instruction"], "ngram": 1, "threshold": 0.7},
    ),
}


@dataclass(frozen=True)
class Detection:
    """How a check's per-row flags compare with the rows we planted."""

    flagged: int
    planted: int
    true_positives: int

    @property
    def precision(self) -> float:
        """Share of flagged rows that were planted (1.0 when nothing was flagged)."""
        return self.true_positives / self.flagged if self.flagged else 1.0

    @property
    def recall(self) -> float:
        """Share of planted rows that were flagged (1.0 when nothing was planted)."""
        return self.true_positives / self.planted if self.planted else 1.0


def pool_detections(found: Sequence[Detection]) -> Detection:
    """One :class:`Detection` summed over runs (seeds): flags, plants and hits added, so that a verdict's interval
    rests on every planted row of every run rather than on one run's."""
    if not found:
        raise UsageError("pool_detections needs at least one run")
    return Detection(sum(f.flagged for f in found), sum(f.planted for f in found), sum(f.true_positives for f in found))


def detection(flags: np.ndarray, truth: np.ndarray) -> Detection:
    """Compare boolean ``flags`` with the boolean ``truth`` mask of planted rows."""
    flags = np.asarray(flags, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    if flags.shape != truth.shape:
        raise UsageError(f"flags ({flags.shape}) and truth ({truth.shape}) differ in shape")
    return Detection(int(flags.sum()), int(truth.sum()), int((flags & truth).sum()))


def train_flags(name: str, options: Mapping[str, Any], train: TextTask, test: TextTask) -> np.ndarray:
    """Per-training-row flags of a registered check that compares training data with the test set.

    ``contamination`` gets the test set as its eval context. A within-dataset check (``exact_duplicates``,
    ``near_duplicates``) runs on the test rows followed by the training rows, so a training row is flagged when it
    repeats a test row (or an earlier training row); the training rows' flags are returned.
    """
    check = get_check(name)(**dict(options))
    train_records = train.to_records()
    if name == "contamination":
        return check.run(train_records, CheckContext(eval=test.to_records())).flags
    both = TextTask(
        test.name,
        test.texts + train.texts,
        np.concatenate([test.labels, train.labels]),
        list(test.label_names),
        test.sources + train.sources,
    )
    return check.run(both.to_records(), CheckContext()).flags[len(test) :]


def score_checks(
    train: TextTask,
    test: TextTask,
    truth: np.ndarray,
    checks: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
    groups: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Precision and recall of each check (default :data:`DEFAULT_CHECKS`) against the planted ``truth`` mask
    over the training rows; ``groups`` (name -> mask of planted rows) adds a recall column per kind of plant."""
    rows = []
    for label, (name, options) in (checks or DEFAULT_CHECKS).items():
        flags = train_flags(name, options, train, test)
        found = detection(flags, truth)
        row = {
            "check": label,
            "flagged": found.flagged,
            "planted": found.planted,
            "caught": found.true_positives,
            "precision": found.precision,
            "recall": found.recall,
        }
        for group, mask in (groups or {}).items():
            row[f"recall {group}"] = detection(flags & mask, mask).recall
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class InflationVerdict:
    """Claim (a) of the page: contamination raises a memorising model's test score, by more than a smoother
    model's. ``memorise`` is the memorising model's inflation (contaminated minus clean score) over seeds,
    ``gap`` its paired difference from the other model's inflation."""

    verdict: Verdict
    memorise: Interval
    gap: Interval


def judge_inflation(memorise: Sequence[float] | np.ndarray, other: Sequence[float] | np.ndarray) -> InflationVerdict:
    """Judge claim (a) from per-seed inflations (seed ``i`` of both models on the same split and plants): held
    when the memorising model's mean inflation and its paired excess over ``other``'s are both wholly above zero
    (:func:`~playbook_lib.experiments.verdict.combine` of two
    :func:`~playbook_lib.experiments.verdict.judge` calls)."""
    inflation = mean_interval(memorise)
    gap = difference_interval(memorise, other, paired=True)
    return InflationVerdict(combine([judge(inflation, 0.0), judge(gap, 0.0)]), inflation, gap)


@dataclass(frozen=True)
class DetectionVerdict:
    """Claim (b) of the page for one check: its recall and precision on the planted rows, with Wilson
    intervals, against the bars fixed before the run."""

    verdict: Verdict
    recall: Interval
    precision: Interval
    min_recall: float
    min_precision: float


def judge_detection(found: Detection, min_recall: float = 0.9, min_precision: float = 0.8) -> DetectionVerdict:
    """Judge claim (b): held when the 95 % Wilson intervals of recall and precision lie wholly above
    ``min_recall`` and ``min_precision``, did not hold when either lies wholly below, else inconclusive."""
    recall = proportion_interval(found.true_positives, found.planted)
    precision = proportion_interval(found.true_positives, found.flagged)
    verdict = combine([judge(recall, min_recall), judge(precision, min_precision)])
    return DetectionVerdict(verdict, recall, precision, min_recall, min_precision)


def containment_scores(train: TextTask, test: TextTask, ngram: int = 13) -> np.ndarray:
    """Per training row, the largest share of one test request's counted word ``ngram``-grams it holds: the number
    the ``contamination`` check compares with ``min_prompt_containment`` for the request field
    (``fields=["instruction"]``, its other options at their defaults, boilerplate n-grams not counted).

    1.0 for an exact copy (after normalisation), 0.0 for a row that shares no counted n-gram with any test request.
    :func:`flags_at` turns the scores into the check's flags at any threshold, so a page can show every setting of
    the knob without running the check again (``tests/code/test_widget_data_checks.py`` holds them equal).
    """
    limit = ContaminationCheck(ngram=ngram, fields=["instruction"]).row_limit(len(train))
    found = overlap(list(train.texts), list(test.texts), ngram, exact=True, pairs=True, max_rows=limit)
    assert found.pairs is not None and found.eval_distinct is not None and found.eval_boilerplate is not None
    rows, evals, shared = found.pairs
    counted = found.eval_distinct - found.eval_boilerplate
    scores = np.zeros(len(train))
    np.maximum.at(scores, rows, shared / np.maximum(counted[evals], 1))
    scores[found.exact >= 0] = 1.0
    return scores


def flags_at(scores: Sequence[float] | np.ndarray, threshold: float) -> np.ndarray:
    """The rows the ``contamination`` check flags at ``min_prompt_containment = threshold``, from
    :func:`containment_scores`: a shared counted n-gram (score above 0) holding at least ``threshold`` of a test
    request's n-grams."""
    values = np.asarray(scores, dtype=float)
    return (values > 0) & (values >= threshold)
