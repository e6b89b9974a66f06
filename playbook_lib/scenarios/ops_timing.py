"""Repeated, paired timings for the Model–Data Operations pages' speed claims.

Taught in ``notebooks/ops_01_pipeline_overview``, ``ops_05_rag_workflow`` and ``ops_07_operation_types``. One
timing on a shared machine says little: another process can double a step's time. So every step of a claim is
timed once per *repeat*, the steps of a repeat one after another (their order rotated from repeat to repeat), and
the claim compares steps *within* a repeat: the ratio of two steps' seconds in the same repeat cancels the load
both shared. :func:`time_steps` reruns fixed steps; :class:`StepTimer` times the steps of a loop whose repeats
differ (one request per question, so that no repeat reuses the previous one's cached prompt). :func:`~playbook_lib.experiments.verdict.ratio_interval` turns the per-repeat ratios into a
geometric-mean ratio with its 95 % interval, and :mod:`playbook_lib.scenarios.ops_claims` judges it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from playbook_lib.experiments.verdict import ratio_interval
from playbook_lib.ops.refresh import RefreshingIndex
from playbook_lib.scenarios.operations import edit_share

if TYPE_CHECKING:
    import pandas as pd

    from playbook_lib.embeddings.model import Embedder
    from playbook_lib.rag.corpus import Document


def time_steps(steps: Mapping[str, Callable[[], object]], repeats: int, warmup: bool = True) -> pd.DataFrame:
    """Run every step once per repeat and time it: one row per repeat, one column (seconds) per step, in the order
    of ``steps``. Repeat ``r`` starts at step ``r mod len(steps)`` so no step always runs first or last; an untimed
    warm-up pass runs first when ``warmup`` (caches, lazy imports, allocator)."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    names = list(steps)
    if not names:
        raise ValueError("no steps to time")
    if warmup:
        for name in names:
            steps[name]()
    rows: list[dict[str, float]] = []
    for r in range(repeats):
        row: dict[str, float] = {}
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            steps[name]()
            row[name] = time.perf_counter() - start
        rows.append({name: row[name] for name in names})
    frame = pd.DataFrame(rows, columns=names)
    frame.index.name = "repeat"
    return frame


class StepTimer:
    """Seconds per named step per repeat, for a loop that runs a chain of dependent steps once per repeat.

    For example::

        timer = StepTimer()
        for question in questions:
            timer.new_repeat()
            with timer.step("embed"):
                vector = embedder.embed_query(question)
            ...
        timer.frame()  # one row per repeat, one column per step
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def new_repeat(self) -> None:
        """Start the next repeat's row."""
        self.rows.append({})

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as step ``name`` of the current repeat (once per repeat)."""
        if not self.rows:
            raise ValueError("call new_repeat() before timing a step")
        if name in self.rows[-1]:
            raise ValueError(f"step {name!r} already timed in this repeat")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.rows[-1][name] = time.perf_counter() - start

    def frame(self) -> pd.DataFrame:
        """One row per repeat, one column per step in the order first timed; a repeat that skipped a step is
        refused (the steps of a claim are paired by repeat)."""
        import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

        names = list(dict.fromkeys(name for row in self.rows for name in row))
        incomplete = [i for i, row in enumerate(self.rows) if set(row) != set(names)]
        if incomplete:
            raise ValueError(f"repeats {incomplete} did not time every step of {names}")
        frame = pd.DataFrame(self.rows, columns=names)
        frame.index.name = "repeat"
        return frame


def batch_timings(embedder: Embedder, texts: Sequence[str], batch_sizes: Sequence[int], repeats: int) -> pd.DataFrame:
    """:func:`time_steps` of embedding ``texts`` at each of ``batch_sizes`` (the embedder's ``batch_size``, restored
    afterwards): one row per repeat, one column per batch size."""
    if not hasattr(embedder, "batch_size"):
        raise TypeError(f"{type(embedder).__name__} has no batch_size to vary")
    original = embedder.batch_size
    items = list(texts)

    def at(size: int) -> Callable[[], object]:
        def run() -> object:
            embedder.batch_size = size
            return embedder.embed_documents(items)

        return run

    try:
        frame = time_steps({str(size): at(size) for size in batch_sizes}, repeats)
    finally:
        embedder.batch_size = original
    frame.columns = [int(c) for c in frame.columns]
    return frame


def refresh_timings(
    embedder: Embedder,
    settings: dict[str, Any],
    start: RefreshingIndex,
    snapshot: Sequence[Document],
    share: float,
    repeats: int,
    seed: int = 0,
) -> pd.DataFrame:
    """Time an incremental refresh against a full rebuild ``repeats`` times, paired: in repeat ``r``, ``share`` of
    the documents of the current snapshot change (:func:`~playbook_lib.scenarios.operations.edit_share`, seed
    ``seed + r``, so edits accumulate and every change is new content); the index at the current snapshot is
    refreshed to the new one (incremental) and a new index with an empty cache is built from it (rebuild), in
    alternating order. The rebuilt index is the next repeat's starting index. ``start`` must be at ``snapshot``
    and is advanced by the first repeat. One row per repeat: seconds of each, documents each embedded."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    index, current = start, list(snapshot)
    rows = []
    for r in range(repeats):
        updated, changed = edit_share(current, share, seed=seed + r)
        rebuilt = RefreshingIndex(embedder, settings)
        timed: dict[str, float] = {}
        embedded: dict[str, int] = {}
        order = [("incremental", index), ("rebuild", rebuilt)]
        for name, target in order if r % 2 == 0 else order[::-1]:
            began = time.perf_counter()
            embedded[name] = target.refresh(updated).embedded
            timed[name] = time.perf_counter() - began
        rows.append(
            {
                "incremental s": timed["incremental"],
                "rebuild s": timed["rebuild"],
                "incremental embedded": embedded["incremental"],
                "rebuild embedded": embedded["rebuild"],
                "changed": len(changed),
            }
        )
        index, current = rebuilt, updated
    frame = pd.DataFrame(rows)
    frame.index.name = "repeat"
    return frame


def ratio_table(seconds: pd.DataFrame, baseline: object) -> pd.DataFrame:
    """Per column of ``seconds`` (repeats x steps): the median seconds and the geometric-mean ratio of the
    ``baseline`` column's seconds to its own in the same repeat (above 1: faster than the baseline), with the 95 %
    interval of :func:`~playbook_lib.experiments.verdict.ratio_interval`."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    rows = []
    for column in seconds.columns:
        interval = ratio_interval(seconds[baseline], seconds[column])
        rows.append(
            {
                "step": column,
                "median s": round(float(seconds[column].median()), 4),
                f"x faster than {baseline}": round(interval.estimate, 2),
                "95% low": round(interval.low, 2),
                "95% high": round(interval.high, 2),
            }
        )
    return pd.DataFrame(rows).set_index("step")


def batch_html(seconds: pd.DataFrame, n_texts: int, batch_size: int) -> str:
    """HTML for one setting of the operation-types page's batch-size explorer over the page's own
    :func:`batch_timings` (``seconds``: repeats x batch sizes, measured on the machine that ran the page): at
    ``batch_size``, the median seconds to embed the ``n_texts`` texts, the texts per second that median gives, and
    the speed-up over the smallest batch size with its 95 % interval (a row of :func:`ratio_table`)."""
    import html  # lazy: only where a setting is rendered

    if batch_size not in seconds.columns:
        raise ValueError(f"batch size {batch_size} was not timed (timed: {list(seconds.columns)})")
    baseline = min(seconds.columns)
    row = ratio_table(seconds, baseline).loc[batch_size]
    median = float(row["median s"])
    cells = [
        ("median seconds for the texts", f"{median:.4f}"),
        ("texts per second (at the median)", f"{n_texts / median:,.1f}" if median > 0 else "n/a"),
        (
            f"times faster than batch {baseline} [95 % interval]",
            f"{row[f'x faster than {baseline}']:.2f} [{row['95% low']:.2f}, {row['95% high']:.2f}]",
        ),
    ]
    body = "".join(f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td></tr>" for a, b in cells)
    return (
        f"<p data-pb-batch='{int(batch_size)}'>Batch size {int(batch_size)}: {int(n_texts)} texts embedded, "
        f"{len(seconds)} paired repeats, timed on the machine that ran this page</p>"
        f"<table><thead><tr><th>measure</th><th>value</th></tr></thead><tbody>{body}</tbody></table>"
    )
