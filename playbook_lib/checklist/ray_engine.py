"""The checklist's pass on a Ray cluster (``playbook check --engine ray``): Ray Data reads the data and runs every
item's per-batch step on its workers; the global steps run where they always do.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``).

:class:`RayPass` is a :data:`~playbook_lib.checklist.stream.FeaturePass` for
:func:`~playbook_lib.checklist.stream.run_checklist_batched`: the same :class:`~playbook_lib.checklist.run.Report`
as the local pass, computed elsewhere. The data is cut into partitions: one per file of a folder or glob of shards,
and a single plain JSONL file into byte spans (:func:`~playbook_lib.data.load.split_jsonl`; a compressed file, CSV,
JSON or Parquet file is one partition). A Ray Data dataset holds one row per partition; ``map_batches`` gives each
to a worker, which reads it with :func:`~playbook_lib.data.iter_record_batches` (its frames numbered from 0 in the
partition) and yields, batch by batch, the row references (``rows__refs``, exactly as the local pass stores them)
and every active check's feature tables as Arrow IPC bytes, then the partition's row count, shape counts, skipped
rows and per-check seconds. The driver consumes the partitions in order (``preserve_order``), shifts every ``row``
column by the rows of the partitions before (:func:`shift_rows`: the batch contract names row numbers ``row`` and
nothing else), and appends the tables to its :class:`~playbook_lib.checks.batch.FeatureStore`, so the store, the
rows, the skipped rows and the files read are those of the local pass.

Why the global steps stay on the driver: what they read is the compact features (hashes, band keys, counts, a few
numbers per row), not the rows; DuckDB joins and groups them out of core under the store's memory limit, spilling
to disk, which a single machine does at the sizes one dataset reaches. Ray distributes what grows with the data's
bytes: reading, parsing and the per-row work (normal forms, MinHash signatures, regex scans). The rows a global
step reads again (candidate duplicates, examples) are read by the driver, at their stored byte offsets.

Details kept identical to the local pass: a check for another data shape skips its per-batch step when the data's
first batch (read on the driver: the first ``batch_rows`` rows) says so, and gets a second pass when the whole
data's shape differs; an error in a partition (a file that is not UTF-8, a corrupt stream) is raised as the local
pass raises it, for the first partition that has one. The checks are pickled to the workers (they hold plain
parameters; what they compile, such as Hyperscan databases, is built lazily on the worker). Workers run with
``PLAYBOOK_THREADS=1`` and ``OMP_NUM_THREADS=1`` (one CPU each). On a cluster of several machines every worker
must be able to read the data's path and import this package. ::

    from playbook_lib.checklist.ray_engine import RayPass
    from playbook_lib.checklist.stream import FileRows, run_checklist_batched
    source = FileRows("train-shards/")
    report, refs, store = run_checklist_batched(spec, source, context, feature_pass=RayPass(source))
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from playbook_lib.checklist.stream import _REFS, BATCH_ROWS, FileRows, _applies, _close, _refs_table
from playbook_lib.checks.batch import BatchCheck, FeatureStore
from playbook_lib.data.load import Span, iter_record_batches, split_jsonl
from playbook_lib.data.shape import Shape, majority_shape, shape_counts
from playbook_lib.errors import DataError, EmptyDataError, PlaybookError, UsageError
from playbook_lib.io.sources import compression_of, data_sources, format_of

#: The extra that installs Ray, as the error for a missing Ray names it.
INSTALL = "pip install 'data-models-playbook[ray]'"
#: CPUs of the local cluster started when no address is given.
DEFAULT_CPUS = 2
#: A plain JSONL file is cut into this many spans per CPU of the cluster (several per worker even out their loads)
#: but none smaller than :data:`MIN_SPAN_BYTES`.
SPANS_PER_CPU = 2
MIN_SPAN_BYTES = 8 << 20
#: What the workers' processes run with: one thread each, since Ray gives each task one CPU.
WORKER_ENV = {
    "PLAYBOOK_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
#: Seconds to wait for a given address to accept a connection before calling it unreachable.
CONNECT_TIMEOUT_S = 5.0
_SUMMARY = ""  # the name of the last row of a partition: its summary (JSON), not a table
_ERROR = "\x00error"  # the name of a partition's error row
_OUT_SCHEMA = pa.schema([("partition", pa.int64()), ("name", pa.string()), ("data", pa.large_binary())])


def ray_available() -> bool:
    """Whether Ray Data can be imported (``pip install 'data-models-playbook[ray]'``)."""
    import importlib.util  # lazy: only to look for Ray

    return importlib.util.find_spec("ray") is not None and importlib.util.find_spec("ray.data") is not None


def shift_rows(table: pa.Table, offset: int) -> pa.Table:
    """``table`` with its ``row`` column (row numbers, as the batch contract names them) plus ``offset``, its type
    kept; a table with no ``row`` column, or ``offset`` 0, is returned as it is."""
    if not offset or "row" not in table.column_names:
        return table
    where = table.column_names.index("row")
    column = table.column(where)
    shifted = pc.add(column, pa.scalar(offset, type=column.type))
    return table.set_column(where, table.schema.field(where), shifted)


@dataclasses.dataclass(frozen=True)
class Partition:
    """One unit of work: a file (``span`` None) or a byte span of one, read from ``read`` and named ``shown`` in
    messages and in the files list (the path as the data's path names it)."""

    number: int
    read: str
    shown: str
    span: Span | None = None


def partitions(source: FileRows, parts: int, min_bytes: int = MIN_SPAN_BYTES) -> list[Partition]:
    """The partitions of ``source``'s data: one per file of a folder or glob of shards; a single plain JSONL file
    cut into at most ``parts`` byte spans of at least ``min_bytes`` each (so a small file is one span)."""
    files = data_sources(source.path)
    fmt = source.format or format_of(files[0])
    if len(files) > 1 or fmt != "jsonl" or compression_of(files[0]) is not None:
        return [Partition(i, str(f.resolve()), str(f)) for i, f in enumerate(files)]
    file = files[0]
    wanted = max(1, min(parts, os.stat(file).st_size // max(min_bytes, 1)))
    return [
        Partition(i, str(file.resolve()), str(file), dataclasses.replace(span, path=file.resolve()))
        for i, span in enumerate(split_jsonl(file, wanted))
    ]


def _encoded(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _decoded(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def _out(number: int, rows: Sequence[tuple[str, bytes]]) -> pa.Table:
    return pa.table(
        {"partition": [number] * len(rows), "name": [n for n, _ in rows], "data": [d for _, d in rows]},
        schema=_OUT_SCHEMA,
    )


def partition_features(
    part: Partition,
    checks: Sequence[BatchCheck],
    active: Sequence[int],
    refs: bool,
    fmt: str,
    columns: dict[str, str] | None,
    batch_rows: int,
) -> Iterator[pa.Table]:
    """The work of one partition (on a worker): per batch, the refs table (when ``refs``) and the tables of the
    checks ``active``, as rows ``(partition, name, Arrow IPC bytes)``; then a summary row (``name`` empty) with the
    partition's rows, shape counts, skipped rows and per-check seconds as JSON. A data or usage error is
    sent as an error row (the driver raises it) instead of failing the Ray task."""
    skipped: list[str] = []
    files: list[dict[str, Any]] = []
    seconds = [0.0] * len(checks)
    shapes: Counter[Shape] = Counter()
    count = 0
    try:
        span = {"span": part.span} if part.span is not None else {}
        batches = iter_record_batches(part.read, fmt, columns, batch_rows, skipped, files, offsets=refs, **span)
        try:
            for records in batches:
                tables: list[tuple[str, bytes]] = []
                if refs:
                    tables.append((_REFS, _encoded(_refs_table(records))))
                    shapes.update(shape_counts(records))
                for number in active:
                    start = time.perf_counter()
                    tables += [(name, _encoded(table)) for name, table in checks[number].batch_tables(records)]
                    seconds[number] += time.perf_counter() - start
                count += len(records)
                yield _out(part.number, tables)
        except EmptyDataError:
            if count:
                raise
        finally:
            _close(batches)
    except PlaybookError as exc:
        kind = "usage" if isinstance(exc, UsageError) else "data"
        message = str(exc).replace(part.read, part.shown)
        yield _out(part.number, [(_ERROR, json.dumps({"kind": kind, "message": message}).encode())])
        return
    summary = {
        "rows": count,
        "shapes": {shape.value: n for shape, n in shapes.items()},
        "skipped": [_shown(m, part) for m in skipped],
        "seconds": seconds,
    }
    yield _out(part.number, [(_SUMMARY, json.dumps(summary).encode())])


def _shown(message: str, part: Partition) -> str:
    """A skipped row's ``file:line: reason`` with the file as the data's path names it."""
    return part.shown + message[len(part.read) :] if message.startswith(part.read) else message


def _features_udf(batch: pa.Table, **options: Any) -> Iterator[pa.Table]:
    """``map_batches``' function: every partition of ``batch`` (pickled :class:`Partition`) in turn."""
    for packed in batch.column("part").to_pylist():
        yield from partition_features(pickle.loads(packed), **options)


@dataclasses.dataclass
class _Totals:
    """What the driver gathers from the partitions' summaries, in partition order."""

    rows: int = 0
    shapes: Counter[Shape] = dataclasses.field(default_factory=Counter)
    skipped: list[str] = dataclasses.field(default_factory=list)
    files: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    seconds: list[float] = dataclasses.field(default_factory=list)


def _merge_file(files: list[dict[str, Any]], path: str, rows: int) -> None:
    """Count ``rows`` of ``path`` in ``files`` (the spans of one file are one entry, as a read of it gives)."""
    if files and files[-1]["path"] == path:
        files[-1]["rows"] += rows
    else:
        files.append({"path": path, "rows": rows})


class RayPass:
    """The pass on a Ray cluster, as a :data:`~playbook_lib.checklist.stream.FeaturePass` (see the module
    docstring). ``address``: a running cluster's (``host:port``, ``ray://host:port`` or ``auto``); None starts a
    local cluster of ``num_cpus`` CPUs (default :data:`DEFAULT_CPUS`) for the pass and stops it after. If this
    process is already connected to Ray, that cluster is used and left running. ``parts``: how many spans a single
    plain JSONL file is cut into (default: :data:`SPANS_PER_CPU` per CPU of the cluster, none under
    :data:`MIN_SPAN_BYTES`). ``on_batch(rows)`` is
    called for each batch as the driver stores it. After the pass, ``source`` knows its rows, skipped rows and
    files as after a local pass."""

    def __init__(
        self,
        source: FileRows,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        batch_rows: int = BATCH_ROWS,
        parts: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        if not ray_available():
            raise UsageError(f"--engine ray needs Ray: {INSTALL}")
        if num_cpus is not None and num_cpus < 1:
            raise UsageError(f"num_cpus must be at least 1, got {num_cpus}")
        if address is not None and num_cpus is not None:
            raise UsageError("num_cpus applies to the local cluster started when no address is given")
        self.source = source
        self.address = address
        self.num_cpus = num_cpus
        self.batch_rows = batch_rows
        self.parts = parts
        self.on_batch = on_batch

    def __call__(self, checks: list[BatchCheck], store: FeatureStore) -> tuple[Counter[Shape], list[float]]:
        first = iter_record_batches(self.source.path, self.source.format, self.source.columns, self.batch_rows)
        try:
            shape = majority_shape(shape_counts(next(first)))
        finally:
            _close(first)
        active = [i for i, check in enumerate(checks) if _applies(check, shape)]
        with cluster(self.address, self.num_cpus) as cpus:
            if self.parts is None:
                parts = partitions(self.source, SPANS_PER_CPU * cpus)
            else:  # as many as asked for, whatever their size
                parts = partitions(self.source, self.parts, min_bytes=1)
            totals = self._run(parts, checks, active, True, store)
            late = [
                i
                for i, check in enumerate(checks)
                if i not in active and _applies(check, majority_shape(totals.shapes))
            ]
            if late:
                again = self._run(parts, checks, late, False, store)
                totals.seconds = [a + b for a, b in zip(totals.seconds, again.seconds)]
        self.source.counted(totals.rows, totals.skipped, totals.files)
        return totals.shapes, totals.seconds

    def _run(
        self, parts: list[Partition], checks: list[BatchCheck], active: list[int], refs: bool, store: FeatureStore
    ) -> _Totals:
        """One pass of ``active`` checks over ``parts`` on the cluster, its tables appended to ``store`` in order."""
        import ray.data  # lazy: Ray is an optional extra

        fmt = self.source.format or format_of(data_sources(self.source.path)[0]) or ""
        totals = _Totals(seconds=[0.0] * len(checks))
        context = ray.data.DataContext.get_current()
        saved = (
            context.execution_options.preserve_order,
            context.enable_progress_bars,
            context.print_on_execution_start,
        )
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        data_log = logging.getLogger("ray.data")
        level = data_log.level
        data_log.setLevel(logging.ERROR)  # no "execution finished" lines: the caller shows progress
        try:
            items = [{"part": pickle.dumps(p)} for p in parts]
            dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
                _features_udf,
                batch_size=1,
                batch_format="pyarrow",
                fn_kwargs={
                    "checks": checks,
                    "active": active,
                    "refs": refs,
                    "fmt": fmt,
                    "columns": self.source.columns,
                    "batch_rows": self.batch_rows,
                },
                num_cpus=1,
                runtime_env={"env_vars": WORKER_ENV},
            )
            self._consume(dataset, parts, store, totals)
        finally:
            data_log.setLevel(level)
            (
                context.execution_options.preserve_order,
                context.enable_progress_bars,
                context.print_on_execution_start,
            ) = saved
        return totals

    def _consume(self, dataset: Any, parts: list[Partition], store: FeatureStore, totals: _Totals) -> None:
        """Store the tables the partitions send, in partition order, each ``row`` shifted by the rows before it;
        add up their summaries in ``totals``; raise the first partition's error as the local pass would."""
        expected = offset = 0
        for block in dataset.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=0):
            assert isinstance(block, pa.Table)  # batch_format="pyarrow"
            numbers, names = block.column("partition").to_pylist(), block.column("name").to_pylist()
            for number, name, data in zip(numbers, names, block.column("data").to_pylist()):
                if number != expected:
                    raise RuntimeError(f"partition {number} arrived before partition {expected} was complete")
                if name == _ERROR:
                    error = json.loads(data)
                    raise (UsageError if error["kind"] == "usage" else DataError)(error["message"])
                if name == _SUMMARY:
                    summary = json.loads(data)
                    totals.rows += summary["rows"]
                    totals.shapes.update({Shape(k): v for k, v in summary["shapes"].items()})
                    totals.skipped += summary["skipped"]
                    totals.seconds = [a + b for a, b in zip(totals.seconds, summary["seconds"])]
                    _merge_file(totals.files, parts[number].shown, summary["rows"])
                    offset += summary["rows"]
                    expected += 1
                    continue
                table = shift_rows(_decoded(data), offset)
                store.append(name, table)
                if name == _REFS and self.on_batch is not None:
                    self.on_batch(table.num_rows)
        if expected != len(parts):
            raise RuntimeError(f"{len(parts) - expected} of {len(parts)} partitions sent no summary")


@contextmanager
def cluster(address: str | None, num_cpus: int | None) -> Iterator[int]:
    """Ray for the length of a pass; yields the cluster's CPUs. Connects to ``address`` (checked to accept a
    connection first, so a wrong one fails in seconds rather than after Ray's minutes of retries), else starts a
    local cluster; either way, quietly (no dashboard, warnings only, workers' output not relayed), and shuts down
    what it started. A process already connected keeps its connection."""
    import ray  # lazy: Ray is an optional extra

    if address is not None:
        _reachable(address)
    if ray.is_initialized():
        yield int(ray.cluster_resources().get("CPU", 1))
        return
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False}
    try:
        if address is None:
            ray.init(address="local", num_cpus=num_cpus or DEFAULT_CPUS, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = f"--address {address}" if address is not None else "a local Ray cluster"
        raise UsageError(f"{where}: cannot start or connect to Ray ({_one_line(str(exc))})") from None
    try:
        yield int(ray.cluster_resources().get("CPU", 1))
    finally:
        ray.shutdown()


def _reachable(address: str) -> None:
    """Raise :class:`UsageError` unless ``address`` (``host:port`` or ``ray://host:port``; ``auto`` and ``local``
    are left to Ray) accepts a TCP connection within :data:`CONNECT_TIMEOUT_S`."""
    if address in ("auto", "local"):
        return
    text = address.split("://", 1)[1] if "://" in address else address
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--address {address}: not a Ray address (host:port, ray://host:port or auto)")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise UsageError(f"--address {address}: no Ray cluster answers there ({exc.strerror or exc})") from None


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]
