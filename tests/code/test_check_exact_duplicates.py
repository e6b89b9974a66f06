"""The exact_duplicates check: copies that differ only in case and spacing are found; clean data passes."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.checks import CheckContext, Outcome, uniqueness
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


def test_hash_collisions_and_read_back_batches_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows grouped by a hash of their normal form are confirmed on a second digest of it, read back a batch of
    rows at a time: with every hash equal (all rows collide) and batches of 3 rows the result is the same."""
    rows = CLEAN + [{"instruction": "  QUESTION   number 3? ", "output": "answer 3."}, dict(CLEAN[3])]
    rows += [dict(CLEAN[k]) for k in (7, 7, 12, 29)] + [{"instruction": "question number 12?", "output": "Answer 12"}]
    honest = ExactDuplicatesCheck().run(records_from_rows(rows), CheckContext())
    assert honest.summary["largest_clusters"] == [[4, 31, 32], [8, 33, 34], [13, 35], [30, 36]]
    monkeypatch.setattr(uniqueness, "normal_hashes", lambda texts: np.zeros(len(texts), dtype=np.int64))
    monkeypatch.setattr(uniqueness, "READ_ROWS", 3)
    colliding = ExactDuplicatesCheck().run(records_from_rows(rows), CheckContext())
    assert honest.to_dict() == colliding.to_dict() and honest.details == colliding.details
    assert honest.examples == colliding.examples and honest.flags.tolist() == colliding.flags.tolist()
