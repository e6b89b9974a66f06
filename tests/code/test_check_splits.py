"""The splits check: a missing split and a prompt shared by two splits are found; clean data passes."""

from __future__ import annotations

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.splits import SplitsCheck
from playbook_lib.data import records_from_rows

CLEAN = [{"instruction": f"q{i}", "output": "a", "split": s} for i, s in
         enumerate(["train"] * 16 + ["val"] * 2 + ["test"] * 2)]


def test_clean_data_passes() -> None:
    result = SplitsCheck().run(records_from_rows(CLEAN), CheckContext())
    assert result.outcome is Outcome.PASS
    assert result.summary["split_sizes"] == {"test": 2, "train": 16, "validation": 2}


def test_missing_split_fails() -> None:
    result = SplitsCheck().run(records_from_rows(CLEAN[:16]), CheckContext())
    assert result.outcome is Outcome.FAIL and result.summary["missing_splits"] == ["validation", "test"]


def test_prompt_in_two_splits_and_eval_file_overlap_are_found() -> None:
    rows = CLEAN + [{"instruction": "Q0", "output": "b", "split": "test"}]
    result = SplitsCheck().run(records_from_rows(rows), CheckContext())
    assert result.flags.tolist() == [True] + [False] * 19 + [True] and result.outcome is Outcome.FAIL
    eval_file = records_from_rows([{"instruction": "q5", "output": "a"}])
    result = SplitsCheck().run(records_from_rows(CLEAN), CheckContext(eval=eval_file))
    assert result.flags[5] and result.flags.sum() == 1 and result.summary["split_sizes"]["test"] == 3
