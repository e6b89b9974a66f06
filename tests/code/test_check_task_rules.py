"""The task_rules check: forbidden phrases and out-of-bounds lengths are found; clean data passes."""

from __future__ import annotations

import pytest

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.relevance import TaskRulesCheck
from playbook_lib.data import records_from_rows
from playbook_lib.errors import UsageError

RULES = {"forbidden": ["As an AI language model"], "length_bounds": {"summary": [3, 30], "*": [1, 200]}}
CLEAN = [
    {"instruction": f"Summarise note {i}", "output": "The probe was recalibrated today.", "category": "summary"}
    for i in range(20)
]


def test_clean_data_passes() -> None:
    assert TaskRulesCheck(**RULES).run(records_from_rows(CLEAN), CheckContext()).outcome is Outcome.PASS


def test_rule_breaks_are_flagged() -> None:
    rows = CLEAN + [
        {"instruction": "x", "output": "as an AI language model, I cannot.", "category": "chat"},
        {"instruction": "y", "output": "word " * 40, "category": "summary"},
    ]
    result = TaskRulesCheck(**RULES).run(records_from_rows(rows), CheckContext())
    assert result.flags.tolist() == [False] * 20 + [True, True]
    assert result.summary["by_rule"] == {"forbidden phrase 'as an ai language model'": 1, "length out of bounds": 1}
    assert result.outcome is Outcome.FAIL  # 2/22 = 9 % > fail 5 %
    with pytest.raises(UsageError, match=r"must be \[min, max\]"):
        TaskRulesCheck(length_bounds={"summary": [30, 3]})
