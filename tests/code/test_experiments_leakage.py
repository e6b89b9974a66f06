"""experiments.leakage: detection scores, and registered checks scored against rows we planted."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.experiments.leakage import detection, score_checks, train_flags
from playbook_lib.experiments.noise import plant_test_items
from playbook_lib.experiments.tasks import TextTask


def make(texts: list[str], name: str = "t") -> TextTask:
    return TextTask(name, texts, np.arange(len(texts)) % 2, ["a", "b"], [f"{name}:{i}" for i in range(len(texts))])


def words(row: int, n: int = 14) -> str:
    """A text of ``n`` words that no other row shares."""
    return " ".join(f"w{row}x{j}" for j in range(n))


TRAIN = make([words(i) for i in range(8)], "train")
TEST = make([words(100 + i) for i in range(6)], "test")


def test_detection_precision_and_recall() -> None:
    found = detection(np.array([1, 1, 0, 0, 1], bool), np.array([1, 0, 1, 0, 1], bool))
    assert (found.flagged, found.planted, found.true_positives) == (3, 3, 2)
    assert found.precision == pytest.approx(2 / 3) and found.recall == pytest.approx(2 / 3)
    assert detection(np.zeros(3, bool), np.zeros(3, bool)).precision == 1.0
    with pytest.raises(UsageError):
        detection(np.zeros(3, bool), np.zeros(4, bool))


def test_clean_split_has_no_flags() -> None:
    for name in ("contamination", "exact_duplicates", "near_duplicates"):
        assert not train_flags(name, {}, TRAIN, TEST).any()


def test_exact_and_recased_copies_are_caught_by_every_check() -> None:
    planted, _ = plant_test_items(TRAIN, TEST, 4, seed=0, perturb=["none", "case_space"])
    truth = planted.mask("planted")
    table = score_checks(planted.task, TEST, truth)
    assert (table.recall == 1.0).all() and (table.precision == 1.0).all()
    assert (table.caught == 4).all()


def test_near_copies_need_a_looser_check_and_groups_split_recall() -> None:
    planted, _ = plant_test_items(TRAIN, TEST, 6, seed=1, perturb="drop_word")
    truth = planted.mask("planted")
    checks = {
        "exact": ("exact_duplicates", {"fields": ["instruction"]}),
        "words": ("near_duplicates", {"fields": ["instruction"], "ngram": 1, "threshold": 0.7}),
    }
    table = score_checks(planted.task, TEST, truth, checks, groups={"all": truth}).set_index("check")
    assert table.loc["exact", "recall"] == 0.0
    assert table.loc["words", "recall"] == 1.0 and table.loc["words", "recall all"] == 1.0


def test_judge_inflation_held_did_not_hold_and_inconclusive() -> None:
    from playbook_lib.experiments.leakage import judge_inflation
    from playbook_lib.experiments.verdict import Verdict

    held = judge_inflation([0.30, 0.32, 0.29, 0.31, 0.30], [0.10, 0.12, 0.09, 0.11, 0.10])
    assert held.verdict is Verdict.HELD
    assert held.memorise.low > 0 and held.gap.estimate == pytest.approx(0.2)
    # the memorising model inflates, but less than the probe: did not hold
    less = judge_inflation([0.10, 0.12, 0.09, 0.11, 0.10], [0.30, 0.32, 0.29, 0.31, 0.30])
    assert less.verdict is Verdict.DID_NOT_HOLD
    # a tie with the probe is not "at least as much, shown": inconclusive
    tie = judge_inflation([0.2, 0.3, 0.25, 0.2, 0.3], [0.2, 0.3, 0.25, 0.2, 0.3])
    assert tie.verdict is Verdict.INCONCLUSIVE
    noisy = judge_inflation([0.3, -0.2, 0.1, -0.1, 0.2], [0.0, 0.0, 0.0, 0.0, 0.0])
    assert noisy.verdict is Verdict.INCONCLUSIVE


def test_judge_detection_held_did_not_hold_and_inconclusive() -> None:
    from playbook_lib.experiments.leakage import Detection, judge_detection
    from playbook_lib.experiments.verdict import Verdict

    assert judge_detection(Detection(flagged=300, planted=300, true_positives=300)).verdict is Verdict.HELD
    low_recall = judge_detection(Detection(flagged=100, planted=300, true_positives=100))
    assert low_recall.verdict is Verdict.DID_NOT_HOLD and low_recall.recall.high < 0.9
    # perfect on a handful of rows: the Wilson interval still reaches below the bars
    few = judge_detection(Detection(flagged=8, planted=8, true_positives=8))
    assert few.verdict is Verdict.INCONCLUSIVE and few.recall.low < 0.9
    imprecise = judge_detection(Detection(flagged=600, planted=300, true_positives=300))
    assert imprecise.verdict is Verdict.DID_NOT_HOLD and imprecise.precision.high < 0.8


def test_pool_detections_sums_runs_and_narrows_the_verdict() -> None:
    from playbook_lib.experiments.leakage import Detection, judge_detection, pool_detections
    from playbook_lib.experiments.verdict import Verdict

    runs = [Detection(flagged=8, planted=8, true_positives=8)] * 5
    pooled = pool_detections(runs)
    assert pooled == Detection(flagged=40, planted=40, true_positives=40)
    # one run of 8 is too few to clear the 0.9 bar; five pooled runs of 8 clear it
    assert judge_detection(runs[0]).verdict is Verdict.INCONCLUSIVE
    assert judge_detection(pooled).verdict is Verdict.HELD
    mixed = pool_detections([Detection(10, 20, 10), Detection(30, 20, 15)])
    assert (mixed.flagged, mixed.planted, mixed.true_positives) == (40, 40, 25)
    with pytest.raises(UsageError):
        pool_detections([])
