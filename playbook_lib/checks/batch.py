"""The batch contract: a check as a per-batch step over record batches and a global step over their features.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``).

A :class:`BatchCheck` never needs the whole dataset at once. Its :meth:`~BatchCheck.batch` step reads one batch of
records (the record model of :mod:`playbook_lib.data`, indexed by the rows' global 0-based numbers) and returns
compact per-row features as Arrow tables: a normal-form hash, the rows a regex matched, a token count. Batches are
independent, so they can be computed in any order, in other processes or on other machines. The features of every
batch are appended to a :class:`FeatureStore`, a DuckDB database in a temporary folder with a memory limit, which
spills to disk instead of growing without bound. The :meth:`~BatchCheck.finish` step then runs once over the stored
features (a group-by, a join, an aggregate, in SQL) and builds the check's :class:`~playbook_lib.checks.base.
CheckResult`. What it needs of the rows themselves (the texts of candidate duplicates, the few rows shown as
examples) it asks of a :class:`RowSource` by row number, so only those rows are ever read again.

A check whose per-batch step needs the run's :class:`~playbook_lib.checks.base.CheckContext` (the contamination
check's eval n-grams) computes what it needs from it in :meth:`~BatchCheck.prepare`, called once before the first
batch. ``BatchCheck.run(records, context)`` is the in-memory case of the same steps (one batch, the frame as the row
source), so the whole-frame API and the batched one give one result by construction; tests split real data into
batches of several sizes and compare. ::

    from playbook_lib.checks.batch import FeatureStore, FrameRows, run_batched
    with FeatureStore(memory_limit="1GB") as store:
        result = run_batched(check, batches, FrameRows(records), context, store)
"""

from __future__ import annotations

import re
import shutil
import tempfile
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import Check, CheckContext, CheckResult
from playbook_lib.errors import UsageError

#: A DuckDB memory limit as ``playbook check --memory-limit`` takes it: a number and a unit.
_LIMIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def parse_memory_limit(text: str) -> str:
    """``text`` checked as a memory limit (``"4GB"``, ``"512 MiB"``) and returned in DuckDB's spelling.

    Raises:
        UsageError: anything else (a bare number, a negative or zero size, an unknown unit), in one line.
    """
    match = _LIMIT.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"memory limit must be a size such as 4GB or 512MiB, got {text!r}")
    return f"{match.group(1)}{match.group(2).upper().replace('I', 'i')}"


#: Rows a global step reads back at a time (:meth:`RowSource.take` of that many positions, or :meth:`RowSource.scan`
#: batches): their records, not every candidate's, are in memory at once.
READ_ROWS = 65_536


class RowSource(Protocol):
    """Rows by their global 0-based number, in the record model (what :meth:`BatchCheck.finish` reads again)."""

    @property
    def rows(self) -> int:
        """How many rows the data has."""
        ...

    @property
    def skipped(self) -> list[str]:
        """The rows the reader could not read (``"file:line: reason"``), which have no row number."""
        ...

    def take(self, rows: Sequence[int] | np.ndarray) -> pd.DataFrame:
        """The records of ``rows`` (ascending, distinct), indexed by their row numbers."""
        ...

    def scan(self, batch_rows: int = READ_ROWS) -> Iterator[pd.DataFrame]:
        """Every row again, in batches indexed by row number (a global step that needs a second pass, e.g. to
        count how many rows hold the n-grams its candidates share)."""
        ...


class FrameRows:
    """A :class:`RowSource` over a loaded record frame."""

    def __init__(self, records: pd.DataFrame) -> None:
        self._records = records

    @property
    def rows(self) -> int:
        return len(self._records)

    @property
    def skipped(self) -> list[str]:
        return list(self._records.attrs.get("skipped", []))

    def take(self, rows: Sequence[int] | np.ndarray) -> pd.DataFrame:
        positions = np.asarray(rows, dtype=np.int64)
        part = self._records.iloc[positions]
        part.index = pd.Index(positions)
        return part

    def scan(self, batch_rows: int = READ_ROWS) -> Iterator[pd.DataFrame]:
        for lo in range(0, len(self._records), batch_rows):
            part = self._records.iloc[lo : lo + batch_rows]
            part.index = pd.RangeIndex(lo, lo + len(part))
            yield part


#: The memory limit :meth:`FeatureStore.release` sets for a moment to make DuckDB evict its cached blocks.
RELEASED_LIMIT = "16MB"

#: Bytes of Arrow data appended between two :meth:`FeatureStore.release` calls during the pass: without them DuckDB
#: keeps every appended block cached until its memory limit (0.24 GB per million rows of the default checklist's
#: features, so the whole limit from four million rows on), which the pass does not need; with them it holds about
#: this much of them at a time, whatever the number of rows.
RELEASE_EVERY = 256 * 2**20

#: Bytes of Arrow data :meth:`FeatureStore.append` holds back, to insert them in one statement per table: an insert
#: costs DuckDB about a millisecond and a half whatever its size, which small batches (a shard's last rows, a small
#: ``--batch-rows``) pay once per table per batch; a batch this large goes in at once, as before.
PENDING_BYTES = 4 * 2**20
#: Appends held back at most (an empty table counts no bytes but holds memory of its own: a few kB).
PENDING_PARTS = 256


class FeatureStore:
    """The features of every batch, in DuckDB tables: in memory, or in a database file in a temporary folder
    (``spill=True``, the default when a ``memory_limit`` is given) from which DuckDB evicts to disk when the
    limit is reached. The folder is removed on :meth:`close`. Table names are given by the caller
    (:meth:`BatchCheck.table` prefixes them per item)."""

    def __init__(
        self,
        memory_limit: str | None = None,
        spill: bool | None = None,
        threads: int | None = None,
        release_every: int = RELEASE_EVERY,
    ) -> None:
        import duckdb  # lazy: DuckDB loads only when a check runs

        spill = memory_limit is not None if spill is None else spill
        self._folder = Path(tempfile.mkdtemp(prefix="playbook-features-")) if spill else None
        database = str(self._folder / "features.duckdb") if self._folder is not None else ":memory:"
        try:
            self._con = duckdb.connect(database)
        except duckdb.Error as exc:
            self._remove()
            raise _store_error(exc, self._folder) from None
        if self._folder is not None:
            self._con.execute(f"SET temp_directory = '{self._folder / 'spill'}'")
        else:  # never spill into the working directory (DuckDB's default is ./.tmp)
            self._con.execute("SET temp_directory = ''")
        self._limit = parse_memory_limit(memory_limit) if memory_limit is not None else None
        if self._limit is not None:
            self._con.execute(f"SET memory_limit = '{self._limit}'")
        if threads is not None:
            self._con.execute(f"SET threads = {int(threads)}")
        self._con.execute("SET preserve_insertion_order = true")
        self._tables: set[str] = set()
        #: Appended tables not inserted yet, in order (see :data:`PENDING_BYTES`); every read inserts them first.
        self._pending: dict[str, list[pa.Table]] = {}
        self._pending_bytes = self._pending_parts = 0
        self._release_every, self._appended = release_every, 0
        #: How many times :meth:`release` gave the cached blocks back (or tried to).
        self.releases = 0

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the database and remove its folder."""
        self._con.close()
        self._remove()

    def _remove(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def release(self) -> None:
        """Give back the memory DuckDB holds of the stored tables (its cache of their blocks, which would grow to the
        memory limit as the pass appends), before a step that needs memory of its own and after each
        ``release_every`` bytes :meth:`append` takes: the limit is lowered to
        :data:`RELEASED_LIMIT` for a moment, which evicts the cached blocks, then restored. The tables stay in the
        database file and are read again when queried. Nothing for a store without a file (its tables are its
        memory) or without a memory limit."""
        self.flush()  # the held-back appends go in first, so that their blocks are released too
        if self._folder is None or self._limit is None:
            return
        import duckdb  # lazy: loaded already, by this store

        self.releases += 1
        try:
            self._con.execute(f"SET memory_limit = '{RELEASED_LIMIT}'")
        except duckdb.OutOfMemoryException:
            pass  # blocks in use could not be evicted: the limit stays as it was and nothing is released
        finally:
            self._con.execute(f"SET memory_limit = '{self._limit}'")

    def append(self, table: str, data: pa.Table) -> None:
        """Append ``data`` to ``table`` (created from ``data``'s schema on first use); after each ``release_every``
        bytes appended, :meth:`release` (the appended blocks are not read again during the pass). Small appends
        are held back and inserted together (:data:`PENDING_BYTES`); a read (:meth:`query`) inserts them first, so
        what it sees is every append in order."""
        self._appended += data.nbytes
        if self._appended >= self._release_every:
            self._appended = 0
            self.release()
        self._pending.setdefault(table, []).append(data)
        self._pending_bytes += data.nbytes
        self._pending_parts += 1
        if self._pending_bytes >= PENDING_BYTES or self._pending_parts >= PENDING_PARTS:
            self.flush()

    def flush(self) -> None:
        """Insert the held-back appends, one statement per table (one per append where their schemas differ, so
        that DuckDB casts each as it would have). Every read does it first; the pass does it at its end, so that
        the inserts count as the pass's time."""
        pending, self._pending, self._pending_bytes, self._pending_parts = self._pending, {}, 0, 0
        for table, parts in pending.items():
            first = parts[0].schema
            if len(parts) > 1 and all(p.schema.equals(first) for p in parts[1:]):
                parts = [pa.concat_tables(parts)]
            for part in parts:
                self._insert(table, part)

    def _insert(self, table: str, data: pa.Table) -> None:
        with self._visible("_incoming", data):
            try:
                if table in self._tables:
                    self._con.execute(f'INSERT INTO "{table}" SELECT * FROM _incoming')
                else:
                    self._con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM _incoming')
                    self._tables.add(table)
            except _failures() as exc:
                raise _store_error(exc, self._folder) from None

    @contextmanager
    def _visible(self, name: str, data: pa.Table) -> Iterator[None]:
        """``data`` visible to SQL as ``name`` inside the block; a store that cannot even register or drop it (out
        of its memory limit, its disk full) is one :class:`UsageError`, never one hiding the block's own error."""
        try:
            self._con.register(name, data)
        except _failures() as exc:
            raise _store_error(exc, self._folder) from None
        done = False
        try:
            yield
            done = True
        finally:
            try:
                self._con.unregister(name)
            except _failures() as exc:
                if done:  # else the block's own error is on its way out
                    raise _store_error(exc, self._folder) from None

    @property
    def folder(self) -> Path | None:
        """The store's temporary folder (removed on :meth:`close`), where a global step may keep scratch files of
        its own instead of memory; None for a store in memory."""
        return self._folder

    def has(self, table: str) -> bool:
        """Whether any batch stored ``table``."""
        return table in self._tables or table in self._pending

    def median(self, table: str, expression: str, params: Sequence[Any] = ()) -> float:
        """The median of ``expression`` over ``table``'s rows, exactly as :func:`numpy.median` computes it (the
        middle value, or the mean of the middle two), read from the store without loading the column: NaN when the
        table is empty."""
        count = int(self.query(f'SELECT count(*) AS n FROM "{table}"')["n"][0])
        if not count:
            return float("nan")
        middle = self.query(
            f'SELECT {expression} AS v FROM "{table}" ORDER BY v LIMIT {2 - count % 2} OFFSET {(count - 1) // 2}',
            params,
        )["v"]
        return float(np.mean(middle.astype(np.float64)))

    def query_with(self, wanted: pa.Table, sql: str, params: Sequence[Any] = ()) -> dict[str, np.ndarray]:
        """:meth:`query` with ``wanted`` visible to ``sql`` as the table ``wanted`` (e.g. rows to look up)."""
        with self._visible("wanted", wanted):
            return self.query(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> dict[str, np.ndarray]:
        """The result of ``sql`` as NumPy columns.

        Raises:
            UsageError: the store cannot write its spill files (disk full, a file-size limit) or runs out of its
                memory limit: one line naming the folder.
        """
        self.flush()
        try:
            out = self._con.execute(sql, list(params)).fetchnumpy()
        except _failures() as exc:
            raise _store_error(exc, self._folder) from None
        return {name: _unmasked(values) for name, values in out.items()}


def _failures() -> tuple[type[Exception], ...]:
    """DuckDB's errors of the store's resources (its files, its memory limit), not of the SQL: a failed commit
    (``TransactionException``) is one too, as the store's one connection has no other transaction to conflict
    with (DuckDB raises it when it cannot write its write-ahead log, e.g. a file-size limit)."""
    import duckdb  # lazy: DuckDB loads only when a check runs (loaded by now)

    return (duckdb.IOException, duckdb.OutOfMemoryException, duckdb.TransactionException)


def _store_error(exc: Exception, folder: Path | None) -> UsageError:
    """A DuckDB failure to write or fit the features as one line (the store's folder, DuckDB's reason)."""
    where = f"in {folder}" if folder is not None else "in memory"
    why = " ".join(str(exc).split())[:300]
    return UsageError(f"the feature store {where} failed: {why} (free disk space, or raise --memory-limit)")


def _unmasked(values: Any) -> np.ndarray:
    """A fetched column as a plain array: SQL NULLs (a masked array's masked entries) become ``None`` in an object
    array instead of whatever value the mask hid."""
    if isinstance(values, np.ma.MaskedArray):
        plain = np.asarray(values.data)
        if np.ma.is_masked(values):
            plain = plain.astype(object)
            plain[np.ma.getmaskarray(values)] = None
        return plain
    return np.asarray(values)


class BatchCheck(Check):
    """A check in two steps: :meth:`batch` per batch of records, :meth:`finish` once over the stored features."""

    #: The feature tables :meth:`batch` returns (every batch returns each, possibly with no rows).
    tables: ClassVar[tuple[str, ...]]
    #: Set by :func:`run_batched` (the item's id in a checklist): keeps two items of one check apart in a store.
    prefix: str = ""

    def prepare(self, context: CheckContext) -> None:
        """Called once with the run's context before any :meth:`batch` (by :func:`run_batched`, so by :meth:`run`
        too, and by the checklist's pass): a check whose per-batch step needs what the context holds (the eval set
        it compares against) precomputes it here. What it keeps must pickle (an engine may ship the prepared check
        to other processes): plain arrays, sets and strings, or state rebuilt lazily. Default: nothing."""

    @abstractmethod
    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """Per-row features of one batch (``records.index``: the rows' global numbers), one table per name in
        :attr:`tables`. A column that holds row numbers is named ``row`` and no other column does: an engine that
        numbers each partition's rows from 0 (:mod:`playbook_lib.checklist.ray_engine`) shifts exactly those."""

    @abstractmethod
    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        """The result over every batch's features; ``rows`` gives back any row by number."""

    def table(self, name: str) -> str:
        """The store's name of this check's feature table ``name``."""
        return f"{self.prefix}{self.name}__{name}"

    def batch_tables(self, records: pd.DataFrame) -> list[tuple[str, pa.Table]]:
        """:meth:`batch` on ``records``, each table under its store name, checked against :attr:`tables`."""
        out = self.batch(records)
        if set(out) != set(self.tables):
            raise RuntimeError(f"{self.name}: batch returned tables {sorted(out)}, declared {sorted(self.tables)}")
        return [(self.table(name), out[name]) for name in self.tables]

    def store_batch(self, store: FeatureStore, records: pd.DataFrame) -> None:
        """Run :meth:`batch` on ``records`` and append its tables to ``store``."""
        for name, table in self.batch_tables(records):
            store.append(name, table)

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        """Both steps on a loaded frame: one batch, the frame as the row source."""
        with FeatureStore() as store:
            return run_batched(self, [_global_rows(records)], FrameRows(records), context, store)


def _global_rows(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` indexed by row number (0..n-1), as a batch of the whole data."""
    if isinstance(records.index, pd.RangeIndex) and records.index.start == 0 and records.index.step == 1:
        return records
    out = records.copy(deep=False)
    out.index = pd.RangeIndex(len(records))
    return out


def run_batched(
    check: BatchCheck,
    batches: Iterable[pd.DataFrame],
    rows: RowSource,
    context: CheckContext,
    store: FeatureStore,
) -> CheckResult:
    """Prepare ``check`` with ``context``, run its per-batch step on each of ``batches`` (record frames indexed by
    global row, together every row of ``rows`` once), then its global step; return its result."""
    check.prepare(context)
    for records in batches:
        check.store_batch(store, records)
    return check.finish(store, rows, context)


def row_numbers(records: pd.DataFrame) -> np.ndarray:
    """The global row numbers of a batch (its index) as int64."""
    return np.asarray(records.index, dtype=np.int64)
