"""The near_duplicates check (MinHash LSH): a one-word edit is clustered with its original; clean data passes."""

from __future__ import annotations

import random

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.uniqueness import NearDuplicatesCheck
from playbook_lib.data import records_from_rows

rng = random.Random(0)
WORDS = [f"w{i}" for i in range(2000)]
CLEAN = [{"instruction": " ".join(rng.sample(WORDS, 40)), "output": " ".join(rng.sample(WORDS, 40))} for _ in range(60)]


def test_clean_data_passes() -> None:
    result = NearDuplicatesCheck().run(records_from_rows(CLEAN), CheckContext())
    assert result.outcome is Outcome.PASS and result.summary["clusters"] == 0


def test_one_word_edits_are_clustered() -> None:
    edited = []
    for i in (5, 17, 33):
        words = CLEAN[i]["output"].split()
        words[10] = "changed"
        edited.append({"instruction": CLEAN[i]["instruction"], "output": " ".join(words)})
    result = NearDuplicatesCheck(threshold=0.8).run(records_from_rows(CLEAN + edited), CheckContext())
    assert result.summary["largest_clusters"] == [[6, 61], [18, 62], [34, 63]]
    assert result.flags[60:].all() and result.flags[:60].sum() == 0
    assert result.scores[60:].min() >= 0.8
    assert result.outcome is Outcome.WARN  # 3/63 = 4.8 %: above warn 1 %, below fail 10 %
