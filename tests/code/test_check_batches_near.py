"""The near_duplicates check in batches (playbook_lib.checks.batch) gives exactly its whole-frame result.

Real data (GSM8K train from ../shared/data) with planted near copies (a few words of the answer replaced), hard
negatives (a third of the answer's words replaced), exact copies, 70 copies of one row (a bucket larger than the
all-pairs limit: the star and chain of the band join) and rows behind a shared preamble (boilerplate n-grams); cut
into batches of several sizes, with and without a spilling feature store, for every backend and the main options.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batching import assert_same, batches, run_in_batches

from playbook_lib.checks import CheckContext, uniqueness
from playbook_lib.checks.batch import FeatureStore, run_batched
from playbook_lib.checks.uniqueness import ALL_PAIRS_UP_TO, NearDuplicatesCheck, candidate_pairs, shingles
from playbook_lib.data import load_records, record_text, records_from_rows
from tests.conftest import need_module

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

PREAMBLE = (
    "You are a careful maths tutor. Read the word problem below, work through it step by step, show every "
    "calculation you make on its own line, check the arithmetic once more at the end and then give the final "
    "answer as a single number on the last line after four hash signs."
)


def _edited(text: str, rng: np.random.Generator, edits: int) -> str:
    words = text.split(" ")
    for k in rng.choice(len(words), min(edits, len(words)), replace=False).tolist():
        words[k] = f"zq{int(rng.integers(10**6))}"
    return " ".join(words)


def _jaccard(a: dict[str, str], b: dict[str, str]) -> float:
    sa, sb = (shingles(f"{r['instruction']}\n{r['output']}", 3) for r in (a, b))
    return len(sa & sb) / len(sa | sb)


Planted = tuple[pd.DataFrame, list[tuple[int, int]], list[int]]


@pytest.fixture(scope="module")
def planted() -> Planted:
    """1,500 GSM8K rows plus planted copies, in a seeded order; with the row numbers of each near copy (Jaccard
    >= 0.8) and its source, and of the hard negatives (< 0.7 to their source)."""
    path = SHARED / "sft" / "gsm8k_train.jsonl"
    if not path.is_file():
        pytest.skip("needs ../shared/data (see its README)")
    base = load_records(path).iloc[:1500]
    rows = [{"instruction": q, "output": a} for q, a in zip(base["instruction"], base["output"])]
    rng = np.random.default_rng(5)
    extra: list[tuple[str, int, dict[str, str]]] = []  # (kind, source row, row)
    for i in rng.choice(len(rows), 90, replace=False).tolist():
        near = {"instruction": rows[i]["instruction"], "output": _edited(rows[i]["output"], rng, 1)}
        extra.append(("near" if _jaccard(rows[i], near) >= 0.8 else "other", i, near))
    for i in rng.choice(len(rows), 30, replace=False).tolist():
        words = len(rows[i]["output"].split(" "))
        far = {"instruction": rows[i]["instruction"], "output": _edited(rows[i]["output"], rng, max(4, words // 3))}
        extra.append(("hard" if _jaccard(rows[i], far) < 0.7 else "other", i, far))
    for i in rng.choice(len(rows), 10, replace=False).tolist():
        extra.append(("other", i, {"instruction": rows[i]["instruction"].upper(), "output": rows[i]["output"]}))
    extra += [("other", 7, {"instruction": "  " + rows[7]["instruction"], "output": rows[7]["output"]})] * 70
    for i in range(120):
        question = rows[-1 - i]["instruction"] if i % 10 else rows[3]["instruction"]
        extra.append(("other", -1, {"instruction": f"{PREAMBLE}\n{question}", "output": rows[-1 - i]["output"]}))
    extra += [("other", -1, {"instruction": "", "output": ""}), ("other", -1, {"instruction": "???", "output": "!"})]
    mixed = [("base", -1, r) for r in rows] + extra
    order = rng.permutation(len(mixed))
    position = np.argsort(order)  # where each of mixed ends up
    frame = records_from_rows([mixed[i][2] for i in order])
    near = [(int(position[source]), int(position[k])) for k, (kind, source, _) in enumerate(mixed) if kind == "near"]
    hard = [int(position[k]) for k, (kind, _, _) in enumerate(mixed) if kind == "hard"]
    return frame, near, hard


OPTIONS = [
    {},
    {"threshold": 0.5, "ngram": 2},
    {"threshold": 1.0},
    {"max_ngram_rows": None},
    {"max_ngram_rows": 60, "num_perm": 64},
    {"fields": ["output"], "seed": 4},
    {"backend": "datasketch"},
    {"backend": "rensa"},
]


def _check(options: dict) -> NearDuplicatesCheck:
    if options.get("backend") == "rensa":
        need_module("rensa", "the rensa backend is optional: pip install rensa")
    return NearDuplicatesCheck(**options)


def test_the_planted_copies_are_found(planted: Planted) -> None:
    frame, near, hard = planted
    result = NearDuplicatesCheck().run(frame, CheckContext())
    assert len(near) > 60 and len(hard) > 20
    later = [max(pair) for pair in near]  # of a near copy and its source, the later row is flagged
    assert result.flags[later].mean() >= 0.95
    assert not result.flags[hard].any()
    assert result.summary["boilerplate_ngrams"] > 0  # the preamble's n-grams are boilerplate
    assert len(result.summary["largest_clusters"][0]) == 71  # the 70 copies and their source


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
@pytest.mark.parametrize("size", [7, 333, 5000])
def test_batched_equals_whole(planted: Planted, options: dict, size: int) -> None:
    frame = planted[0]
    whole = _check(options).run(frame, CheckContext())
    assert whole.flags.any()  # the planted copies are found, so the comparison compares something
    assert_same(whole, run_in_batches(_check(options), frame, size))


@pytest.mark.parametrize("options", [{}, {"backend": "datasketch"}, {"max_ngram_rows": None}])
def test_one_row_batches_and_a_spilling_store(planted: Planted, options: dict) -> None:
    frame = planted[0]
    part = frame.iloc[:300]
    whole = _check(options).run(part, CheckContext())
    assert whole.flags.any()
    assert_same(whole, run_in_batches(_check(options), part, 1, spill=True))


@pytest.mark.parametrize("options", [{}, {"max_ngram_rows": None}])
def test_the_verification_a_block_at_a_time_from_a_scratch_file(
    planted: Planted, options: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pairs verified a few at a time from the candidate rows' sets in the spilling store's folder (boilerplate
    found and discounted) give the result of one block in memory; the scratch files are gone afterwards."""
    frame = planted[0]
    whole = _check(options).run(frame, CheckContext())  # a store in memory: the sets in memory, one block
    assert whole.flags.any() and (whole.summary["boilerplate_ngrams"] > 0) == ("max_ngram_rows" not in options)
    made: list[Path] = []
    original = uniqueness._RowSets.gather

    def gather(self: uniqueness._RowSets, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        made.append(self._path)  # type: ignore[arg-type]
        return original(self, index)

    monkeypatch.setattr(uniqueness._RowSets, "gather", gather)
    monkeypatch.setattr(uniqueness, "VERIFY_VALUES", 2000)
    assert_same(whole, run_in_batches(_check(options), frame, 333, spill=True))
    assert len(made) > 20 and None not in made and not any(p.exists() for p in made)


def test_the_band_join_is_the_in_memory_bucketing(planted: Planted) -> None:
    """The candidate pairs joined in the store are exactly candidate_pairs of the rows' band keys, including a
    bucket larger than the all-pairs limit (70 copies of one row)."""
    frame = planted[0]
    n = len(frame)
    check = NearDuplicatesCheck()
    keys, active = check._signatures(record_text(frame, check.fields))
    codes = candidate_pairs(keys, active)
    with FeatureStore() as store:
        for part in batches(frame, 333):
            check.store_batch(store, part)
        a, b = check.candidates(store, n)
    np.testing.assert_array_equal(a * n + b, codes)
    copies = np.flatnonzero(frame["instruction"].str.startswith("  ").to_numpy())
    assert copies.size > ALL_PAIRS_UP_TO


@pytest.mark.parametrize("size", [1, 3, 100])
def test_small_and_empty_inputs(size: int) -> None:
    """Under 50 rows no n-gram can be boilerplate; rows without words have no band keys."""
    rows = [{"instruction": "", "output": ""}] * 3 + [{"instruction": "a b c d e f g", "output": "h"}] * 4
    rows += [{"instruction": "!!!", "output": "?"}, {"instruction": "one two three four", "output": "five"}]
    frame = records_from_rows(rows)
    whole = NearDuplicatesCheck().run(frame, CheckContext())
    assert whole.summary["removable"] == 3
    assert_same(whole, run_in_batches(NearDuplicatesCheck(), frame, size))
    empty = records_from_rows([{"instruction": "", "output": ""}] * 5)
    nothing = NearDuplicatesCheck().run(empty, CheckContext())
    assert nothing.summary["clusters"] == 0
    assert_same(nothing, run_in_batches(NearDuplicatesCheck(), empty, size))
    with FeatureStore() as store:  # no batch at all: no candidates, no table
        assert NearDuplicatesCheck().candidates(store, 0)[0].size == 0
        result = run_batched(NearDuplicatesCheck(), [], _NoRows(), CheckContext(), store)
    assert result.summary["rows"] == 0


class _NoRows:
    """A RowSource of no rows."""

    rows = 0
    skipped: list[str] = []

    def take(self, rows: object) -> pd.DataFrame:
        raise AssertionError("no row is read back when there are none")

    def scan(self, batch_rows: int = 65_536) -> list[pd.DataFrame]:
        return []
