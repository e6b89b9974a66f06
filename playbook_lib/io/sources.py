"""Where a dataset's bytes come from: one file, a folder or a glob pattern of shards, plain or compressed.

Used by :mod:`playbook_lib.data.load` (the record model) and by ``playbook check --data`` (which checks every shard
against the run's outputs before any work); taught with the record model on the book's *Dataset engineering* page.

* A **file** is read as it is, or decompressed as a stream when its name ends in ``.gz`` (gzip) or ``.zst``
  (Zstandard): ``train.jsonl.gz``, ``train.csv.zst``. Decompression is pyarrow's (``pa.input_stream(path,
  compression=...)``), no other dependency; nothing is decompressed to disk or held whole in memory.
* A **folder** names every data file directly inside it (:data:`DATA_SUFFIXES`, optionally compressed), sorted by
  name; names starting with ``.`` and files of other kinds (``README.md``, ``_SUCCESS``) are left out, and so are
  sub-folders. A folder with none is a :class:`~playbook_lib.errors.DataError`.
* A **glob pattern** (``data/train-*.jsonl.gz``; ``**`` reaches into sub-folders) names the data files it matches,
  sorted by path. No match is a :class:`~playbook_lib.errors.DataError`. A path that exists is never read as a
  pattern, so a file named ``[draft].jsonl`` is that file.

The files of one folder or pattern must hold one format (``a.jsonl`` beside ``b.jsonl.gz`` is fine, ``a.jsonl``
beside ``b.csv`` is a :class:`~playbook_lib.errors.DataError`). A corrupt or truncated compressed file is a one-line
:class:`~playbook_lib.errors.StreamError` (a ``DataError``) naming the file and, where the reader knows it, the line reached.
"""

from __future__ import annotations

import glob
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from playbook_lib.errors import DataError, StreamError
from playbook_lib.io.jsonl import check_data_file

#: The data format of each file name ending (before a compression suffix).
DATA_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
#: Compression suffixes read as a stream, and the pyarrow codec of each.
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
#: Formats that may be compressed (a Parquet file compresses its own pages).
COMPRESSIBLE = ("jsonl", "json", "csv")
_MAGIC = frozenset("*?[")


def compression_of(path: str | os.PathLike[str]) -> str | None:
    """The codec (``gzip``, ``zstd``) a file name says it is compressed with, else ``None``."""
    return COMPRESSIONS.get(Path(path).suffix.lower())


def format_of(path: str | os.PathLike[str]) -> str | None:
    """The data format a file name says (``jsonl``, ``json``, ``csv``, ``parquet``), a compression suffix
    stepped over (``train.jsonl.gz``: ``jsonl``); ``None`` for any other name."""
    name = Path(path)
    if compression_of(name) is not None:
        name = name.with_suffix("")
    return DATA_SUFFIXES.get(name.suffix.lower())


def is_pattern(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` does not exist and holds a glob character (``*``, ``?``, ``[``): read as a pattern."""
    text = os.fspath(path)
    return bool(_MAGIC.intersection(text)) and not os.path.lexists(text)


def is_sharded(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names shards: an existing folder, or a glob pattern (:func:`is_pattern`)."""
    return is_pattern(path) or os.path.isdir(path)


def _known(name: str) -> bool:
    return not name.startswith(".") and format_of(name) is not None


def data_sources(path: str | os.PathLike[str]) -> list[Path]:
    """The data files ``path`` names, in reading order: ``[path]`` for a file (or anything that is not a folder or a
    pattern: the reader reports what is wrong with it), the data files directly inside a folder sorted by name, or
    those a glob pattern matches sorted by path (see the module docstring).

    Raises:
        DataError: a folder with no data file, a pattern that matches none, or files of more than one format.
    """
    text = os.fspath(path)
    if is_pattern(text):
        matches = [m for m in glob.glob(text, recursive=True) if not os.path.isdir(m)]
        files = sorted((Path(m) for m in matches if _known(os.path.basename(m))), key=str)
        if not files:
            other = f" ({len(matches)} other files matched; data file names end in {_endings()})" if matches else ""
            raise DataError(f"{text}: no data file matches this pattern{other}")
    elif os.path.isdir(text):
        try:
            names = sorted(os.listdir(text))
        except OSError as exc:
            raise DataError(f"{text}: cannot read the folder ({exc.strerror or exc})") from None
        files = [Path(text) / n for n in names if _known(n) and not os.path.isdir(os.path.join(text, n))]
        if not files:
            raise DataError(f"{text}: is a folder with no data file directly inside it (names ending in {_endings()})")
    else:
        return [Path(text)]
    formats = sorted({str(format_of(f)) for f in files})
    if len(formats) > 1:
        first = {fmt: next(f.name for f in files if format_of(f) == fmt) for fmt in formats}
        listed = ", ".join(f"{fmt} ({name})" for fmt, name in first.items())
        raise DataError(f"{text}: holds data files of more than one format: {listed}; read one format at a time")
    return files


def _endings() -> str:
    """``.jsonl, .ndjson, .json, .csv or .parquet, all but .parquet also with .gz or .zst``, for messages."""
    names = list(DATA_SUFFIXES)
    plain = [n for n in names if DATA_SUFFIXES[n] not in COMPRESSIBLE]
    return f"{', '.join(names[:-1])} or {names[-1]}, all but {', '.join(plain)} also with {' or '.join(COMPRESSIONS)}"


#: The buffer of a decompressing stream, and the most one read decompresses (what a read that fails loses, so the
#: line an error names is close to where the damage is).
_CHUNK = 1 << 20
_STEP = 1 << 16


class _Decompressing(io.RawIOBase):
    """A pyarrow decompressing stream as a raw binary file (pyarrow's own has no ``readline``), whose failures
    are :class:`~playbook_lib.errors.StreamError`. It counts the line breaks it has passed on, for messages."""

    def __init__(self, path: Path, codec: str, stream: Any) -> None:
        self._path, self._codec, self._stream = path, codec, stream
        self.lines = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._stream.read(min(len(buffer), _STEP))  # a failed read loses its step: keep it small
        except (OSError, ValueError) as exc:  # pyarrow: OSError (truncated, corrupt), ArrowInvalid (a ValueError)
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise StreamError(self._path, self._codec, reason, self.lines) from None
        n = len(data)
        buffer[:n] = data
        self.lines += data.count(b"\n")
        return n

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


@contextmanager
def open_binary(path: Path, what: str = "data file") -> Iterator[BinaryIO]:
    """``path`` opened for reading bytes, decompressed as a stream when its name says so (:func:`compression_of`);
    closed afterwards. Reading a corrupt or truncated compressed file raises :class:`~playbook_lib.errors.StreamError`.

    Raises:
        DataError: ``path`` is not a readable regular file (:func:`~playbook_lib.io.jsonl.check_data_file`).
    """
    check_data_file(path, what)
    codec = compression_of(path)
    if codec is None:
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise DataError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
        with handle:
            yield handle
        return
    import pyarrow as pa  # lazy: pyarrow only where a compressed file is read

    try:
        native = pa.input_stream(os.fspath(path), compression=codec)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the {what} ({' '.join(str(exc).split())[:300]})") from None
    with io.BufferedReader(_Decompressing(path, codec, native), buffer_size=_CHUNK) as stream:
        yield stream
