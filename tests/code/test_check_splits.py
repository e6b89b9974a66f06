"""The splits check: a missing split and a prompt shared by two splits are found; clean data passes."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.checks import CheckContext, Outcome, splits
from playbook_lib.checks.splits import SplitsCheck
from playbook_lib.data import records_from_rows

CLEAN = [
    {"instruction": f"q{i}", "output": "a", "split": s}
    for i, s in enumerate(["train"] * 16 + ["val"] * 2 + ["test"] * 2)
]


def test_clean_data_passes() -> None:
    result = SplitsCheck().run(records_from_rows(CLEAN), CheckContext())
    assert result.outcome is Outcome.PASS
    assert result.summary["split_sizes"] == {"test": 2, "train": 16, "validation": 2}


def test_missing_split_is_not_evaluated_and_says_how_to_supply_it() -> None:
    result = SplitsCheck().run(records_from_rows(CLEAN[:16]), CheckContext())
    assert result.outcome is Outcome.NOT_EVALUATED and result.summary["missing_splits"] == ["validation", "test"]
    assert "--validation FILE" in result.message and "--eval FILE" in result.message


def test_a_validation_file_is_the_validation_split_and_overlaps_are_found() -> None:
    train = records_from_rows([r for r in CLEAN if r.get("split") != "val"])
    validation = records_from_rows([{"instruction": "q-val", "output": "a"}, {"instruction": "Q0", "output": "b"}])
    test = records_from_rows([{"instruction": "q-test", "output": "a"}])
    result = SplitsCheck().run(train, CheckContext(eval=test, validation=validation))
    assert result.summary["missing_splits"] == [] and result.summary["split_sizes"]["validation"] >= 2
    assert result.outcome is Outcome.FAIL and result.flags[0]  # Q0 is in train and in the validation file


def test_overlap_fails_even_when_a_split_is_missing() -> None:
    rows = [r for r in CLEAN if r.get("split") != "val"] + [{"instruction": "Q0", "output": "b", "split": "test"}]
    result = SplitsCheck().run(records_from_rows(rows), CheckContext())
    assert "validation" in result.summary["missing_splits"] and result.outcome is Outcome.FAIL


def test_prompt_in_two_splits_and_eval_file_overlap_are_found() -> None:
    rows = CLEAN + [{"instruction": "Q0", "output": "b", "split": "test"}]
    result = SplitsCheck().run(records_from_rows(rows), CheckContext())
    assert result.flags.tolist() == [True] + [False] * 19 + [True] and result.outcome is Outcome.FAIL
    eval_file = records_from_rows([{"instruction": "q5", "output": "a"}])
    result = SplitsCheck().run(records_from_rows(CLEAN), CheckContext(eval=eval_file))
    assert result.flags[5] and result.flags.sum() == 1 and result.summary["split_sizes"]["test"] == 3


def test_hash_collisions_cannot_flag_a_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are grouped by a hash of their normal form, then confirmed on the strings: with every hash equal (all
    rows collide) the flags, examples and summary are unchanged."""
    rows = CLEAN + [
        {"instruction": "Q0 ", "output": "b", "split": "test"},
        {"instruction": "q3", "output": "c", "split": "dev"},
    ]
    eval_file = records_from_rows([{"instruction": "q7", "output": "a"}, {"instruction": "new", "output": "a"}])
    honest = SplitsCheck().run(records_from_rows(rows), CheckContext(eval=eval_file))
    monkeypatch.setattr(splits, "normal_hashes", lambda texts: np.zeros(len(texts), dtype=np.int64))
    colliding = SplitsCheck().run(records_from_rows(rows), CheckContext(eval=eval_file))
    assert honest.flags.tolist() == colliding.flags.tolist()
    assert np.flatnonzero(honest.flags).tolist() == [0, 3, 7, 20, 21]
    assert honest.summary == colliding.summary and honest.examples == colliding.examples
