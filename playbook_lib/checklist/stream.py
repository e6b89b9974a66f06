"""Run a dataset checklist over data read in batches: one pass for every item's per-batch step, then each item's
global step over the stored features (the batch contract of :mod:`playbook_lib.checks.batch`).

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``).

:func:`run_checklist_batched` gives the :class:`~playbook_lib.checklist.run.Report` that
:func:`~playbook_lib.checklist.run.run_checklist` gives on the same rows loaded whole, with memory bounded by the
batch size and the feature store's ``memory_limit`` instead of the dataset's size: the rows are read once for every
item together (the pass), and again only where a global step asks for particular rows (the texts of candidate
duplicates, the few rows shown as examples). How each row is named in the reports (row, line, id) is stored during
the pass too (:class:`StoredRefs`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checklist.parse import ChecklistSpec, ItemSpec
from playbook_lib.checklist.rows import enrich_example, record_id
from playbook_lib.checklist.run import ItemResult, Report, _other_shape, describe
from playbook_lib.checks import CheckContext, get_check
from playbook_lib.checks.base import Check
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.data.shape import Shape, majority_shape, shape_counts
from playbook_lib.errors import UsageError

#: Rows per batch of the pass: large enough that the checks' vectorised loops amortise, small enough that a batch
#: of long rows stays in tens of megabytes.
BATCH_ROWS = 65_536
_REFS = "rows__refs"
_REFS_SCHEMA = pa.schema(
    [("row", pa.int64()), ("key", pa.int64()), ("start", pa.int64()), ("id_text", pa.string()), ("id_int", pa.int64())]
)


def _refs_table(records: pd.DataFrame) -> pa.Table:
    """How the rows of one batch are named: record key (the record model's ``line``), start line and own id."""
    keys = records["line"].to_numpy(dtype=np.int64)
    starts = records["start_line"].to_numpy(dtype=np.int64) if "start_line" in records.columns else keys
    ids = [record_id(r) for r in records["raw"].tolist()] if "raw" in records.columns else [None] * len(records)
    return pa.table(
        {
            "row": row_numbers(records),
            "key": keys,
            "start": starts,
            "id_text": [i if isinstance(i, str) else None for i in ids],
            "id_int": [i if isinstance(i, int) else None for i in ids],
        },
        schema=_REFS_SCHEMA,
    )


class StoredRefs:
    """:class:`~playbook_lib.checklist.rows.RowRefs` for streamed data: the references kept in the feature store
    during the pass, looked up for the rows a report names (flagged rows, examples)."""

    def __init__(self, store: FeatureStore) -> None:
        self._store = store

    def _lookup(self, column: str, values: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
        wanted = pa.table({"v": np.asarray(values, dtype=np.int64)})
        return self._store.query_with(
            wanted,
            f'SELECT r.row, r.key, r.start, r.id_text, r.id_int FROM "{_REFS}" r JOIN wanted w ON r.{column} = w.v '
            f"ORDER BY r.row",
        )

    def refs(self, rows: Sequence[int] | np.ndarray) -> list[dict[str, Any]]:
        """``{"row", "line"?, "id"?}`` of each of ``rows`` (ascending), as :meth:`RowRefs.ref` gives them."""
        found = self._lookup("row", rows)
        out = []
        for row, start, text, number in zip(
            found["row"].tolist(), found["start"].tolist(), found["id_text"].tolist(), found["id_int"].tolist()
        ):
            ref: dict[str, Any] = {"row": int(row)}
            if start > 0:
                ref["line"] = int(start)
            rid = text if isinstance(text, str) else (None if _missing(number) else int(number))
            if rid is not None:
                ref["id"] = rid
            out.append(ref)
        return out

    def ref(self, row: int) -> dict[str, Any]:
        """``{"row", "line"?, "id"?}`` of the 0-based ``row``."""
        return self.refs([row])[0]

    def row_of(self, key: int) -> int | None:
        """The first row whose record key is ``key``; None when none is."""
        found = self._lookup("key", [key])["row"]
        return int(found[0]) if found.size else None

    def lines(self, rows: np.ndarray) -> list[int]:
        """The physical start lines of ``rows`` (Parquet: none)."""
        return [r["line"] for r in self.refs(np.sort(np.asarray(rows, dtype=np.int64))) if "line" in r]

    def enrich(self, example: dict[str, Any]) -> dict[str, Any]:
        """An example with its record key(s) replaced by row references, as :meth:`RowRefs.enrich` does."""
        return enrich_example(example, self.row_of, self.ref)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def run_checklist_batched(
    spec: ChecklistSpec,
    data: RowSource,
    context: CheckContext | None = None,
    *,
    memory_limit: str | None = None,
    batch_rows: int = BATCH_ROWS,
    describe_data: Callable[[], dict[str, Any]] | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_item: Callable[[ItemSpec], None] | None = None,
    on_done: Callable[[ItemResult], None] | None = None,
) -> tuple[Report, StoredRefs, FeatureStore]:
    """Run every item of the dataset checklist ``spec`` over ``data`` in batches of ``batch_rows``: one pass
    (``on_batch(rows)`` after each batch), then each item's global step (``on_item`` before, ``on_done`` after).

    Returns the report, the stored row references (for :func:`~playbook_lib.checklist.rows.write_flags`) and the
    feature store, which the caller closes when it has written its reports. ``describe_data`` describes the data
    for the report (path, format, rows, skipped); default: what :func:`~playbook_lib.checklist.run.describe` says
    of a frame with ``data``'s rows.

    Raises:
        UsageError: an item's check reads something other than the dataset (a model plan, eval results) or has no
            per-batch step; the message names the items.
    """
    context = context or CheckContext()
    made: list[tuple[ItemSpec, Check]] = [(item, get_check(item.check)(**item.params)) for item in spec.items]
    whole = [item.id for item, check in made if not isinstance(check, BatchCheck) or "data" not in check.inputs]
    if whole:
        raise UsageError(f"items {', '.join(whole)} cannot run on batched data (no per-batch step): run them whole")
    checks = [(item, check) for item, check in made if isinstance(check, BatchCheck)]
    batched = [check for _, check in checks]
    for number, check in enumerate(batched):
        check.prefix = f"item{number}__"
    store = FeatureStore(memory_limit=memory_limit)
    try:
        seconds = [0.0] * len(batched)
        shapes: Counter[Shape] = Counter()
        for records in data.scan(batch_rows):
            shapes.update(shape_counts(records))
            store.append(_REFS, _refs_table(records))
            for number, check in enumerate(batched):
                start = time.perf_counter()
                check.store_batch(store, records)
                seconds[number] += time.perf_counter() - start
            if on_batch is not None:
                on_batch(len(records))
        shape = majority_shape(shapes)
        refs = StoredRefs(store)
        results = []
        for number, (item, check) in enumerate(checks):
            if on_item is not None:
                on_item(item)
            start = time.perf_counter()
            if check.shapes is not None and shape.value not in check.shapes:
                result = check.not_evaluated(data.rows, _other_shape(check.shapes, shape))
            else:
                result = check.finish(store, data, context)
            elapsed = seconds[number] + time.perf_counter() - start
            if len(result.flags) != data.rows:
                raise RuntimeError(f"check {item.check!r} returned {len(result.flags)} flags for {data.rows} rows")
            rows = np.flatnonzero(result.flags)
            examples = [refs.enrich(e) for e in result.examples]
            results.append(ItemResult(item, result, elapsed, refs.lines(rows), [int(x) for x in rows], examples))
            if on_done is not None:
                on_done(results[-1])
    except BaseException:
        store.close()
        raise
    summary = describe_data() if describe_data is not None else _described(data)
    described: dict[str, Any] = {
        "train": summary,
        "eval": describe(context.eval),
        "traffic": describe(context.traffic),
        "golden": describe(context.golden),
        "validation": describe(context.validation),
    }
    if context.licence is not None:
        described["licence"] = context.licence
    described["shape"] = shape.value
    return Report(spec, results, {k: v for k, v in described.items() if v is not None}), refs, store


def _described(data: RowSource) -> dict[str, Any]:
    skipped = list(data.skipped)
    return {"path": "", "format": "", "rows": data.rows, "skipped_rows": len(skipped), "skipped": skipped[:20]}


def scan_frames(frames: Sequence[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """``frames`` as batches indexed by global row (for tests and notebooks that hold their batches)."""
    offset = 0
    for frame in frames:
        part = frame.copy(deep=False)
        part.index = pd.RangeIndex(offset, offset + len(frame))
        offset += len(frame)
        yield part
