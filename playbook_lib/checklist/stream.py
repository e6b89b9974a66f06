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
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checklist.parse import ChecklistSpec, ItemSpec
from playbook_lib.checklist.rows import enrich_example, record_id
from playbook_lib.checklist.run import ItemResult, Report, _other_shape, described, item_result
from playbook_lib.checks import CheckContext, get_check
from playbook_lib.checks.base import Check
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.data.load import iter_record_batches, read_jsonl_at
from playbook_lib.data.shape import Shape, majority_shape, shape_counts
from playbook_lib.errors import UsageError
from playbook_lib.io.sources import compression_of, data_sources, format_of

#: Rows per batch of the pass: large enough that the checks' vectorised loops amortise, small enough that a batch
#: of long rows stays in tens of megabytes.
BATCH_ROWS = 65_536
_REFS = "rows__refs"
_REFS_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("key", pa.int64()),
        ("start", pa.int64()),
        ("id_text", pa.string()),
        ("id_int", pa.int64()),
        ("offset", pa.int64()),
    ]
)


def _refs_table(records: pd.DataFrame) -> pa.Table:
    """How the rows of one batch are named: record key (the record model's ``line``), start line and own id, and
    where its line starts in its file (``records.attrs["offsets"]`` of ``iter_record_batches(..., offsets=True)``;
    -1 when not known), so a global step can read it again alone."""
    keys = records["line"].to_numpy(dtype=np.int64)
    starts = records["start_line"].to_numpy(dtype=np.int64) if "start_line" in records.columns else keys
    ids = [record_id(r) for r in records["raw"].tolist()] if "raw" in records.columns else [None] * len(records)
    given = records.attrs.get("offsets")
    offsets = (
        np.asarray(given, dtype=np.int64)
        if given is not None and len(given) == len(records)
        else np.full(len(records), -1, dtype=np.int64)
    )
    return pa.table(
        {
            "row": row_numbers(records),
            "key": keys,
            "start": starts,
            "id_text": [i if isinstance(i, str) else None for i in ids],
            "id_int": [i if isinstance(i, int) else None for i in ids],
            "offset": offsets,
        },
        schema=_REFS_SCHEMA,
    )


class StoredRefs:
    """:class:`~playbook_lib.checklist.rows.RowRefs` for streamed data: the references kept in the feature store
    during the pass, looked up for the rows a report names (flagged rows, examples). ``files`` (``{"path",
    "rows"}`` in order, as :func:`~playbook_lib.data.iter_record_batches` lists them) adds each row's ``file`` when
    the data is more than one file."""

    def __init__(self, store: FeatureStore, files: Sequence[dict[str, Any]] = ()) -> None:
        self._store = store
        self._files = [str(f["path"]) for f in files] if len(files) > 1 else []
        self._ends = np.cumsum([int(f["rows"]) for f in files]) if len(files) > 1 else np.zeros(0, np.int64)

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
            if self._files:
                ref["file"] = self._files[int(np.searchsorted(self._ends, row, side="right"))]
            if start > 0:
                ref["line"] = int(start)
            rid = text if isinstance(text, str) else (None if _missing(number) else int(number))
            if rid is not None:
                ref["id"] = rid
            out.append(ref)
        return out

    def offsets(self, rows: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(rows, keys, offsets)`` of the distinct ``rows`` found, ascending: each row's record key (its JSONL line
        number) and the byte offset in its own file where its line starts (-1 where the pass did not know it).
        None once the feature store is closed."""
        import duckdb  # lazy: loaded already, by the store these refs are in

        wanted = pa.table({"v": np.unique(np.asarray(rows, dtype=np.int64))})
        try:
            found = self._store.query_with(
                wanted, f'SELECT r.row, r.key, r.offset FROM "{_REFS}" r JOIN wanted w ON r.row = w.v ORDER BY r.row'
            )
        except duckdb.ConnectionException:  # the store was closed (the run is over): nothing to look up
            return None
        return (
            found["row"].astype(np.int64),
            found["key"].astype(np.int64),
            found["offset"].astype(np.int64),
        )

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


#: The feature store's memory cap when ``playbook check`` reads in batches and none is given: past it, DuckDB
#: spills to a temporary folder, so the global steps' memory does not grow with the rows.
DEFAULT_MEMORY_LIMIT = "1GB"


def _batched(check: Check) -> bool:
    return isinstance(check, BatchCheck) and "data" in check.inputs


def whole_items(spec: ChecklistSpec) -> list[str]:
    """The ids of ``spec``'s items that cannot run on batched data (no per-batch step, or no ``data`` input: a
    model checklist's items); empty when :func:`run_checklist_batched` can run the whole checklist."""
    return [item.id for item in spec.items if not _batched(get_check(item.check)(**item.params))]


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
    feature_pass: FeaturePass | None = None,
) -> tuple[Report, StoredRefs, FeatureStore]:
    """Run every item of the dataset checklist ``spec`` over ``data`` in batches of ``batch_rows``: one pass
    (``on_batch(rows)`` after each batch), then each item's global step (``on_item`` before, ``on_done`` after).
    ``feature_pass`` does the pass another way (on a Ray cluster: :mod:`playbook_lib.checklist.ray_engine`); the
    global steps then read ``data`` for the rows they ask for.

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
    whole = [item.id for item, check in made if not _batched(check)]
    if whole:
        raise UsageError(f"items {', '.join(whole)} cannot run on batched data (no per-batch step): run them whole")
    checks = [(item, check) for item, check in made if isinstance(check, BatchCheck)]
    batched = [check for _, check in checks]
    for number, check in enumerate(batched):
        check.prefix = f"item{number}__"
    store = FeatureStore(memory_limit=memory_limit)
    try:
        prepared = [0.0] * len(batched)  # what a per-batch step needs of the context (the eval set), before the pass
        for number, check in enumerate(batched):
            start = time.perf_counter()
            check.prepare(context)
            prepared[number] = time.perf_counter() - start
        if feature_pass is None:
            shapes, seconds = local_pass(data, batched, store, batch_rows, on_batch)
        else:
            shapes, seconds = feature_pass(batched, store)
        store.flush()  # the appends held back: inserted now, not inside the first item's time
        shape = majority_shape(shapes)
        refs = StoredRefs(store, getattr(data, "files", ()))
        if isinstance(data, FileRows):
            data.seek_with(refs)
            data.batch_rows = batch_rows
        results = []
        for number, (item, check) in enumerate(checks):
            if on_item is not None:
                on_item(item)
            start = time.perf_counter()
            store.release()  # the previous step's cached blocks: each global step has the memory limit to itself
            if check.shapes is not None and shape.value not in check.shapes:
                result = check.not_evaluated(data.rows, _other_shape(check.shapes, shape))
            else:
                result = check.finish(store, data, context)
            elapsed = prepared[number] + seconds[number] + time.perf_counter() - start
            results.append(item_result(item, result, elapsed, refs, data.rows))
            results[-1].result = result.compact()  # kept for the reports in memory that does not grow per item
            if on_done is not None:
                on_done(results[-1])
    except BaseException:
        store.close()
        raise
    summary = describe_data() if describe_data is not None else _described(data)
    return Report(spec, results, described("train", summary, context, shape)), refs, store


#: A pass over the data: every batch's features of every check appended to the store; returns the rows' shape
#: counts and each check's seconds in its per-batch step.
FeaturePass = Callable[[list[BatchCheck], FeatureStore], tuple[Counter[Shape], list[float]]]


def local_pass(
    data: RowSource,
    checks: Sequence[BatchCheck],
    store: FeatureStore,
    batch_rows: int = BATCH_ROWS,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[Counter[Shape], list[float]]:
    """The pass in this process: ``data`` scanned once in batches, every batch's features stored.

    A check that applies to other data shapes (post-training pair checks on instruction data) skips its per-batch
    step when the first batch's shape says it will not be evaluated; should the whole data's shape turn out
    different (a first batch unlike the rest), the skipped checks get a second pass of their own."""
    seconds = [0.0] * len(checks)
    shapes: Counter[Shape] = Counter()
    active: list[int] | None = None
    for records in data.scan(batch_rows):
        counts = shape_counts(records)
        if active is None:
            active = [i for i, check in enumerate(checks) if _applies(check, majority_shape(counts))]
        store.append(_REFS, _refs_table(records))
        _store_batch([checks[i] for i in active], records, store, seconds, active)
        shapes.update(counts)
        if on_batch is not None:
            on_batch(len(records))
    shape = majority_shape(shapes)
    late = [i for i, check in enumerate(checks) if i not in (active or []) and _applies(check, shape)]
    if late:
        for records in data.scan(batch_rows):
            _store_batch([checks[i] for i in late], records, store, seconds, late)
    return shapes, seconds


def _applies(check: BatchCheck, shape: Shape) -> bool:
    return check.shapes is None or shape.value in check.shapes


def _store_batch(
    checks: Sequence[BatchCheck], records: pd.DataFrame, store: FeatureStore, seconds: list[float], which: list[int]
) -> None:
    for number, check in zip(which, checks):
        start = time.perf_counter()
        for name, table in check.batch_tables(records):
            store.append(name, table)
        seconds[number] += time.perf_counter() - start


def _described(data: RowSource) -> dict[str, Any]:
    skipped = list(data.skipped)
    return {"path": "", "format": "", "rows": data.rows, "skipped_rows": len(skipped), "skipped": skipped[:20]}


class FileRows:
    """A :class:`~playbook_lib.checks.batch.RowSource` over a dataset on disk: a file, a folder of shards or a glob
    pattern, plain or compressed, read in batches by :func:`~playbook_lib.data.iter_record_batches` (never whole).

    ``rows``, ``skipped`` and ``files`` are known once a :meth:`scan` has read to the end (the pass of
    :func:`run_checklist_batched` does). :meth:`take` reads the data again up to the last row it is asked for;
    once :meth:`seek_with` has given it the rows' stored byte offsets (:func:`run_checklist_batched` does, after
    the pass), it reads just the lines asked for from plain JSONL files instead.
    """

    def __init__(
        self,
        path: str | Path,
        format: str | None = None,
        columns: Mapping[str, str] | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self.path = Path(path)
        self.format = format
        self.columns = dict(columns) if columns else None
        #: Rows per batch of a :meth:`scan` that names none (a global step's second pass): the run's batch size,
        #: so a second pass holds no more rows at once than the first (:func:`run_checklist_batched` sets it).
        self.batch_rows = batch_rows
        self._rows: int | None = None
        self._skipped: list[str] = []
        self.files: list[dict[str, Any]] = []
        self._refs: StoredRefs | None = None
        _close(iter_record_batches(self.path, format, self.columns))  # a wrong format or path fails here, at once

    @property
    def rows(self) -> int:
        if self._rows is None:
            raise RuntimeError(f"{self.path}: the number of rows is known after the first pass")
        return self._rows

    @property
    def skipped(self) -> list[str]:
        return list(self._skipped)

    def scan(self, batch_rows: int | None = None) -> Iterator[pd.DataFrame]:
        """The rows in batches of ``batch_rows`` (default :attr:`batch_rows`), indexed by global row number."""
        batch_rows = batch_rows or self.batch_rows
        skipped: list[str] = []
        files: list[dict[str, Any]] = []
        count = 0
        batches = iter_record_batches(self.path, self.format, self.columns, batch_rows, skipped, files, offsets=True)
        for batch in batches:
            count += len(batch)
            yield batch
        self._rows, self._skipped, self.files = count, skipped, files

    def counted(self, rows: int, skipped: Sequence[str], files: Sequence[dict[str, Any]]) -> None:
        """What a pass that read the data elsewhere found (the Ray engine's workers): ``rows``, ``skipped`` and
        ``files`` as :meth:`scan` would have set them."""
        self._rows, self._skipped, self.files = int(rows), list(skipped), [dict(f) for f in files]

    def seek_with(self, refs: StoredRefs) -> None:
        """Read rows again at the byte offsets ``refs`` holds for them (the refs stored by a pass over this data):
        :meth:`take` then reads only the lines it is asked for, where every file is plain JSONL."""
        self._refs = refs

    def take(self, rows: Sequence[int] | np.ndarray) -> pd.DataFrame:
        """The records of ``rows`` (any order, repeats allowed), indexed by their row numbers: read at their stored
        offsets where it can (:meth:`seek_with`), else by reading the data again up to the last of them."""
        asked = np.asarray(rows, dtype=np.int64)
        found = self._seek(asked)
        return found if found is not None else self._rescan(asked)

    def _seekable(self) -> list[Path] | None:
        """The data's files when rows can be read at their offsets: stored refs, every file plain JSONL, and for
        shards the rows of each known (a pass read them all)."""
        if self._refs is None:
            return None
        sources = data_sources(self.path)
        if (self.format or format_of(sources[0])) != "jsonl" or any(compression_of(f) for f in sources):
            return None
        if len(sources) > 1 and [str(f["path"]) for f in self.files] != [str(f) for f in sources]:
            return None
        return sources

    def _seek(self, asked: np.ndarray) -> pd.DataFrame | None:
        """:meth:`take` by seeking to each wanted row's line; None where the offsets are not all known."""
        sources = self._seekable()
        if sources is None or self._refs is None:
            return None
        wanted = np.unique(asked)
        stored = self._refs.offsets(wanted)
        if stored is None:
            self._refs = None  # the run is over and its store closed: read the data again from now on
            return None
        rows, keys, offsets = stored
        if rows.size != wanted.size or (offsets < 0).any():
            return None  # rows past the end, or not read with offsets: the re-read says which
        ends = np.cumsum([int(f["rows"]) for f in self.files]) if len(sources) > 1 else np.zeros(0, np.int64)
        which = np.searchsorted(ends, rows, side="right")
        parts = []
        for number in np.unique(which).tolist() or [0]:
            chosen = which == number
            part = read_jsonl_at(sources[number], offsets[chosen], keys[chosen], self.columns)
            part.index = pd.Index(rows[chosen])
            parts.append(part)
        found = pd.concat(parts) if len(parts) > 1 else parts[0]
        return found.loc[asked]

    def _rescan(self, asked: np.ndarray) -> pd.DataFrame:
        """:meth:`take` by reading the data again from its start up to the last row asked for."""
        wanted = np.unique(asked)
        parts: list[pd.DataFrame] = []
        batches = iter_record_batches(self.path, self.format, self.columns, BATCH_ROWS)
        try:
            for batch in batches:
                if not parts and not wanted.size:
                    parts.append(batch.iloc[0:0])
                    break
                lo, hi = batch.index[0] if len(batch) else 0, batch.index[0] + len(batch) if len(batch) else 0
                inside = wanted[(wanted >= lo) & (wanted < hi)]
                if inside.size:
                    parts.append(batch.loc[inside])
                if not wanted.size or hi > wanted[-1]:
                    break
        finally:
            _close(batches)
        found = pd.concat(parts) if len(parts) > 1 else parts[0]
        if len(found) != wanted.size:
            raise RuntimeError(f"{self.path}: asked for rows up to {wanted[-1]}, the data has fewer")
        return found.loc[asked]

    def describe(self) -> dict[str, Any]:
        """The data as the report describes it (path as given, format, rows, skipped rows, shards)."""
        fmt = self.format or format_of(data_sources(self.path)[0]) or ""
        out: dict[str, Any] = {
            "path": str(self.path),
            "format": fmt,
            "rows": self.rows,
            "skipped_rows": len(self._skipped),
            "skipped": self._skipped[:20],
        }
        if len(self.files) > 1:
            out["files"] = len(self.files)
        return out


def _close(batches: Iterator[pd.DataFrame]) -> None:
    """Close a batch generator stopped early (its file is closed at once, not when it is collected)."""
    close = getattr(batches, "close", None)
    if close is not None:
        close()


def scan_frames(frames: Sequence[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """``frames`` as batches indexed by global row (for tests and notebooks that hold their batches)."""
    offset = 0
    for frame in frames:
        part = frame.copy(deep=False)
        part.index = pd.RangeIndex(offset, offset + len(frame))
        offset += len(frame)
        yield part
