"""The embedding checks (``relevance``, ``embedding_coverage``) in batches give exactly their whole-frame result.

Real data from ../shared/data, built as :mod:`playbook_lib.experiments.embedders` builds its cases: GSM8K train
questions with LIMA rows planted (off-topic for ``relevance``), and production traffic of GSM8K test questions and
LIMA instructions (uncovered) against GSM8K train (``embedding_coverage``). Most cases embed with the static model
(fast); one small case with the packaged MiniLM. The in-process memo of vectors is emptied before every run, so the
batched run embeds for itself instead of reusing the whole run's vectors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from batching import assert_same, run_in_batches

from playbook_lib.checks import CheckContext, CheckResult, embedding, get_check
from playbook_lib.checks.batch import FeatureStore, FrameRows, run_batched
from playbook_lib.checks.statistics import sample_positions
from playbook_lib.data import load_records, records_from_rows

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TASK = "Grade-school math word problems: a short story with numbers and one question to compute."


def _shared(name: str) -> pd.DataFrame:
    path = SHARED / "sft" / name
    if not path.is_file():
        pytest.skip("needs ../shared/data (see its README)")
    return load_records(path)


def _rows(frame: pd.DataFrame, with_output: bool = True, **extra: str) -> list[dict[str, Any]]:
    outputs = frame["output"].tolist() if with_output else [None] * len(frame)
    return [
        {"instruction": q, **({"output": a} if a is not None else {}), **extra}
        for q, a in zip(frame["instruction"], outputs)
    ]


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    """1,200 GSM8K train rows, 36 LIMA rows (general chat: off-topic) and two rows without text, in a seeded
    order."""
    gsm, lima = _shared("gsm8k_train.jsonl").iloc[:1200], _shared("lima_llamafactory.json").iloc[:36]
    rows = _rows(gsm) + _rows(lima) + [{"instruction": "", "output": ""}, {"instruction": "   ", "output": "x"}]
    order = np.random.default_rng(5).permutation(len(rows))
    return records_from_rows([rows[i] for i in order])


@pytest.fixture(scope="module")
def traffic() -> pd.DataFrame:
    """150 GSM8K test questions (covered by GSM8K train) and 60 LIMA instructions (not), each with a category, and
    one query without text, in a seeded order."""
    test, lima = _shared("gsm8k_test.jsonl").iloc[:150], _shared("lima_llamafactory.json").iloc[200:260]
    rows = _rows(test, False, category="math") + _rows(lima, False, category="chat") + [{"instruction": " "}]
    order = np.random.default_rng(6).permutation(len(rows))
    return records_from_rows([rows[i] for i in order])


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A references file: 300 other GSM8K train rows (on the task)."""
    gsm = _shared("gsm8k_train.jsonl").iloc[3000:3300]
    path = tmp_path_factory.mktemp("refs") / "references.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _rows(gsm)), encoding="utf-8")
    return str(path)


def _fresh() -> None:
    """Forget every vector embedded in this process (the checks' in-memory cache)."""
    embedding._MEMO.clear()


def _whole(name: str, options: dict[str, Any], records: pd.DataFrame, context: CheckContext) -> CheckResult:
    _fresh()
    return get_check(name)(**options).run(records, context)


def _batched(
    name: str, options: dict[str, Any], records: pd.DataFrame, size: int, context: CheckContext, spill: bool = False
) -> CheckResult:
    _fresh()
    return run_in_batches(get_check(name)(**options), records, size, context, spill=spill)


def _found(result: CheckResult) -> bool:
    """Whether the planted problem shows: off-topic rows flagged, or uncovered traffic reported with examples."""
    if result.check == "relevance":
        return bool(result.flags.any()) and bool(result.examples) and bool(result.details)
    return result.summary["uncovered"] > 0 and bool(result.examples)


RELEVANCE = [
    {"model": "static"},  # every row scored against its nearest rows: every row read back by scan
    {"model": "static", "sample": 400},  # the sample read back by take, compared with every row
    {"model": "static", "sample": 400, "corpus_sample": 600, "seed": 2},
    {"model": "static", "task": TASK, "z_threshold": 2.5},
    {"model": "static", "references": "REFS", "sample": 500, "k": 3},
    {"model": "static", "fields": ["instruction"], "z_threshold": None, "null_floor": False, "min_similarity": 0.45},
]
COVERAGE = [
    {"model": "static", "by": None},  # clusters of uncovered queries
    {"model": "static"},  # grouped by the traffic's category
    {"model": "static", "by": None, "sample": 100, "seed": 1},
    {"model": "static", "train_sample": 500, "fields": ["instruction", "output"]},
]
CASES = [("relevance", o) for o in RELEVANCE] + [("embedding_coverage", o) for o in COVERAGE]


def _options(options: dict[str, Any], references: str) -> dict[str, Any]:
    return {k: references if v == "REFS" else v for k, v in options.items()}


@pytest.mark.parametrize(("name", "options"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_batched_equals_whole(
    planted: pd.DataFrame, traffic: pd.DataFrame, references: str, name: str, options: dict[str, Any]
) -> None:
    options, context = _options(options, references), CheckContext(traffic=traffic)
    whole = _whole(name, options, planted, context)
    assert _found(whole), whole.message  # the planted problem is found, so the comparison compares something
    for size in (7, 333, len(planted) + 100):
        assert_same(whole, _batched(name, options, planted, size, context))


@pytest.mark.parametrize("name", ["relevance", "embedding_coverage"])
def test_one_row_batches_and_a_spilling_store(planted: pd.DataFrame, traffic: pd.DataFrame, name: str) -> None:
    part, context = planted.iloc[:300], CheckContext(traffic=traffic)
    options = {"model": "static", "by": None} if name == "embedding_coverage" else {"model": "static", "sample": 200}
    whole = _whole(name, options, part, context)
    assert_same(whole, _batched(name, options, part, 1, context, spill=True))


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("relevance", {"model": "static"}),
        ("relevance", {"model": "static", "sample": 400}),
        ("relevance", {"model": "static", "task": TASK, "z_threshold": 2.5}),
        ("embedding_coverage", {"model": "static", "by": None}),
    ],
)
def test_rows_read_back_in_several_reads_give_the_same_result(
    planted: pd.DataFrame, traffic: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, name: str, options: dict[str, Any]
) -> None:
    """Data larger than one read (``READ_ROWS``, here 100 rows): the rows are read back and embedded 100 at a time,
    and with the static model (one text's vector does not depend on the texts embedded with it) the result is the
    one of a single read."""
    context = CheckContext(traffic=traffic)
    one_read = _whole(name, options, planted, context)
    monkeypatch.setattr(embedding, "READ_ROWS", 100)
    counting = Counting(planted)
    _fresh()
    with FeatureStore() as store:
        reads = run_batched(get_check(name)(**options), [planted], counting, context, store)
    assert_same(one_read, reads)
    assert max(counting.sizes) <= 100 and len(counting.sizes) > len(planted) // 100
    assert_same(one_read, _batched(name, options, planted, 333, context))


class Counting(FrameRows):
    """A row source that records how many rows each read back returns."""

    def __init__(self, records: pd.DataFrame) -> None:
        super().__init__(records)
        self.sizes: list[int] = []
        self.taken: list[int] = []
        self.scans = 0

    def take(self, rows: Sequence[int] | np.ndarray) -> pd.DataFrame:
        part = super().take(rows)
        self.sizes.append(len(part))
        self.taken.extend(int(r) for r in part.index)
        return part

    def scan(self, batch_rows: int = 65_536) -> Iterator[pd.DataFrame]:
        self.scans += 1
        for part in super().scan(batch_rows):
            self.sizes.append(len(part))
            yield part


def test_a_sample_reads_back_only_the_sampled_rows(planted: pd.DataFrame, traffic: pd.DataFrame) -> None:
    """Against a task, a sample of 300 reads back its 300 rows (and the few shown as examples), never every row;
    the per-batch step stores one row number and one flag per row."""
    rows = Counting(planted)
    options = {"model": "static", "task": TASK, "z_threshold": 2.5, "sample": 300}
    check = get_check("relevance")(**options)
    _fresh()
    with FeatureStore() as store:
        result = run_batched(check, [planted.iloc[:500], planted.iloc[500:]], rows, CheckContext(), store)
        stored = store.query(f'SELECT * FROM "{check.table("rows")}"')
    assert sorted(stored) == ["has_text", "row"] and stored["row"].tolist() == list(range(len(planted)))
    assert rows.scans == 0
    picked = sample_positions(len(planted), 300, 0)
    assert picked is not None and set(rows.taken) <= set(picked.tolist())
    scored = picked[stored["has_text"][picked]]
    assert result.examples and len(rows.taken) == len(scored) + len(result.examples)  # the sample, then the examples
    assert_same(_whole("relevance", options, planted, CheckContext()), result)


def test_a_cache_file_and_minilm(tmp_path: Path, planted: pd.DataFrame, traffic: pd.DataFrame) -> None:
    """The packaged MiniLM on a small part (questions only: 100 rows, 6 of them LIMA's, and 30 queries), vectors
    kept in an ``.npz`` file: the batched run reads the whole run's vectors back from the file and gives its
    result."""
    part, queries = planted.iloc[:100], traffic.iloc[:30]
    assert part["instruction"].isin(_shared("lima_llamafactory.json")["instruction"]).sum() == 6
    context = CheckContext(traffic=queries)
    for name, options in [("relevance", {"sample": 60}), ("embedding_coverage", {"by": None})]:
        options = {**options, "fields": ["instruction"], "cache": str(tmp_path / f"{name}.npz")}
        whole = _whole(name, options, part, context)
        assert (tmp_path / f"{name}.npz").is_file() and whole.summary["model"] == "minilm"
        assert _found(whole), whole.message
        assert_same(whole, _batched(name, options, part, 7, context))
