"""BatchCheck.prepare: a check's per-batch step gets what it needs of the run's context before the pass.

The contamination check indexes the eval set in ``prepare`` and matches every batch against it, so its global step
reads no row again but the few it shows; a prepared check pickles (an engine ships it to other processes) and gives
the same result there; batches without a prepare are refused.
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import pytest
from batching import assert_same, batches

from playbook_lib.checklist.parse import parse_checklist_text
from playbook_lib.checklist.stream import run_checklist_batched
from playbook_lib.checks import CheckContext, get_check
from playbook_lib.checks.batch import BatchCheck, FeatureStore, FrameRows, run_batched
from playbook_lib.checks.contamination import ContaminationCheck, _EvalGrams
from playbook_lib.checks.hashing import ngram_hashes
from playbook_lib.data import records_from_rows

rng = random.Random(7)
WORDS = [f"w{i}" for i in range(400)]


def _text(k: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(k))


EVAL = records_from_rows([{"instruction": _text(30), "output": _text(40)} for _ in range(40)])


def _train() -> pd.DataFrame:
    rows = [{"instruction": _text(25), "output": _text(30)} for _ in range(500)]
    questions, answers = EVAL["instruction"].tolist(), EVAL["output"].tolist()
    for k, j in enumerate((3, 9, 17)):  # exact copies of eval prompts
        rows[40 * k + 5] = {"instruction": questions[j].upper(), "output": "copied"}
    for k, j in enumerate((1, 4, 22, 30)):  # 20-word quotes of eval prompts
        rows[60 * k + 11]["instruction"] = "Look: " + " ".join(questions[j].split()[:20])
    rows[333]["output"] = answers[8]  # an eval answer copied into a training answer
    return records_from_rows(rows)


TRAIN = _train()


class CountingRows(FrameRows):
    """A frame as the row source that records which rows the global step reads back, and refuses a second pass."""

    def __init__(self, records: pd.DataFrame) -> None:
        super().__init__(records)
        self.taken: list[int] = []

    def take(self, rows: Sequence[int] | np.ndarray) -> pd.DataFrame:
        self.taken.extend(np.asarray(rows, dtype=np.int64).tolist())
        return super().take(rows)

    def scan(self, batch_rows: int = 65_536) -> Iterator[pd.DataFrame]:
        raise AssertionError("the global step scanned every row again")


@pytest.mark.parametrize("options", [{}, {"max_ngram_rows": 2}, {"fields": ["instruction"]}], ids=str)
def test_contamination_reads_back_only_the_rows_it_shows(options: dict) -> None:
    context = CheckContext(eval=EVAL)
    whole = get_check("contamination")(**options).run(TRAIN, context)
    assert whole.summary["exact_copies"] == 3 and whole.flags.sum() >= 7
    rows = CountingRows(TRAIN)
    with FeatureStore() as store:
        batched = run_batched(get_check("contamination")(**options), batches(TRAIN, 64), rows, context, store)
    assert_same(whole, batched)
    assert rows.taken == np.flatnonzero(whole.flags)[: get_check("contamination")().max_examples].tolist()


def test_a_prepared_check_pickles_and_gives_the_same_result() -> None:
    """As an engine that runs the per-batch step in other processes does: prepare here, batch on a copy there."""
    context = CheckContext(eval=EVAL)
    whole = get_check("contamination")().run(TRAIN, context)
    check = get_check("contamination")()
    check.prepare(context)
    shipped = pickle.loads(pickle.dumps(check))
    state = check._eval.index.__getstate__()
    assert not {"_seen", "_shift", "_low", "_mask"} & set(state)  # the lookup tables are rebuilt, not shipped
    np.testing.assert_array_equal(shipped._eval.index._seen, check._eval.index._seen)
    np.testing.assert_array_equal(shipped._eval.index._low, check._eval.index._low)
    with FeatureStore() as store:
        for part in batches(TRAIN, 100):
            for name, table in shipped.batch_tables(part):
                store.append(name, table)
        assert_same(whole, check.finish(store, FrameRows(TRAIN), context))


def test_the_bit_tables_pass_every_eval_ngram_and_only_their_slots() -> None:
    """The eval index's two lookup tables, one bit a slot: set exactly for the slots of the eval n-grams (their top
    bits in one, their low bits in the other), so no eval n-gram is missed and a train n-gram passes only where
    eval n-grams share both its slots."""
    index = _EvalGrams([" ".join(WORDS[(k * 7 + j * 13) % 400] for j in range(20)) for k in range(300)], 3)
    assert index._seen.dtype == np.uint8 and index._seen.size * 8 >= 8 * index.unique.size
    assert index._low.size * 8 >= 16 * index.unique.size
    np.testing.assert_array_equal(index._maybe(index.entry_gram), np.arange(index.entry_gram.size))
    probe = np.random.default_rng(3).integers(0, 2**64, 200_000, dtype=np.uint64)
    top = set((index.entry_gram >> index._shift).tolist())
    low = set((index.entry_gram & index._mask).tolist())
    in_top = np.array([s in top for s in (probe >> index._shift).tolist()])
    in_low = np.array([s in low for s in (probe & index._mask).tolist()])
    np.testing.assert_array_equal(index._maybe(probe), np.flatnonzero(in_top & in_low))
    # each table alone passes some probes the other stops, and some pass both: the test tells them apart
    assert (in_top & ~in_low).any() and (in_low & ~in_top).any() and (in_top & in_low).any()


def test_the_eval_index_is_the_sorted_distinct_ngram_text_pairs() -> None:
    """Its entries are the distinct (n-gram, eval text) pairs in hash then text order, positions in int32, and
    its runs of entries per distinct n-gram cover them; it keeps no n-gram list of its own (clean hashes again)."""
    texts = [_text(k % 9) + " w1 w2 w3 w1 w2 w3" for k in range(60)]  # short ones, and n-grams repeated in a text
    index = _EvalGrams(texts, 3)
    offsets, grams = ngram_hashes(texts, 3)
    pairs = sorted({(g, t) for t in range(len(texts)) for g in grams[offsets[t] : offsets[t + 1]].tolist()})
    assert list(zip(index.entry_gram.tolist(), index.entry_text.tolist())) == pairs
    assert index.entry_text.dtype == index.start.dtype == index.count.dtype == np.int32
    np.testing.assert_array_equal(index.unique[index.entry_id], index.entry_gram)
    np.testing.assert_array_equal(index.start, np.r_[0, np.cumsum(index.count)[:-1]])
    assert index.distinct.tolist() == [len(set(grams[offsets[t] : offsets[t + 1]].tolist())) for t in range(60)]
    assert not hasattr(index, "grams") and index.texts is texts


def test_batches_before_prepare_are_refused() -> None:
    check = get_check("contamination")()
    with pytest.raises(RuntimeError, match="prepare"):
        check.batch(TRAIN.iloc[:10])
    check.prepare(CheckContext())  # no eval set: empty features, not evaluated
    assert all(not t.num_rows for t in check.batch(TRAIN.iloc[:10]).values())
    with pytest.raises(RuntimeError, match="another eval set"):
        with FeatureStore() as store:
            check.finish(store, FrameRows(TRAIN), CheckContext(eval=EVAL))


def test_the_checklist_prepares_every_check_once_before_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    original_batch = BatchCheck.batch_tables
    for cls in (BatchCheck, ContaminationCheck):  # the base's hook and an override of it
        original = cls.prepare

        def prepare(self: BatchCheck, context: CheckContext, original=original) -> None:
            calls.append(("prepare", id(self)))
            original(self, context)

        monkeypatch.setattr(cls, "prepare", prepare)

    def batch_tables(self: BatchCheck, records: pd.DataFrame) -> list:
        calls.append(("batch", id(self)))
        return original_batch(self, records)

    monkeypatch.setattr(BatchCheck, "batch_tables", batch_tables)
    spec = parse_checklist_text(
        "name: t\nitems:\n  - {id: a, title: A, check: exact_duplicates}\n  - {id: b, title: B, check: contamination}\n"
    )
    report, _, store = run_checklist_batched(spec, FrameRows(TRAIN), CheckContext(eval=EVAL), batch_rows=128)
    store.close()
    prepared = [who for what, who in calls if what == "prepare"]
    assert len(prepared) == 2 == len(set(prepared)) and calls[:2] == [("prepare", w) for w in prepared]
    assert {who for what, who in calls if what == "batch"} == set(prepared)
    assert report.items[1].result.summary["exact_copies"] == 3
