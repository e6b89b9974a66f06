"""A cleaned copy of a dataset after a checklist run: removable duplicates and contaminated rows dropped, personal
data masked in the rows the PII check flagged, every other record byte-identical. Never in place.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``); run it with
``playbook check ... --write-clean OUT``.

What is dropped: the rows flagged by ``exact_duplicates`` and ``near_duplicates`` (every member of a cluster but the
first, which is kept) and by ``contamination`` (training rows that overlap the eval set), by items that were
evaluated. What is masked: every string of a row flagged by ``pii``, with
:func:`~playbook_lib.text.pii.mask_pii` (``[EMAIL]``, ``[PHONE]``, ...). The copy keeps the source's format:

- JSONL: kept lines are copied byte for byte (blank and unreadable lines too: cleaning is not reformatting); a
  masked record is written back as one JSON line with the source line's ending;
- CSV: kept records are copied byte for byte (header included); a masked one is written back with the same columns;
- JSON array: kept elements are copied byte for byte, one per line, inside ``[`` ... ``]``;
- Parquet: the kept rows, with masked strings, in the same schema.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.checks import Outcome
from playbook_lib.data.load import json_value_end
from playbook_lib.errors import UsageError
from playbook_lib.io.jsonl import read_bytes
from playbook_lib.io.outputs import write_atomic
from playbook_lib.io.sources import compression_of
from playbook_lib.text.pii import mask_pii

#: Checks whose flagged rows are removed from the cleaned copy; rows flagged by MASKED have their PII masked.
DROPPED = ("exact_duplicates", "near_duplicates", "contamination")
MASKED = ("pii",)


@dataclass(frozen=True)
class CleanSummary:
    """What :func:`write_clean` did."""

    path: str
    rows: int
    dropped: int
    masked: int
    kept: int

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rows": self.rows, "dropped": self.dropped, "masked": self.masked, "kept": self.kept}


def clean_plan(report: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over the ``n`` rows of a run: rows to drop, rows to mask (dropping wins)."""
    drop = np.zeros(n, dtype=bool)
    mask = np.zeros(n, dtype=bool)
    for r in report.items:
        if r.result.outcome is Outcome.NOT_EVALUATED or len(r.result.flags) != n:
            continue
        if r.result.check in DROPPED:
            drop |= r.result.flags
        elif r.result.check in MASKED:
            mask |= r.result.flags
    return drop, mask & ~drop


def _masked(value: Any) -> Any:
    """``value`` with every string in it (keys excepted) masked."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


def _ending(line: bytes) -> bytes:
    return b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""


def _json_line(value: Any) -> bytes:
    """One JSON line; ASCII escapes when a string holds a lone surrogate (not encodable as UTF-8)."""
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value).encode("ascii")


def _clean_jsonl(data: bytes, keys: dict[int, str]) -> bytes:
    out = io.BytesIO()
    # lines as the loader numbers them: split at "\n" only (io iterates a binary file so)
    for number, line in enumerate(io.BytesIO(data), start=1):
        action = keys.get(number)
        if action == "drop":
            continue
        if action == "mask":
            body = line[: len(line) - len(_ending(line))].decode("utf-8-sig" if number == 1 else "utf-8")
            line = _json_line(_masked(json.loads(body))) + (_ending(line) or b"\n")
        out.write(line)
    return out.getvalue()


def _clean_csv(text: str, records: pd.DataFrame, actions: dict[int, str]) -> bytes:
    """``actions`` maps a record's end line (its key) to ``drop`` / ``mask``; lines are ``\\r\\n``, ``\\r`` or
    ``\\n``, as the csv module counts them."""
    lines = io.StringIO(text, newline="").readlines()
    starts = dict(zip(records["line"].tolist(), records["start_line"].tolist()))
    out = io.StringIO(newline="")
    header = next(csv.reader(io.StringIO(lines[0] if lines else "", newline="")), [])
    taken = 0  # lines already written or skipped
    for end in sorted(actions):
        start = starts[end]
        out.write("".join(lines[taken : start - 1]))
        taken = end
        if actions[end] == "drop":
            continue
        record = "".join(lines[start - 1 : end])
        values = next(csv.reader(io.StringIO(record, newline="")), [])
        terminator = "\r\n" if record.endswith("\r\n") else "\n"
        writer = csv.writer(out, lineterminator=terminator)
        writer.writerow([mask_pii(v) for v in values] if len(values) == len(header) else values)
    out.write("".join(lines[taken:]))
    return out.getvalue().encode("utf-8")


def _clean_json_array(text: str, records: pd.DataFrame, drop: np.ndarray, mask: np.ndarray) -> bytes:
    """Kept elements byte for byte, one per line; masked ones re-serialised."""
    decoder = json.JSONDecoder()
    start = text.index("[") + 1
    keys = records["line"].tolist()
    wanted = {int(k): ("drop" if d else "mask" if m else "keep") for k, d, m in zip(keys, drop, mask)}
    pieces = []
    number = 0
    position = start
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            break
        number += 1
        action = wanted.get(number, "keep")  # an element the loader skipped is kept as it was
        try:
            value, end = decoder.raw_decode(text, position)
        except (RecursionError, ValueError):  # the loader skipped it (too deep, an integer too long): kept
            end, action = json_value_end(text, position), "keep"
            if end < 0:
                raise UsageError("the JSON array changed while it was being cleaned") from None
        if action == "keep":
            pieces.append(text[position:end])
        elif action == "mask":
            pieces.append(_json_line(_masked(value)).decode("utf-8"))
        position = end
    return ("[\n" + ",\n".join(pieces) + "\n]\n").encode("utf-8")


def _clean_parquet(path: Path, drop: np.ndarray, mask: np.ndarray) -> bytes:
    import pyarrow as pa  # lazy: pyarrow only where a Parquet file is cleaned
    import pyarrow.parquet as pq  # lazy: pyarrow only where a Parquet file is cleaned

    table = pq.read_table(path)
    columns = []
    for name in table.column_names:
        column = table.column(name)
        if mask.any():  # every column, nested ones (chat turns) included, on the masked rows only
            values = column.to_pylist()
            values = [_masked(v) if m else v for v, m in zip(values, mask)]
            column = pa.chunked_array([pa.array(values, type=column.type)])
        columns.append(column)
    cleaned = pa.table(columns, names=table.column_names).filter(pa.array(~drop))
    buffer = io.BytesIO()
    pq.write_table(cleaned.replace_schema_metadata(table.schema.metadata), buffer)
    return buffer.getvalue()


def write_clean(report: Any, records: pd.DataFrame, out: str | Path) -> CleanSummary:
    """Write the cleaned copy of the dataset ``records`` was loaded from (``records.attrs["path"]`` in
    ``records.attrs["format"]``) to ``out``, atomically; the input is only read.

    Raises:
        UsageError: for records not loaded from one uncompressed file (shards or a ``.gz``/``.zst`` file), a JSON
            file that is not an array, or ``out`` naming the input itself.
    """
    source = Path(str(records.attrs.get("path", "")))
    fmt = records.attrs.get("format")
    if fmt not in ("jsonl", "csv", "json", "parquet") or not source.is_file():
        raise UsageError("--write-clean needs data loaded from a JSONL, CSV, JSON or Parquet file")
    if compression_of(source) is not None:  # the copy is written byte for byte from the source's own bytes
        raise UsageError(f"--write-clean needs one uncompressed data file; {source} is compressed")
    if Path(out).resolve() == source.resolve():
        raise UsageError(f"{out}: --write-clean would overwrite the input; choose another path")
    n = len(records)
    drop, mask = clean_plan(report, n)
    keys = records["line"].tolist()
    actions = {int(k): ("drop" if d else "mask") for k, d, m in zip(keys, drop, mask) if d or m}
    if fmt == "jsonl":
        payload = _clean_jsonl(read_bytes(source), actions)
    elif fmt == "csv":
        data = read_bytes(source)
        bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
        payload = bom + _clean_csv(data.decode("utf-8-sig"), records, actions)
    elif fmt == "json":
        text = read_bytes(source).decode("utf-8-sig")
        if not text.lstrip().startswith("["):
            raise UsageError(f"{source}: --write-clean copies JSON arrays; this file holds an object")
        payload = _clean_json_array(text, records, drop, mask)
    else:
        payload = _clean_parquet(source, drop, mask)
    write_atomic(out, payload, what="the cleaned copy")
    return CleanSummary(str(out), n, int(drop.sum()), int(mask.sum()), n - int(drop.sum()))
