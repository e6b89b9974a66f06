"""Which rows a report means: one documented reference for every flagged row, and the flagged-rows file.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``).

Every report names a row the same way:

- ``row``: the 0-based index of the record in the file, counting only the records that were read (a line that could
  not be read is listed under the data's ``skipped`` rows and has no index);
- ``line``: the 1-based physical line where the record starts, for JSONL, CSV (a quoted field may hold line breaks:
  the record's first line) and JSON arrays; absent for Parquet, which has no lines;
- ``id``: the record's own ``id`` (or ``_id``) field, when it has one;
- ``file``: the file the record was read from, when the data is more than one file (a folder or glob pattern of
  shards, :func:`~playbook_lib.data.load_records`): ``row`` counts over all shards, ``line`` within ``file``.

``playbook check --flags FILE`` writes every flagged row of every item (:func:`flag_rows`, :func:`write_flags`):
item, check, row, line, id, reason, score and what the check knows of the row (``detail``: the PII kinds, the
duplicate's cluster and kept row, the matching eval row, ...), with personal data masked.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from playbook_lib.errors import UsageError
from playbook_lib.io.outputs import write_atomic
from playbook_lib.text.masking import masked

#: The record fields that name a row (the first present wins).
ID_FIELDS = ("id", "_id")
FLAG_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def record_id(raw: Any) -> Any:
    """The record's own id (``id`` or ``_id`` of its source object), or None."""
    if isinstance(raw, dict):
        for key in ID_FIELDS:
            value = raw.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                return value
    return None


class RowRefs:
    """Look up ``row`` / ``line`` / ``id`` for the rows of one loaded dataset (the record model)."""

    def __init__(self, records: pd.DataFrame) -> None:
        self._records = records
        self._keys = records["line"].to_numpy() if "line" in records.columns else np.zeros(0, np.int64)
        self._starts = (
            records["start_line"].to_numpy() if "start_line" in records.columns else self._keys
        )  # a frame built before start_line existed: the key is the line
        self._index: pd.Index | None = None
        self._files: list[str] = []
        self._ends = np.zeros(0, np.int64)
        files = records.attrs.get("files")
        if isinstance(files, list) and len(files) > 1:
            counts = [int(f.get("rows", 0)) for f in files if isinstance(f, dict)]
            if len(counts) == len(files) and sum(counts) == len(records):  # not a slice that kept the attrs
                self._files = [str(f.get("path", "")) for f in files]
                self._ends = np.cumsum(counts)

    def ref(self, row: int) -> dict[str, Any]:
        """``{"row", "file"?, "line"?, "id"?}`` of the 0-based ``row`` (``file`` when the data is several files)."""
        out: dict[str, Any] = {"row": int(row)}
        if self._files:
            out["file"] = self._files[int(np.searchsorted(self._ends, row, side="right"))]
        line = int(self._starts[row])
        if line > 0:
            out["line"] = line
        rid = record_id(self._records["raw"].iat[row]) if "raw" in self._records.columns else None
        if rid is not None:
            out["id"] = rid
        return out

    def row_of(self, key: int) -> int | None:
        """The first 0-based row whose record key (the record model's ``line``) is ``key``; None when none is (keys
        repeat only across the files of sharded data, where checks name the row itself)."""
        if self._index is None:
            self._index = pd.Index(self._keys)
        if self._index.is_unique:
            position = int(self._index.get_indexer([key])[0])
        else:
            found = np.flatnonzero(self._keys == key)
            position = int(found[0]) if found.size else -1
        return position if position >= 0 else None

    def lines(self, rows: np.ndarray) -> list[int]:
        """The physical start lines of ``rows`` (Parquet: none)."""
        starts = self._starts[rows]
        return [int(x) for x in starts if x > 0]

    def refs(self, rows: np.ndarray | list[int]) -> list[dict[str, Any]]:
        """:meth:`ref` of each of ``rows``."""
        return [self.ref(int(r)) for r in rows]

    def enrich(self, example: dict[str, Any]) -> dict[str, Any]:
        """An example as the reports show it: its record key ``line`` (or ``lines`` of a cluster) replaced by the
        row reference (``row``, the physical ``line``, ``id``). A key that names no record (a skipped row's
        ``file:line`` text) stays as it is."""
        return enrich_example(example, self.row_of, self.ref)


def enrich_example(
    example: dict[str, Any], row_of: Callable[[int], int | None], ref: Callable[[int], dict[str, Any]]
) -> dict[str, Any]:
    """:meth:`RowRefs.enrich` with the lookups given: ``row_of`` (record key to row) and ``ref`` (row to its
    reference), so that references kept elsewhere (a streamed run's feature store) name rows the same way."""
    out = dict(example)
    key = out.get("line")
    given = out.pop("row", None)  # a check that knows the row says so (record keys repeat across shards)
    if _is_int(given) or _is_int(key):
        row = int(cast(int, given)) if _is_int(given) else row_of(int(cast(int, key)))
        if row is not None:
            out.pop("line", None)
            out.update(ref(row))
    keys = out.get("lines")
    if isinstance(keys, list) and all(_is_int(k) for k in keys):
        known = out.get("rows")
        if isinstance(known, list) and len(known) == len(keys) and all(_is_int(r) for r in known):
            rows: list[int | None] = [int(r) for r in known]
        else:
            rows = [row_of(int(k)) for k in keys]
        if all(r is not None for r in rows):
            refs = [ref(int(r)) for r in rows if r is not None]
            out["rows"] = [r["row"] for r in refs]
            lines = [r["line"] for r in refs if "line" in r]
            if lines:
                out["lines"] = lines
            else:
                del out["lines"]
            ids = [r["id"] for r in refs if "id" in r]
            if ids:
                out["ids"] = ids
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class Explained:
    """Why each flagged row of one item (a :class:`~playbook_lib.checklist.run.ItemResult`) was flagged, a row at a
    time (:meth:`row`): the reason in the check's own ``details`` of the row, else that of an example naming it
    (``row``, or ``rows`` of a cluster), and the row's details without the reason. The details are looked up per
    row, not all decoded at once (a batched run keeps them packed:
    :class:`~playbook_lib.checks.base.PackedDetails`)."""

    def __init__(self, item: Any) -> None:
        self._examples: dict[int, str] = {}
        for example in item.examples:
            if not isinstance(example, dict) or "reason" not in example:
                continue
            rows = example["rows"] if isinstance(example.get("rows"), list) else [example.get("row")]
            for row in rows:
                if isinstance(row, (int, np.integer)) and not isinstance(row, bool):
                    self._examples.setdefault(int(row), str(example["reason"]))
        self._details = item.result.details

    def row(self, row: int) -> tuple[str | None, dict[str, Any]]:
        """The reason row ``row`` (0-based) was flagged (None: unexplained) and its details without the reason."""
        found = self._details.get(int(row))
        detail = dict(found) if found else {}
        reason = detail.pop("reason", None)
        return (str(reason) if reason is not None else self._examples.get(int(row))), detail


def explain(item: Any) -> Explained:
    """Why each flagged row of one item was flagged (:class:`Explained`)."""
    return Explained(item)


def flag_rows(report: Any, records: pd.DataFrame | Any) -> Iterator[dict[str, Any]]:
    """Every flagged row of every item of ``report`` (a :class:`~playbook_lib.checklist.run.Report` of a run on
    ``records``, or the row references of a batched run: :class:`~playbook_lib.checklist.stream.StoredRefs`), in
    item then row order: ``item``, ``check``, ``row``, ``line``, ``id``, ``reason``, ``score`` and ``detail``;
    masked."""
    refs = RowRefs(records) if isinstance(records, pd.DataFrame) else records
    for r in report.items:
        result = r.result
        flagged = result.flagged_rows()
        if not flagged.size:
            continue
        why = explain(r)
        scores = result.scores_at(flagged).tolist()
        for row, score, ref in zip(flagged.tolist(), scores, refs.refs(flagged)):
            reason, detail = why.row(row)
            reason = reason or f"flagged by {result.check}"
            yield masked(
                {
                    "item": r.item.id,
                    "check": result.check,
                    **{"line": None, "id": None},
                    **ref,
                    "reason": reason,
                    "score": round(float(score), 6),
                    "detail": detail,
                }
            )


def flags_format(path: str | Path) -> str:
    """``jsonl`` or ``parquet``, from the file's extension; :class:`UsageError` otherwise."""
    fmt = FLAG_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(f"{path}: --flags writes JSONL (.jsonl) or Parquet (.parquet), not {Path(path).suffix!r}")
    return fmt


def write_flags(report: Any, records: pd.DataFrame | Any, path: str | Path) -> int:
    """Write :func:`flag_rows` to ``path`` (JSONL or Parquet by extension, atomically); the number of rows written.

    In Parquet, ``detail`` is a JSON string (its keys differ between checks) and ``id`` a string."""
    fmt = flags_format(path)
    rows = list(flag_rows(report, records))
    if fmt == "jsonl":
        text = "".join(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str) + "\n" for row in rows)
        write_atomic(path, text, what="the flagged rows")
    else:
        import pyarrow as pa  # lazy: pyarrow only where a Parquet file is written
        import pyarrow.parquet as pq  # lazy: pyarrow only where a Parquet file is written

        columns = {
            "item": [r["item"] for r in rows],
            "check": [r["check"] for r in rows],
            "row": [r["row"] for r in rows],
            "line": [r["line"] for r in rows],
            "id": [None if r["id"] is None else str(r["id"]) for r in rows],
            "reason": [r["reason"] for r in rows],
            "score": [r["score"] for r in rows],
            "detail": [json.dumps(r["detail"], sort_keys=True, ensure_ascii=False, default=str) for r in rows],
        }
        schema = pa.schema(
            [
                ("item", pa.string()),
                ("check", pa.string()),
                ("row", pa.int64()),
                ("line", pa.int64()),
                ("id", pa.string()),
                ("reason", pa.string()),
                ("score", pa.float64()),
                ("detail", pa.string()),
            ]
        )
        buffer = io.BytesIO()
        pq.write_table(pa.table(columns, schema=schema), buffer)
        write_atomic(path, buffer.getvalue(), what="the flagged rows")
    return len(rows)
