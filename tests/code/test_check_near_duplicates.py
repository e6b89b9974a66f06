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


PREAMBLE = (
    "You can call these tools. search(query) looks a question up on the web and returns the top result as text. "
    "calculator(expression) evaluates an arithmetic expression and returns the number. weather(city) returns the "
    "current temperature and the forecast for a city. Answer with one tool call."
)
TOPICS = ["the tallest mountain in Peru", "the boiling point of ethanol", "the author of a Dutch novel",
          "the population of Lagos", "the speed of sound in water", "the year the Suez canal opened"]  # fmt: skip


def test_a_shared_preamble_is_boilerplate_not_duplication() -> None:
    """300 rows share a long tool description and ask 300 different questions: no near-duplicates, though every pair
    has Jaccard >= 0.8 over the whole text; counted whole (max_ngram_rows: null) every row is one cluster."""
    rows = [
        {"instruction": f"{PREAMBLE}\nQuestion {i}: what is {TOPICS[i % 6]} according to source number {i}?",
         "output": f"search('{TOPICS[i % 6]} source {i}')"}
        for i in range(300)
    ]  # fmt: skip
    records = records_from_rows(rows)
    assert NearDuplicatesCheck(max_ngram_rows=None).run(records, CheckContext()).summary["removable"] > 250
    result = NearDuplicatesCheck().run(records, CheckContext())
    assert result.summary["removable"] == 0 and result.summary["boilerplate_ngrams"] > 30


def test_near_copies_behind_a_shared_preamble_are_still_found() -> None:
    """Among the 300 rows, 40 near-copies of one question (a word changed each) form one cluster: their own words are
    common to only 40 rows, below the boilerplate floor of 50, so they still count."""
    rows = [
        {"instruction": f"{PREAMBLE}\nQuestion {i}: what is {TOPICS[i % 6]} according to source number {i}?",
         "output": f"search('{TOPICS[i % 6]} source {i}')"}
        for i in range(300)
    ]  # fmt: skip
    question = (
        "which river flows through the old town of the capital, how long is it, which bridges cross it there and "
        "where does it finally meet the sea after the last of the northern lakes"
    )
    for k in range(40):
        rows[5 + 7 * k] = {"instruction": f"{PREAMBLE}\nQuestion: {question} today variant {k}?",
                           "output": f"search('{question}')"}  # fmt: skip
    result = NearDuplicatesCheck().run(records_from_rows(rows), CheckContext())
    assert result.summary["clusters"] == 1 and result.summary["removable"] == 39
