"""The one JSONL reader both flows use: line numbers, UTF-8 checks, and a choice of what a bad line does.

Used by :mod:`playbook_lib.rag.corpus` (a bad line stops the load) and :mod:`playbook_lib.data.load` (a bad line
is skipped and reported); both are taught on the pages their own docstrings name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playbook_lib.errors import DataError

#: ``json.loads`` without its per-call argument handling (same values, same errors).
_decode = json.JSONDecoder().decode


def iter_jsonl(path: Path, skipped: list[str] | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, value)`` for every non-blank line of ``path``.

    A line that is not valid JSON raises :class:`~playbook_lib.errors.DataError` naming ``file:line``; when a
    ``skipped`` list is given, the same message is appended to it instead and reading goes on. Bytes that are not
    UTF-8 always raise (the file is not text). A UTF-8 byte-order mark on the first line is accepted.
    """
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{number}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
            if not text or text.isspace():
                continue
            try:
                value = _decode(text)
            except json.JSONDecodeError as exc:
                message = f"{path}:{number}: invalid JSON ({exc.msg}; column {exc.colno})"
                if skipped is None:
                    raise DataError(message) from None
                skipped.append(message)
                continue
            yield number, value
