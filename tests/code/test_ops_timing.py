"""Paired, repeated timings for the operations pages (scenarios.ops_timing): every step timed once per repeat in a
rotating order, batch sizes restored, and an incremental refresh timed against a rebuild of the same snapshot."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.ops.refresh import RefreshingIndex
from playbook_lib.ops.versioning import content_hash
from playbook_lib.rag.corpus import Document
from playbook_lib.scenarios.ops_timing import StepTimer, batch_timings, ratio_table, refresh_timings, time_steps


class CountingEmbedder:
    """A deterministic hashing embedder that records the texts and the batch size of every call."""

    dim = 8

    def __init__(self) -> None:
        self.batch_size = 64
        self.calls: list[tuple[int, int]] = []  # (batch size, texts)

    def embed_documents(self, texts):
        self.calls.append((self.batch_size, len(texts)))
        rows = [np.random.default_rng(int(content_hash(t), 16) % 2**32).normal(size=self.dim) for t in texts]
        x = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def test_every_step_is_timed_once_per_repeat_in_a_rotating_order() -> None:
    order: list[str] = []
    steps = {name: (lambda name=name: order.append(name)) for name in ("a", "b", "c")}
    frame = time_steps(steps, repeats=4, warmup=False)
    assert list(frame.columns) == ["a", "b", "c"] and len(frame) == 4 and (frame.to_numpy() >= 0).all()
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]
    time_steps(steps, repeats=1)
    assert order[-6:] == ["a", "b", "c", "a", "b", "c"]  # the warm-up pass, untimed, then the repeat
    with pytest.raises(ValueError, match="repeats"):
        time_steps(steps, repeats=0)


def test_batch_timings_vary_the_batch_size_and_restore_it() -> None:
    embedder = CountingEmbedder()
    frame = batch_timings(embedder, [f"text {i}" for i in range(6)], [1, 4], repeats=3)
    assert list(frame.columns) == [1, 4] and len(frame) == 3 and embedder.batch_size == 64
    assert {size for size, _ in embedder.calls} == {1, 4} and all(n == 6 for _, n in embedder.calls)


def test_refresh_timings_pair_an_incremental_refresh_with_a_rebuild_of_the_same_snapshot() -> None:
    embedder = CountingEmbedder()
    docs = [Document(id=f"d{i:02d}", text=f"document {i}") for i in range(20)]
    start = RefreshingIndex(embedder, {"m": "x"})
    start.refresh(docs)
    frame = refresh_timings(embedder, {"m": "x"}, start, docs, share=0.1, repeats=5, seed=3)
    assert len(frame) == 5 and (frame["changed"] == 2).all()
    assert (frame["incremental embedded"] == 2).all()  # each repeat's edits are new content, embedded once
    assert (frame["rebuild embedded"] == 20).all()
    assert (frame[["incremental s", "rebuild s"]].to_numpy() > 0).all()


def test_ratio_table_reads_each_column_against_the_baseline() -> None:
    import pandas as pd

    load = np.array([1.0, 2.0, 0.5, 1.5, 3.0])
    table = ratio_table(pd.DataFrame({1: 4 * load, 8: load}), 1)
    assert table.loc[8, "x faster than 1"] == pytest.approx(4.0) and table.loc[1, "x faster than 1"] == 1.0
    assert table.loc[8, "95% low"] == pytest.approx(4.0) and table.loc[8, "median s"] == pytest.approx(1.5)


def test_a_step_timer_keeps_one_row_per_repeat_and_refuses_unpaired_ones() -> None:
    timer = StepTimer()
    with pytest.raises(ValueError, match="new_repeat"):
        with timer.step("a"):
            pass
    for _ in range(3):
        timer.new_repeat()
        with timer.step("a"):
            pass
        with timer.step("b"):
            sum(range(1000))
    frame = timer.frame()
    assert list(frame.columns) == ["a", "b"] and len(frame) == 3 and (frame.to_numpy() >= 0).all()
    with pytest.raises(ValueError, match="already timed"):
        with timer.step("b"):
            pass
    timer.new_repeat()
    with timer.step("a"):
        pass
    with pytest.raises(ValueError, match="did not time every step"):
        timer.frame()


def test_batch_html_shows_the_measured_throughput_at_each_batch_size() -> None:
    import pandas as pd

    from playbook_lib.experiments.verdict import ratio_interval
    from playbook_lib.scenarios.ops_timing import batch_html

    seconds = pd.DataFrame(
        {1: [0.8, 1.0, 0.9, 1.1, 1.0], 4: [0.4, 0.5, 0.45, 0.5, 0.5], 16: [0.2, 0.25, 0.2, 0.3, 0.2]}
    )
    shown = {b: batch_html(seconds, 32, b) for b in (1, 4, 16)}
    assert len(set(shown.values())) == 3  # the output moves with the batch size
    assert "32.0" in shown[1] and f"{32 / 0.5:,.1f}" in shown[4] and f"{32 / 0.2:,.1f}" in shown[16]
    ratio = ratio_interval(seconds[1], seconds[16])
    assert f"{ratio.estimate:.2f} [{ratio.low:.2f}, {ratio.high:.2f}]" in shown[16]
    assert "1.00 [1.00, 1.00]" in shown[1] and "5 paired repeats" in shown[4]
    with pytest.raises(ValueError):
        batch_html(seconds, 32, 8)
