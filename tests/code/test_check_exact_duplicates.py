"""The exact_duplicates check: copies that differ only in case and spacing are found; clean data passes."""

from __future__ import annotations

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.uniqueness import ExactDuplicatesCheck
from playbook_lib.data import records_from_rows

CLEAN = [{"instruction": f"Question number {i}?", "output": f"Answer {i}."} for i in range(30)]


def test_clean_data_passes() -> None:
    result = ExactDuplicatesCheck().run(records_from_rows(CLEAN), CheckContext())
    assert result.outcome is Outcome.PASS and result.summary["clusters"] == 0


def test_normalised_copies_form_a_cluster() -> None:
    rows = CLEAN + [{"instruction": "  QUESTION   number 3? ", "output": "answer 3."}, dict(CLEAN[3])]
    result = ExactDuplicatesCheck().run(records_from_rows(rows), CheckContext())
    assert result.summary["clusters"] == 1 and result.summary["removable"] == 2
    assert result.summary["largest_clusters"] == [[4, 31, 32]]
    assert result.flags.tolist().count(True) == 2 and not result.flags[3]
    assert result.outcome is Outcome.FAIL  # 2/32 > 5 %
