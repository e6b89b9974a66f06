"""The one JSONL reader both flows use: line numbers, UTF-8 checks, and a choice of what a bad line does.

Used by :mod:`playbook_lib.rag.corpus` (a bad line stops the load) and :mod:`playbook_lib.data.load` (a bad line
is skipped and reported); both are taught on the pages their own docstrings name.

Any line may be hostile: invalid JSON, JSON nested deeper than the parser's recursion limit, an integer past
Python's 4,300-digit conversion limit, or ``\\ud800``-style escapes that decode to lone UTF-16 surrogates (a
``str`` that cannot be encoded to UTF-8, so no report or log could be written). The first three make the line
unreadable (a :class:`~playbook_lib.errors.DataError`, or a skipped line); lone surrogates are replaced by U+FFFD
at load time, so every downstream check and writer sees text that encodes.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

from playbook_lib.errors import DataError, StreamError

#: ``json.loads`` without its per-call argument handling (same values, same errors).
_decode = json.JSONDecoder().decode

#: A lone UTF-16 surrogate (paired escapes decode to one astral character, so what is left is unpaired).
_SURROGATE = re.compile("[\ud800-\udfff]")
#: The only way a surrogate gets into a value read from UTF-8 text is a ``\\uDxxx`` escape.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type (``array``, ``object``, ``null``, ...), for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def replace_surrogates(value: Any) -> Any:
    """``value`` (a decoded JSON value) with every lone UTF-16 surrogate in its strings and keys replaced by
    U+FFFD, so it can be encoded to UTF-8 (reports, logs). Containers are rebuilt only where something changed."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, list):
        return [replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {replace_surrogates(k): replace_surrogates(v) for k, v in value.items()}
    return value


def decode_line(text: str) -> Any:
    """One JSON value from ``text``, lone surrogates replaced (:func:`replace_surrogates`).

    Raises:
        ValueError: one line saying why the text is unreadable: invalid JSON (with its column), nesting deeper
            than the parser allows, or an integer past Python's digit limit.
    """
    try:
        return _clean(text, _decode(text))
    except (ValueError, RecursionError) as exc:
        raise ValueError(_why(exc)) from None


def _why(exc: ValueError | RecursionError) -> str:
    """Why a line could not be decoded, in one line."""
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg}; column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "invalid JSON (nested too deeply to read)"
    # int() past sys.get_int_max_str_digits(); its message is long and names no column
    return f"unreadable JSON value ({str(exc).split(';')[0].strip() or 'a number too long'})"


def _clean(text: str, value: Any) -> Any:
    """``value`` with lone surrogates replaced when ``text`` has a ``\\uDxxx`` escape (rare: tested cheaply first)."""
    if ("\\ud" in text or "\\uD" in text) and _SURROGATE_ESCAPE.search(text):
        return replace_surrogates(value)  # a RecursionError here reads as "nested too deeply", like the parser's
    return value


def check_data_file(path: Path, what: str = "data file") -> None:
    """Raise :class:`~playbook_lib.errors.DataError` unless ``path`` is a regular file that can be opened for
    reading: missing, a folder, a FIFO or device (reading one could block or never end), no permission."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{path}: is a folder, expected a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{path}: not a regular file (a FIFO or device?), expected a {what}")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise DataError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None


def read_bytes(path: Path, what: str = "data file") -> bytes:
    """The bytes of ``path`` after :func:`check_data_file`; an I/O error is a one-line DataError too."""
    check_data_file(path, what)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None


def iter_jsonl(path: Path, skipped: list[str] | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, value)`` for every non-blank line of ``path``.

    A line that is not readable JSON (see :func:`decode_line`: invalid, nested too deeply, an integer too long)
    raises :class:`~playbook_lib.errors.DataError` naming ``file:line``; when a ``skipped`` list is given, the same
    message is appended to it instead and reading goes on. Lone surrogates become U+FFFD. Bytes that are not UTF-8
    always raise (the file is not text), as does a path that is not a readable regular file. A UTF-8 byte-order
    mark on the first line is accepted.
    """
    check_data_file(path, "JSONL file")
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the JSONL file ({exc.strerror or exc})") from None
    with handle:
        yield from iter_jsonl_stream(handle, path, skipped)


def iter_jsonl_stream(handle: BinaryIO, path: Path, skipped: list[str] | None = None) -> Iterator[tuple[int, Any]]:
    """:func:`iter_jsonl` over an open binary stream (a file, a decompressing stream), read line by line: never
    more than one line in memory. ``path`` names the stream in messages. A
    :class:`~playbook_lib.errors.StreamError` from the stream (a corrupt or truncated compressed file) is raised
    naming the last line read whole."""
    for number, value, _ in iter_jsonl_lines(handle, path, skipped):
        yield number, value


#: What :func:`read_line` gives for a line that holds no value: a blank line, or an unreadable one it listed.
NO_VALUE: Final = object()


def read_line(raw: bytes, number: int, path: Path, skipped: list[str] | None = None) -> Any:
    """The value of one JSONL line: ``raw`` its bytes (line break included or not), ``number`` its 1-based line
    number, decoded exactly as :func:`iter_jsonl_stream` decodes every line (a UTF-8 byte-order mark stepped over on
    line 1 only, lone surrogates replaced). A blank line gives :data:`NO_VALUE`; so does an unreadable one
    (:func:`decode_line`'s reasons) when ``skipped`` is given, its ``file:line: reason`` appended to it.

    Raises:
        DataError: bytes that are not UTF-8; an unreadable line when ``skipped`` is None.
    """
    try:
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}:{number}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not text or text.isspace():
        return NO_VALUE
    try:  # decode_line, inlined: this runs once per row of every JSONL file
        value = _decode(text)
        if "\\ud" in text or "\\uD" in text:
            value = _clean(text, value)
    except (ValueError, RecursionError) as exc:
        message = f"{path}:{number}: {_why(exc)}"
        if skipped is None:
            raise DataError(message) from None
        skipped.append(message)
        return NO_VALUE
    return value


def iter_jsonl_lines(
    handle: BinaryIO,
    path: Path,
    skipped: list[str] | None = None,
    *,
    first_line: int = 1,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[tuple[int, Any, int]]:
    """``(line number, value, byte offset)`` of every line of ``handle`` that holds a value (:func:`read_line`),
    the offset being where the line starts in the stream (its bytes counted, never asked of the stream).

    ``handle`` is positioned at byte ``start`` of its file, at the start of line number ``first_line``; reading
    stops after the last line that starts before ``stop`` (default: the end), so a byte span of a file reads as
    the same lines of the whole file read. A :class:`~playbook_lib.errors.StreamError` from the stream (a corrupt
    or truncated compressed file) is raised naming the last line read whole."""
    number = first_line - 1
    offset = start
    end = sys.maxsize if stop is None else stop
    try:
        if offset >= end:
            return
        for number, raw in enumerate(handle, start=first_line):
            at = offset
            offset += len(raw)
            value = read_line(raw, number, path, skipped)
            if value is not NO_VALUE:
                yield number, value, at
            if offset >= end:
                break
    except StreamError as exc:
        raise exc.at_line(number) from None
