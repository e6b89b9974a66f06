"""Read instruction, chat and preference datasets into one pandas DataFrame (the record model).

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``).

Record model: one row per example with these columns (``None`` where the source has nothing):

================  ==================================================================================================
column            meaning
================  ==================================================================================================
``line``          the record's key: its 1-based line (JSONL), the line where it ends (CSV) or its 1-based index
                  (JSON array, Parquet); unique within a file
``start_line``    the 1-based physical line where the record starts (JSONL, CSV, JSON); 0 for Parquet (no lines)
``instruction``   the instruction / question / prompt (chat: the user turns joined by blank lines)
``input``         optional extra input for the instruction
``output``        the target output / response / answer (chat: the last assistant turn; preference: ``chosen``)
``messages``      the chat turns as a list of ``{"role", "content"}`` dicts (chat data only)
``chosen``        the preferred answer (preference data only)
``rejected``      the dispreferred answer (preference data only)
metadata          ``source``, ``provenance``, ``split``, ``label``, ``annotator``, ``category``, ``licence``, as strings
``raw``           the source object itself, unchanged (for type checks)
================  ==================================================================================================

The frame's ``attrs`` carry ``path`` (str), ``format`` and ``skipped`` (a list of ``"file:line: reason"`` for rows
that could not be read and were left out). Input files are only ever opened for reading.

Any row may be hostile, and one hostile row never stops the load: a JSONL line or JSON array element nested too
deeply, holding an integer past Python's digit limit, or not an object, and a CSV row with a field too large to read
are skipped and listed; lone UTF-16 surrogates (``"\\ud800"``) are replaced by U+FFFD here, at load time, so every
check and every report sees text that encodes to UTF-8. Values of the wrong type (a list where text is expected)
are kept as they are for the formatting check to flag. What stops the load is the file itself: missing, a folder,
a FIFO or device, unreadable, empty, not UTF-8, not the format its name says (:class:`~playbook_lib.errors.DataError`).
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import itertools
import json
import os
import re
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.errors import DataError, EmptyDataError, StreamError, UsageError
from playbook_lib.io.jsonl import NO_VALUE, check_data_file, iter_jsonl_lines, json_type, read_line, replace_surrogates
from playbook_lib.io.sources import COMPRESSIBLE, DATA_SUFFIXES, compression_of, data_sources, format_of, open_binary

TEXT_FIELDS = ("instruction", "input", "output", "messages", "chosen", "rejected")
META_FIELDS = ("source", "provenance", "split", "label", "annotator", "category", "licence")
RECORD_COLUMNS: tuple[str, ...] = ("line", *TEXT_FIELDS, *META_FIELDS, "raw", "start_line")

#: Source keys tried, in order, for each record field (override with ``columns=``).
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "instruction": ("instruction", "question", "prompt", "query"),
    "input": ("input", "context"),
    "output": ("output", "response", "answer", "completion"),
    "messages": ("messages", "conversations"),
    "chosen": ("chosen",),
    "rejected": ("rejected",),
    "source": ("source",),
    "provenance": ("provenance", "origin"),
    "split": ("split",),
    "label": ("label",),
    "annotator": ("annotator", "annotator_id"),
    "category": ("category", "task", "task_type"),
    "licence": ("licence", "license"),
}
FORMATS = ("jsonl", "json", "csv", "parquet")
_EXTENSIONS = DATA_SUFFIXES
#: Rows per batch of :func:`iter_record_batches` (and of the frames :func:`load_records` concatenates).
BATCH_ROWS = 65_536


@dataclass(frozen=True)
class Span:
    """A byte range of one plain JSONL file, cut at line starts (:func:`split_jsonl`): the lines that start at or
    after ``start`` and before ``stop``, the first being line number ``first_line`` (1-based) of the file. Read
    with ``iter_record_batches(span.path, span=span)``; the spans of a file read in turn are the whole file."""

    path: Path
    start: int
    stop: int
    first_line: int


def _check_file(path: Path) -> None:
    """A missing, folder, FIFO/device or unreadable path is a :class:`DataError` (exit code 4)."""
    check_data_file(path, "data file")


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _read(path: Path) -> bytes:
    """The bytes of ``path``, decompressed when its name says so (a JSON array is parsed whole)."""
    with open_binary(path) as handle:
        return handle.read()


#: Bytes decoded per step when looking for the first byte that is not UTF-8.
_SCAN = 1 << 20
_BOM = codecs.BOM_UTF8


def _not_utf8(path: Path) -> DataError | None:
    """Where ``path`` (decompressed) first stops being UTF-8, as :func:`_decode` says it (``file:line``, the byte
    offset after a byte-order mark), found by reading it again in steps; ``None`` when it is UTF-8. Only a
    streaming reader that met a decoding error calls it, so the normal path never reads a file twice."""
    newline = b"\n"
    offset = lines = 0
    pending = b""
    first = True
    with open_binary(path) as handle:
        while True:
            chunk = handle.read(_SCAN)
            data = pending + chunk
            if first:
                data, first = (data[len(_BOM) :] if data.startswith(_BOM) else data), False
            final = not chunk
            try:
                _, used = codecs.utf_8_decode(data, "strict", final)
            except UnicodeDecodeError as exc:
                line = lines + data.count(newline, 0, exc.start) + 1
                return DataError(f"{path}:{line}: not UTF-8 ({exc.reason} at byte {offset + exc.start})")
            lines += data.count(newline, 0, used)
            offset += used
            pending = data[used:]
            if final:
                return None


_JSON_WS = re.compile(r"[ \t\n\r]*")


def _skip_ws(text: str, position: int) -> int:
    """The index of the first non-whitespace character at or after ``position`` (``len(text)`` if none)."""
    match = _JSON_WS.match(text, position)
    assert match is not None  # a pattern of starred whitespace matches everywhere, if only the empty string
    return match.end()


#: A JSON string, a bracket, or a run of scalar characters: enough to find where an unreadable value ends.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|[^\s,:\[\]{}"]+|[,:]')


def json_value_end(text: str, start: int) -> int:
    """The end of the JSON value that starts at ``start``, found by matching brackets (strings skipped) without
    building the value: how an element too deep or too long for the parser is stepped over. -1: unbalanced."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text, start):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
        elif token == "]" or token == "}":
            depth -= 1
        if depth <= 0:
            return match.end() if depth == 0 else -1
    return -1


def _iter_json_array(path: Path, text: str, skipped: list[str]) -> Iterator[tuple[int, Any, int]]:
    """Yield ``(index, element, start line)`` of the JSON array ``text``, one element at a time, so an element the
    parser cannot build (nested too deeply, an integer too long) is skipped and listed (``file:index``, like the
    record model's ``line``) instead of failing the whole file. Broken syntax still fails the file (``file:line`` of the text):
    after it, where the next element starts is unknown."""
    decoder = json.JSONDecoder()

    def invalid(position: int, message: str) -> DataError:
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        return DataError(f"{path}:{line}: invalid JSON ({message}; column {column})")

    def unreadable(number: int, position: int, why: str) -> str:  # "file:N" is the element, as in the record model
        return (
            f"{path}:{number}: unreadable JSON value ({why}; array element {number} starts on text line "
            f"{text.count(chr(10), 0, position) + 1})"
        )

    escapes = "\\ud" in text or "\\uD" in text  # only a \uDxxx escape can make a lone surrogate
    i = _skip_ws(text, text.index("[") + 1)
    line, counted = 1, 0  # the line of text position `counted`, advanced as elements are read
    if text.startswith("]", i):
        i += 1
    else:
        number = 0
        while True:
            number += 1
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError as exc:
                raise invalid(exc.pos, exc.msg) from None
            except (RecursionError, ValueError) as exc:  # nested too deeply; int() past its digit limit
                end = json_value_end(text, i)
                if end < 0:
                    raise invalid(i, "unbalanced brackets") from None
                why = "nested too deeply to read" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
                skipped.append(unreadable(number, i, why))
            else:
                try:
                    value = replace_surrogates(value) if escapes else value
                except RecursionError:
                    skipped.append(unreadable(number, i, "nested too deeply to read"))
                else:
                    line += text.count("\n", counted, i)
                    counted = i
                    yield number, value, line
            i = _skip_ws(text, end)
            if text.startswith(",", i):
                i = _skip_ws(text, i + 1)
                continue
            if text.startswith("]", i):
                i += 1
                break
            raise invalid(i, "Expecting ',' delimiter")
    if text[i:].strip():
        raise invalid(_skip_ws(text, i), "Extra data")


def _iter_json(path: Path, skipped: list[str]) -> Iterator[tuple[int, Any, int]]:
    text = _decode(path, _read(path))
    if not text.strip():
        return
    if text.lstrip().startswith("["):
        yield from _iter_json_array(path, text, skipped)
        return
    try:
        data = replace_surrogates(json.loads(text))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}; column {exc.colno})") from None
    except RecursionError:
        raise DataError(f"{path}:1: invalid JSON (nested too deeply to read)") from None
    except ValueError as exc:  # an integer past Python's digit limit
        raise DataError(f"{path}:1: unreadable JSON value ({str(exc).split(';')[0]})") from None
    if isinstance(data, dict):
        for key in ("data", "rows", "examples", "records"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            raise DataError(f"{path}:1: expected a JSON array of objects, got an object")
    if not isinstance(data, list):
        raise DataError(f"{path}:1: expected a JSON array of objects, got {json_type(data)}")
    # an array under a key of an object: parsed whole, so where each element starts is not known; the object's
    # first line stands for every element
    yield from ((number, obj, 1) for number, obj in enumerate(data, start=1))


#: The largest CSV field read (the csv module's default is 131,072 characters; long documents exceed it). A field
#: past this, or past the file's own length, is an unreadable row rather than memory without bound.
CSV_FIELD_LIMIT = 1 << 28


def _iter_csv(path: Path, skipped: list[str]) -> Iterator[tuple[int, Any, int]]:
    """``(end line, row, start line)`` of each row of a CSV file with a header, read as a stream (``csv.reader``
    over the decoded text, one record at a time). NUL bytes are kept (the formatting check flags them as control
    characters); a row the csv module cannot read is skipped and listed. The field-size limit is raised to the
    file's size (a compressed file: :data:`CSV_FIELD_LIMIT`) only while a row is read, and is as it was in between."""
    cap = CSV_FIELD_LIMIT if compression_of(path) else min(os.stat(path).st_size + 1, CSV_FIELD_LIMIT)
    with open_binary(path) as handle:
        reader = csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8-sig", newline=""))
        while True:
            start = reader.line_num + 1
            previous = csv.field_size_limit()
            csv.field_size_limit(max(previous, cap))
            try:
                obj = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                skipped.append(f"{path}:{start}: unreadable CSV row ({exc})")
                continue
            except UnicodeDecodeError:
                raise _not_utf8(path) or DataError(f"{path}: not UTF-8") from None
            except StreamError as exc:
                raise exc.at_line(start - 1) from None
            finally:
                csv.field_size_limit(previous)
            row = {k: v for k, v in obj.items() if k is not None}
            # the line the record starts on: its end less the line breaks inside its (quoted) fields
            breaks = sum(_line_breaks(v) for v in row.values() if isinstance(v, str) and ("\n" in v or "\r" in v))
            yield reader.line_num, row, reader.line_num - breaks


_BREAK = re.compile(r"\r\n|\r|\n")


def _line_breaks(value: str) -> int:
    """Line breaks as the csv module counts lines (``\r\n``, ``\r`` and ``\n`` each end one)."""
    return len(_BREAK.findall(value))


def _iter_parquet(path: Path, batch_rows: int) -> Iterator[tuple[int, Any, int]]:
    """The rows of a Parquet file, read ``batch_rows`` at a time (``ParquetFile.iter_batches``), each batch
    converted as ``pandas.read_parquet`` converts the whole file (pandas metadata applied)."""
    try:
        import pyarrow as pa  # lazy: pyarrow only where a Parquet file is read
        import pyarrow.parquet as pq  # lazy: pyarrow only where a Parquet file is read
    except ImportError as exc:
        raise UsageError(f"{path}: reading Parquet needs pyarrow ({exc})") from None

    def unreadable(exc: Exception) -> DataError:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return DataError(f"{path}: not a readable Parquet file ({reason})")

    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        batches = parquet.iter_batches(batch_size=batch_rows)
    except Exception as exc:  # pyarrow raises its own types for corrupt files
        raise unreadable(exc) from None
    number = 0
    with parquet:
        while True:
            try:
                batch = next(batches, None)
                if batch is None:
                    return
                frame = pa.Table.from_batches([batch], schema=schema).to_pandas()
            except Exception as exc:  # a corrupt page or row group further in
                raise unreadable(exc) from None
            for obj in frame.to_dict(orient="records"):
                number += 1
                yield number, {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in obj.items()}, 0


def _first(obj: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in obj:
            return obj[key]
    return None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from CSV/Parquet
        return None
    return value if isinstance(value, str) else str(value)


_ROLE_ALIASES = {"human": "user", "gpt": "assistant", "bot": "assistant", "model": "assistant"}


def _normalise_messages(value: Any) -> list[dict[str, Any]] | None:
    """Chat turns as ``{"role", "content"}``; ShareGPT's ``from``/``value`` and human/gpt roles are mapped."""
    if not isinstance(value, list):
        return None
    turns = []
    for turn in value:
        if isinstance(turn, dict):
            role = turn.get("role", turn.get("from"))
            role = _ROLE_ALIASES.get(role, role) if isinstance(role, str) else role
            content = turn.get("content", turn.get("value"))
            turns.append({"role": role, "content": content})
        else:
            turns.append({"role": None, "content": turn})
    return turns


_FIELDS = TEXT_FIELDS + META_FIELDS


def _layout(keys: tuple[str, ...], aliases: dict[str, tuple[str, ...]]) -> tuple[str | None, ...]:
    """For objects with these keys, the source key of each record field (``None`` when absent). ``load_records``
    computes it once per distinct key tuple: the rows of one file nearly always share their keys."""
    present = set(keys)
    return tuple(next((k for k in aliases[name] if k in present), None) for name in _FIELDS)


def _missing(value: Any) -> bool:
    return isinstance(value, float) and value != value  # NaN from CSV/Parquet


def _to_row(number: int, obj: dict[str, Any], layout: tuple[str | None, ...], start: int) -> list[Any]:
    """One row of the record model, in ``RECORD_COLUMNS`` order."""
    # one list of the 13 record fields (6 text fields, then the metadata), in _FIELDS order
    values = [None if k is None else obj[k] for k in layout]
    messages = values[3]
    if messages is not None:
        messages = values[3] = _normalise_messages(messages)
        if messages is not None:
            if values[0] is None:
                users = [t["content"] for t in messages if t["role"] == "user" and isinstance(t["content"], str)]
                if users:
                    values[0] = "\n\n".join(users)
            if values[2] is None:
                bots = [t["content"] for t in messages if t["role"] == "assistant"]
                if bots:
                    values[2] = bots[-1]
    if values[2] is None and values[4] is not None:
        values[2] = values[4]
    # Text fields keep their source type (a number stays a number) so the formatting check can flag it; only NaN
    # (CSV/Parquet's missing value) becomes None. Metadata become strings.
    for i in (0, 1, 2, 4, 5):
        v = values[i]
        if v is not None and type(v) is not str and _missing(v):
            values[i] = None
    for i in range(6, len(values)):
        v = values[i]
        if v is not None and type(v) is not str:
            values[i] = _as_text(v)
    return [number, *values, obj, start]


def _frame(rows: list[list[Any]], start: int = 0, offsets: bool = False) -> pd.DataFrame:
    """The record-model frame from rows in ``RECORD_COLUMNS`` order, its index a RangeIndex from ``start``; missing
    values stay ``None`` (object columns: pandas would otherwise infer strings and turn ``None`` into NaN).
    ``offsets``: each row ends with its line's byte offset, which goes to ``attrs["offsets"]`` (an int64 array)."""
    columns = list(zip(*rows)) if rows else [()] * (len(RECORD_COLUMNS) + offsets)
    where = np.asarray(columns.pop(), dtype=np.int64) if offsets else None
    data = {"line": np.asarray(columns[0], dtype=np.int64)}
    for name, values in zip(RECORD_COLUMNS[1:-1], columns[1:-1]):
        data[name] = pd.Series(values, dtype=object)
    data["start_line"] = np.asarray(columns[-1], dtype=np.int64)
    frame = pd.DataFrame(data, columns=list(RECORD_COLUMNS))
    if start:
        frame.index = pd.RangeIndex(start, start + len(frame))
    if where is not None:
        frame.attrs["offsets"] = where
    return frame


def _aliases(columns: Mapping[str, str] | None) -> dict[str, tuple[str, ...]]:
    aliases = dict(DEFAULT_ALIASES)
    for field_name, key in (columns or {}).items():
        if field_name not in aliases:
            raise UsageError(f"unknown record field {field_name!r}; valid: {', '.join(sorted(aliases))}")
        aliases[field_name] = (key,)
    return aliases


def _source(path: Path, format: str | None) -> tuple[list[Path], str]:
    """The files ``path`` names (:func:`~playbook_lib.io.sources.data_sources`), each a readable regular file, and
    their format."""
    files = data_sources(path)
    for file in files:
        _check_file(file)
    first = files[0]
    fmt = format or format_of(first)
    if fmt not in FORMATS:
        ending = "".join(first.suffixes[-2:]) if compression_of(first) else first.suffix
        raise UsageError(f"{path}: unknown data format {fmt or ending!r}; use one of {', '.join(FORMATS)}")
    compressed = next((f for f in files if compression_of(f)), None)
    if compressed is not None and fmt not in COMPRESSIBLE:
        raise UsageError(
            f"{compressed}: a {fmt} file cannot be read compressed (Parquet compresses its own pages); "
            f"compressed files hold {', '.join(COMPRESSIBLE)}"
        )
    return files, fmt


def _rows(
    file: Path, fmt: str, skipped: list[str], batch_rows: int, span: Span | None = None
) -> Generator[tuple[int, Any, int, int], None, None]:
    """``(record key, source object, start line, byte offset)`` of every row of one file (of ``span`` only, when
    given); the offset is where the row's line starts in a plain JSONL file, -1 in any other."""
    if fmt == "jsonl" and compression_of(file) is None:
        with open_binary(file) as handle:
            first, start, stop = (1, 0, None) if span is None else (span.first_line, span.start, span.stop)
            if start:
                handle.seek(start)
            for number, obj, offset in iter_jsonl_lines(
                handle, file, skipped, first_line=first, start=start, stop=stop
            ):
                yield number, obj, number, offset
        return
    if fmt == "jsonl":
        with open_binary(file) as handle:
            for number, obj, _ in iter_jsonl_lines(handle, file, skipped):
                yield number, obj, number, -1
        return
    rows = _iter_json(file, skipped) if fmt == "json" else _iter_csv(file, skipped) if fmt == "csv" else None
    for number, obj, start in _iter_parquet(file, batch_rows) if rows is None else rows:
        yield number, obj, start, -1


def _records(
    files: list[Path],
    fmt: str,
    aliases: dict[str, tuple[str, ...]],
    skipped: list[str],
    listed: list[dict[str, Any]],
    batch_rows: int,
    offsets: bool = False,
    span: Span | None = None,
) -> Generator[list[Any], None, None]:
    """The record-model rows of every file in turn (``offsets``: each row followed by its line's byte offset);
    each file is appended to ``listed`` (``path``, ``rows``) once it has been read to its end."""
    layouts: dict[tuple[str, ...], tuple[str | None, ...]] = {}  # the rows of one file nearly always share keys
    for file in files:
        count = 0
        rows = _rows(file, fmt, skipped, batch_rows, span)
        try:
            for number, obj, start, offset in rows:
                if type(obj) is not dict and not isinstance(obj, dict):
                    skipped.append(f"{file}:{number}: expected a JSON object, got {json_type(obj)}")
                    continue
                keys = tuple(obj)
                layout = layouts.get(keys)
                if layout is None:
                    layout = layouts[keys] = _layout(keys, aliases)
                count += 1
                row = _to_row(number, obj, layout, start)
                if offsets:
                    row.append(offset)
                yield row
        finally:
            rows.close()  # an early stop closes the file
        listed.append({"path": str(file), "rows": count})


def iter_record_batches(
    path: str | Path,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    batch_rows: int = BATCH_ROWS,
    skipped: list[str] | None = None,
    files: list[dict[str, Any]] | None = None,
    offsets: bool = False,
    span: Span | None = None,
) -> Iterator[pd.DataFrame]:
    """The dataset at ``path`` in the record model, as frames of at most ``batch_rows`` rows, never the whole
    dataset in memory.

    ``path`` is a file, a folder of shards or a glob pattern, plain or gzip/zstd-compressed
    (:mod:`playbook_lib.io.sources`); ``format`` and ``columns`` are those of :func:`load_records`. Each frame
    has exactly the columns and dtypes :func:`load_records` gives, and a RangeIndex starting at its first row's
    0-based position in the whole dataset (over all shards), so batch *k* continues where batch *k-1* stopped; a
    batch may span two shards. ``line`` and ``start_line`` are those of the row's own file.

    JSONL and CSV are read line by line from the (decompressing) stream, Parquet one ``iter_batches`` batch at a
    time; a JSON array file is parsed whole (it has no line structure to stream by), its batches cut from it.

    Unreadable rows are appended to ``skipped`` (when given) as :func:`load_records` lists them; each file read
    to its end is appended to ``files`` as ``{"path", "rows"}`` (``rows``: records read from it), so both are
    complete when the iteration is. Everything that can be checked before reading (the format, the field names,
    a folder or pattern with no data file, a missing file) is checked when this is called.

    ``offsets=True``: every frame's ``attrs["offsets"]`` is an int64 array, one per row, of the byte offset in its
    own file where the row's line starts (so :func:`read_jsonl_at` can read it again alone); -1 where that is not
    known (a compressed file, CSV, JSON, Parquet). Pandas copies ``attrs`` into what is cut from a frame (where the
    array no longer matches the rows) and ``pandas.concat`` cannot compare arrays in them: take the offsets out
    (``frame.attrs.pop("offsets")``) before concatenating such frames.

    ``span`` (a :class:`Span` of ``path``, a plain JSONL file, as :func:`split_jsonl` cuts it): only the lines that
    start in it are read, numbered and reported exactly as a read of the whole file gives them; the frames' index
    counts from 0 at the span's first row, ``files`` lists the span's rows, and a span with no record is no error
    (the whole file may still have some).

    Raises:
        UsageError: an unknown format or field name, ``batch_rows`` below 1, or a ``span`` that is not of ``path``,
            not of a plain JSONL file or does not start at a line (when called).
        DataError: a missing or unreadable file, a folder or pattern with no data file (when called); a file
            that is not UTF-8, not its format, or a corrupt compressed file (while iterating).
        EmptyDataError: when the iteration ends without a single record (not for a ``span``).
    """
    path = Path(path)
    if batch_rows < 1:
        raise UsageError(f"batch_rows must be at least 1, got {batch_rows}")
    sources, fmt = _source(path, format)
    aliases = _aliases(columns)
    if span is not None:
        _check_span(span, path, sources, fmt)
    listed = [] if skipped is None else skipped
    return _batches(path, sources, fmt, aliases, batch_rows, listed, files, offsets, span)


def _batches(
    path: Path,
    sources: list[Path],
    fmt: str,
    aliases: dict[str, tuple[str, ...]],
    batch_rows: int,
    skipped: list[str],
    files: list[dict[str, Any]] | None,
    offsets: bool = False,
    span: Span | None = None,
) -> Iterator[pd.DataFrame]:
    records = _records(sources, fmt, aliases, skipped, [] if files is None else files, batch_rows, offsets, span)
    done = 0
    try:
        while True:
            # Tens of thousands of new containers per batch would trigger the cyclic garbage collector again and
            # again (each pass walks every live object, a quarter of the loading time at 100k rows); none of them
            # forms a cycle, so it waits while a batch is built, and is as it was whenever a batch is handed out.
            collecting = gc.isenabled()
            gc.disable()
            try:
                rows = list(itertools.islice(records, batch_rows))
                frame = _frame(rows, done, offsets) if rows else None
                del rows
            finally:
                if collecting:
                    gc.enable()
            if frame is None:
                break
            done += len(frame)
            yield frame
    finally:
        records.close()
    if not done and span is None:
        detail = f" ({len(skipped)} unreadable rows, first: {skipped[0]})" if skipped else ""
        raise EmptyDataError(f"{path}: no records found{detail}")


def _check_span(span: Span, path: Path, sources: list[Path], fmt: str) -> None:
    """A ``span`` that :func:`iter_record_batches` can read as part of ``path``, else a :class:`UsageError`."""
    if sources != [Path(span.path)] or Path(span.path) != path:
        raise UsageError(f"{path}: a span of {span.path} reads only that file")
    if fmt != "jsonl" or compression_of(path) is not None:
        raise UsageError(f"{path}: only a plain (uncompressed) JSONL file is read by byte span")
    if not 0 <= span.start <= span.stop or span.first_line < 1 or (span.start == 0) != (span.first_line == 1):
        raise UsageError(f"{path}: not a span of lines: {span}")
    if span.start:
        with path.open("rb") as handle:
            handle.seek(span.start - 1)
            if handle.read(1) != b"\n":
                raise UsageError(f"{path}: a span must start where a line starts, byte {span.start} does not")


#: Bytes read per step when :func:`split_jsonl` counts lines.
_SPLIT_CHUNK = 1 << 24


def split_jsonl(path: str | Path, parts: int) -> list[Span]:
    """One plain JSONL file cut into at most ``parts`` :class:`Span` of about equal bytes, each starting where a
    line starts (a line is never cut, so a file of few long lines gives fewer spans): in order, no overlap, the
    whole file covered (an empty file: one empty span). Each span's ``first_line`` is found by counting line breaks
    in large binary chunks, without decoding anything.

    Raises:
        UsageError: ``parts`` below 1, or ``path`` is not a plain JSONL file (compressed, another format).
        DataError: ``path`` is missing or unreadable.
    """
    path = Path(path)
    if parts < 1:
        raise UsageError(f"parts must be at least 1, got {parts}")
    if format_of(path) != "jsonl" or compression_of(path) is not None:
        raise UsageError(f"{path}: only a plain (uncompressed) JSONL file is split into byte spans")
    _check_file(path)
    size = os.stat(path).st_size
    targets = [size * i // parts for i in range(1, parts)]
    cuts, lines_at = [0], [1]  # where each span starts, and the number of the line there
    with path.open("rb") as handle:
        at = lines = 0  # the chunk's first byte in the file, and the line breaks before it
        while targets:
            chunk = handle.read(_SPLIT_CHUNK)
            if not chunk:
                break
            done = 0  # line breaks before chunk[done] are counted in `lines`
            while targets:
                # the first line start at or after the target: just past the first line break at or after target-1
                found = chunk.find(b"\n", max(targets[0] - 1 - at, done))
                if found < 0:
                    break
                lines += chunk.count(b"\n", done, found + 1)
                done = found + 1
                cut = at + done
                if cut >= size:
                    targets = []
                    break
                cuts.append(cut)
                lines_at.append(lines + 1)
                targets = [t for t in targets if t > cut]
            lines += chunk.count(b"\n", done)
            at += len(chunk)
    stops = [*cuts[1:], size]
    return [Span(path, start, stop, first) for start, stop, first in zip(cuts, stops, lines_at)]


def read_jsonl_at(
    path: str | Path, offsets: np.ndarray, lines: np.ndarray, columns: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The records of the lines of the plain JSONL file ``path`` that start at byte ``offsets`` (as
    ``iter_record_batches(..., offsets=True)`` gives them), numbered ``lines``, in that order: each line read alone
    (a seek and one line) and decoded exactly as a read of the whole file decodes it, so the rows, columns and dtypes
    are those of the frames :func:`iter_record_batches` gives with the same ``columns``; the index counts from 0.
    The file is opened once and read in the order of the offsets.

    Raises:
        DataError: a line there holds no record (blank, unreadable, not an object): the file changed since the
            offsets were read, or they are not of this file.
    """
    path = Path(path)
    aliases = _aliases(columns)
    where = np.asarray(offsets, dtype=np.int64)
    numbers = np.asarray(lines, dtype=np.int64)
    if compression_of(path) is not None:
        raise UsageError(f"{path}: a compressed file cannot be read at byte offsets")
    if where.shape != numbers.shape or (where.size and int(where.min()) < 0):
        raise UsageError(f"{path}: offsets and line numbers must pair up, and be known (>= 0)")
    order = np.argsort(where, kind="stable")
    layouts: dict[tuple[str, ...], tuple[str | None, ...]] = {}
    rows: list[list[Any]] = [[]] * len(where)
    with open_binary(path) as handle:
        for i in order.tolist():
            number = int(numbers[i])
            handle.seek(int(where[i]))
            obj = read_line(handle.readline(), number, path)
            if not isinstance(obj, dict):
                why = "no value" if obj is NO_VALUE else f"a JSON {json_type(obj)}"
                raise DataError(f"{path}:{number}: expected a record at byte {int(where[i])}, found {why}")
            keys = tuple(obj)
            layout = layouts.get(keys)
            if layout is None:
                layout = layouts[keys] = _layout(keys, aliases)
            rows[i] = _to_row(number, obj, layout, number)
    return _frame(rows)


def load_records(path: str | Path, format: str | None = None, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Load a dataset into the record model described in this module's docstring: the batches of
    :func:`iter_record_batches` concatenated (so a file, a folder or glob pattern of shards, gzip or zstd).

    ``format`` is one of ``jsonl``, ``json``, ``csv``, ``parquet`` (default: from the file extension).
    ``columns`` maps a record field to the source key that holds it, e.g. ``{"output": "completion_text"}``.

    Unreadable JSONL lines and non-object rows are skipped and listed, with file:line, in ``frame.attrs["skipped"]``;
    ``frame.attrs["files"]`` lists the files read, in order, as ``{"path", "rows"}``.
    Raises :class:`~playbook_lib.errors.DataError` for a missing file, non-UTF-8 bytes, a malformed JSON/Parquet
    file, a corrupt compressed file or a folder/pattern with no data file,
    :class:`~playbook_lib.errors.EmptyDataError` when no usable row remains, and
    :class:`~playbook_lib.errors.UsageError` for an unknown format or field name.
    """
    path = Path(path)
    skipped: list[str] = []
    files: list[dict[str, Any]] = []
    sources, fmt = _source(path, format)
    batches = _batches(path, sources, fmt, _aliases(columns), BATCH_ROWS, skipped, files)
    collecting = gc.isenabled()
    gc.disable()  # as in _batches: nothing here forms a cycle, so the collector waits until the frame is built
    try:
        parts = list(batches)
        frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        del parts
    finally:
        if collecting:
            gc.enable()
    frame.attrs.update({"path": str(path), "format": fmt, "skipped": skipped, "files": files})
    return frame


def record_text(records: pd.DataFrame, fields: tuple[str, ...] = ("instruction", "input", "output")) -> list[str]:
    """One string per row: the given text fields that hold strings, joined by newlines (for hashing and n-grams)."""
    columns = [records[f].tolist() for f in fields if f in records.columns]
    out = []
    for values in zip(*columns):
        out.append("\n".join(v for v in values if isinstance(v, str) and v))
    return out


def records_from_rows(rows: list[dict[str, Any]], aliases: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The record model built from in-memory objects (as if each were one JSONL line), e.g. in a notebook or test."""
    table = dict(DEFAULT_ALIASES)
    for field_name, key in (aliases or {}).items():
        table[field_name] = (key,)
    records = [_to_row(i, obj, _layout(tuple(obj), table), i) for i, obj in enumerate(rows, start=1)]
    if not records:
        raise EmptyDataError("no records given")
    frame = _frame(records)
    frame.attrs.update({"path": "<rows>", "format": "rows", "skipped": []})
    return frame
