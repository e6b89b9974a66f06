"""The contamination check: eval prompts copied (or quoted 13+ words) into training are found; clean data passes."""

from __future__ import annotations

import random

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.contamination import ContaminationCheck
from playbook_lib.data import records_from_rows

TRAIN = [
    {"instruction": f"Training question {i} about probe maintenance and storage", "output": "..."} for i in range(40)
]
rng = random.Random(1)
WORDS = [f"v{i}" for i in range(500)]
EVAL = [{"instruction": f"Held-out item {i}: " + " ".join(rng.sample(WORDS, 20)), "output": "..."} for i in range(10)]


def test_clean_data_passes_and_no_eval_is_not_evaluated() -> None:
    check = ContaminationCheck()
    result = check.run(records_from_rows(TRAIN), CheckContext(eval=records_from_rows(EVAL)))
    assert result.outcome is Outcome.PASS and result.summary["eval_rows_contaminated"] == 0
    assert check.run(records_from_rows(TRAIN), CheckContext()).outcome is Outcome.NOT_EVALUATED


def test_exact_and_ngram_overlap_are_found() -> None:
    leaked = [
        dict(EVAL[2]),
        {"instruction": "Rephrased: " + EVAL[7]["instruction"].split(": ", 1)[1].upper(), "output": "..."},
    ]
    result = ContaminationCheck().run(records_from_rows(TRAIN + leaked), CheckContext(eval=records_from_rows(EVAL)))
    assert result.summary["exact_copies"] == 1 and result.summary["eval_rows_contaminated"] == 2
    assert result.flags.tolist() == [False] * 40 + [True, True]
    assert result.summary["contaminated_rate"] == 0.2 and result.outcome is Outcome.FAIL
    assert {e["reason"] for e in result.examples} == {"exact copy", "8 shared 13-grams"}
