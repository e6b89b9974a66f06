"""experiments.coverage: under-covered training sets, traffic samples, per-slice accuracy and the coverage check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playbook_lib.checks import Outcome
from playbook_lib.errors import UsageError
from playbook_lib.experiments.coverage import (
    coverage_check,
    coverage_seed,
    coverage_verdict,
    production_sample,
    slice_accuracy,
    traffic_shares,
    under_covered,
    weighted_accuracy,
)
from playbook_lib.experiments.runs import VectorTable
from playbook_lib.experiments.tasks import TextTask
from playbook_lib.experiments.verdict import Verdict


def blobs(n_per_class: int = 30, classes: int = 3, seed: int = 0) -> tuple[TextTask, VectorTable]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, 6)) * 3
    texts = [f"r{y}-{i}" for y in range(classes) for i in range(n_per_class)]
    labels = np.repeat(np.arange(classes), n_per_class)
    vectors = centres[labels] + rng.normal(scale=0.8, size=(len(texts), 6))
    return TextTask("b", texts, labels, ["a", "b", "c"][:classes], texts), VectorTable(texts, vectors)


def test_under_covered_keeps_few_rows_of_the_slice() -> None:
    task, _ = blobs()
    skewed = under_covered(task, "b", per_class=10, keep=2, seed=0)
    assert skewed.label_counts() == {"a": 10, "b": 2, "c": 10}
    with pytest.raises(UsageError):
        under_covered(task, "z", 10, 2)
    with pytest.raises(UsageError):
        under_covered(task, "b", 10, 11)


def test_production_sample_follows_the_shares() -> None:
    task, _ = blobs()
    traffic = production_sample(task, {"a": 0.8, "c": 0.2}, 1000, seed=0)
    counts = traffic.label_counts()
    assert counts["b"] == 0 and 740 < counts["a"] < 860
    assert set(traffic.texts) <= set(task.texts)
    with pytest.raises(UsageError):
        production_sample(task, {"zz": 1.0}, 10)


def test_slice_accuracy_drops_for_a_missing_slice() -> None:
    task, table = blobs()
    full = slice_accuracy(under_covered(task, "b", 20, 20), task, table).set_index("slice")
    none = slice_accuracy(under_covered(task, "b", 20, 0), task, table).set_index("slice")
    assert full.loc["b", "accuracy"] > 0.9 and none.loc["b", "accuracy"] == 0.0
    assert none.loc["b", "train_rows"] == 0 and none.loc["a", "test_rows"] == 30


def test_weighted_accuracy() -> None:
    frame = pd.DataFrame({"slice": ["a", "b"], "accuracy": [1.0, 0.0]})
    assert weighted_accuracy(frame, {"a": 3, "b": 1}) == pytest.approx(0.75)
    with pytest.raises(UsageError):
        weighted_accuracy(frame, {"c": 1})


def test_coverage_check_flags_the_under_covered_slice_only() -> None:
    task, _ = blobs()
    traffic = production_sample(task, {"a": 1, "b": 1, "c": 1}, 300, seed=1)
    skewed = coverage_check(under_covered(task, "b", 20, 2), traffic)
    assert skewed.summary["under_covered"] == ["b"] and skewed.outcome != Outcome.PASS
    balanced = coverage_check(under_covered(task, "b", 20, 20), traffic)
    assert balanced.summary["under_covered"] == [] and balanced.outcome == Outcome.PASS
    missing = coverage_check(under_covered(task, "b", 20, 0), traffic)
    assert missing.summary["missing_slices"] == ["b"] and missing.outcome == Outcome.FAIL


def runs_frame(slice_drop: list[float], other: float, production: list[float], flagged: list[bool]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "slice_drop": slice_drop,
            "excess_drop": [d - other for d in slice_drop],
            "production_drop": production,
            "balanced_test_drop": [p / 2 for p in production],
            "flagged": flagged,
            "balanced_flagged": [False] * len(flagged),
        }
    )


def test_coverage_verdict_held() -> None:
    runs = runs_frame([0.5, 0.6, 0.55, 0.45, 0.5], 0.02, [0.1, 0.12, 0.09, 0.11, 0.1], [True] * 5)
    verdict = coverage_verdict(runs)
    assert verdict.a is Verdict.HELD and verdict.b is Verdict.HELD
    assert verdict.effects[0].n == 5 and verdict.effects[1].estimate == pytest.approx(0.5)
    text = "\n".join(verdict.lines())
    assert verdict.understated.estimate == pytest.approx(0.052) and verdict.understated.low > 0
    assert "(a) held" in text and "5 of 5 seeds" in text and "0 of 5" in text


def test_coverage_verdict_did_not_hold() -> None:
    # the slice loses nothing (the drop is below the other slices'), and the check never flags it
    runs = runs_frame([-0.1, -0.12, -0.09, -0.11, -0.1], 0.0, [0.1, 0.12, 0.09, 0.11, 0.1], [False] * 5)
    verdict = coverage_verdict(runs)
    assert verdict.a is Verdict.DID_NOT_HOLD and verdict.b is Verdict.DID_NOT_HOLD


def test_coverage_verdict_inconclusive() -> None:
    # a production drop that straddles zero makes (a) inconclusive; 3 of 5 seeds flagged cannot tell (b)
    runs = runs_frame([0.5, 0.6, 0.55, 0.45, 0.5], 0.0, [0.1, -0.1, 0.05, -0.05, 0.01], [True] * 3 + [False] * 2)
    verdict = coverage_verdict(runs)
    assert verdict.a is Verdict.INCONCLUSIVE and verdict.b is Verdict.INCONCLUSIVE
    with pytest.raises(UsageError):
        coverage_verdict(runs.iloc[:0])


def test_coverage_seed_measures_a_starved_slice() -> None:
    task, table = blobs(n_per_class=40)
    shares = traffic_shares(task.label_names, "b", 0.5)
    assert shares == pytest.approx({"b": 0.5, "a": 0.25, "c": 0.25})
    row = coverage_seed(task, table, "b", per_class=20, keep=0, test_per_class=10, shares=shares, traffic_rows=200)
    assert row["slice_drop"] == pytest.approx(1.0, abs=0.1) and row["production_drop"] > 0.3
    assert row["flagged"] and not row["balanced_flagged"]
    assert row["excess_drop"] == pytest.approx(row["slice_drop"] - row["other_drop"])
    with pytest.raises(UsageError):
        traffic_shares(task.label_names, "b", 1.0)
