"""Which rows a set of regular expressions matches, in one pass over many texts: Hyperscan on ASCII text when it is
installed, Python's ``re`` otherwise (``PLAYBOOK_REGEX=re`` forces ``re``; see :mod:`playbook_lib.settings`).

Texts are joined by a separator that no pattern can match and scanned in chunks of a few million characters, so
memory stays bounded by the chunk; a match's position maps back to its row by binary search. The PII, secret and
formatting checks use it as a prefilter (:data:`playbook_lib.text.pii.MAYBE_PII`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from playbook_lib import settings

#: Characters per scanned chunk (the texts joined): bounds the working memory of one pass.
SCAN_CHUNK_CHARS = 1 << 23


def chunks(texts: Sequence[str], budget: int = SCAN_CHUNK_CHARS) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` row ranges whose texts hold about ``budget`` characters each."""
    start, size = 0, 0
    for i, t in enumerate(texts):
        size += len(t) + 1
        if size >= budget:
            yield start, i + 1
            start, size = i + 1, 0
    if start < len(texts):
        yield start, len(texts)


def rows_matching(
    patterns: re.Pattern[str] | Sequence[re.Pattern[str]],
    texts: Sequence[object],
    sep: str = "\n",
    ignorecase: tuple[re.Pattern[str], re.Pattern[str]] | None = None,
) -> np.ndarray:
    """Boolean per value: one of ``patterns`` matches somewhere in it (values that are not strings never match).

    One pass over each chunk of texts joined by ``sep`` (one character) instead of one call per row. Exact when no
    pattern can match ``sep`` and no lookbehind can match it either (so no match spans two texts). ``ignorecase``:
    ``(lowercase_pattern, (?i)_pattern)``, one more pattern matched without regard to case.

    ASCII texts are scanned by Hyperscan (:func:`hyperscan_scanner`: every pattern in one pass, about 20 times
    Python's ``re`` here) when it is installed and accepts every pattern (no look-arounds or back-references); on
    ASCII text its matches and ``re``'s agree, so the rows found are the same. Other texts, or every text without
    Hyperscan, go through :func:`rows_matching_re`.
    """
    if isinstance(patterns, re.Pattern):
        patterns = [patterns]
    values = [t if isinstance(t, str) else "" for t in texts]
    scanner = None
    if settings.regex_engine() != "re":
        scanner = hyperscan_scanner(tuple(patterns), ignorecase[0] if ignorecase is not None else None)
    if scanner is None:
        return rows_matching_re(patterns, values, sep, ignorecase)
    plain = np.fromiter(map(str.isascii, values), dtype=bool, count=len(values))
    out = np.zeros(len(values), dtype=bool)
    for mask, match in ((plain, scanner), (~plain, None)):
        idx = np.flatnonzero(mask)
        if not idx.size:
            continue
        part = values if idx.size == len(values) else [values[i] for i in idx.tolist()]
        out[idx] = match(part, sep) if match is not None else rows_matching_re(patterns, part, sep, ignorecase)
    return out


def _joined_chunks(values: list[str], sep: str) -> Iterator[tuple[int, np.ndarray, str]]:
    """``(first row, start of each row in the joined text, joined text)`` for chunks of about 8 M characters."""
    for lo, hi in chunks(values, SCAN_CHUNK_CHARS):
        part = values[lo:hi]
        lens = np.fromiter(map(len, part), dtype=np.int64, count=len(part))
        starts = np.zeros(len(part), dtype=np.int64)
        if len(part) > 1:
            starts[1:] = np.cumsum(lens + 1)[:-1]
        yield lo, starts, sep.join(part)


def rows_matching_re(
    patterns: Sequence[re.Pattern[str]],
    values: list[str],
    sep: str = "\n",
    ignorecase: tuple[re.Pattern[str], re.Pattern[str]] | None = None,
) -> np.ndarray:
    """:func:`rows_matching` with Python's ``re`` alone (``values`` are strings). On an ASCII chunk the lowercase
    ``ignorecase`` pattern runs on the lower-cased text (fast: ``re`` skips ahead only for case-sensitive
    prefixes), otherwise the ``(?i)`` one."""
    out = np.zeros(len(values), dtype=bool)
    for lo, starts, joined in _joined_chunks(values, sep):
        hits: list[int] = []
        for pattern in patterns:
            hits.extend(m.start() for m in pattern.finditer(joined))
        if ignorecase is not None:
            if joined.isascii():
                hits.extend(m.start() for m in ignorecase[0].finditer(joined.lower()))
            else:
                hits.extend(m.start() for m in ignorecase[1].finditer(joined))
        if hits:
            rows = np.searchsorted(starts, np.asarray(hits), side="right") - 1
            out[lo + rows] = True
    return out


class HyperscanScanner:
    """One Hyperscan block-mode database of several patterns; calling it on ASCII texts gives :func:`rows_matching`'s
    answer. Build it with :func:`hyperscan_scanner`."""

    def __init__(self, database: Any) -> None:  # a hyperscan.Database (untyped)
        self.database = database

    def __call__(self, values: list[str], sep: str = "\n") -> np.ndarray:
        out = np.zeros(len(values), dtype=bool)
        for lo, starts, joined in _joined_chunks(values, sep):
            ends: list[int] = []

            def on_match(_id: int, _start: int, end: int, _flags: int, _ctx: object, ends: list[int] = ends) -> None:
                ends.append(end)

            self.database.scan(joined.encode("ascii"), match_event_handler=on_match)
            if ends:
                # a match's last character (end is exclusive) lies in the row where the match starts
                rows = np.searchsorted(starts, np.asarray(ends) - 1, side="right") - 1
                out[lo + rows] = True
        return out


@lru_cache(maxsize=32)
def hyperscan_scanner(
    patterns: tuple[re.Pattern[str], ...], caseless: re.Pattern[str] | None = None
) -> HyperscanScanner | None:
    """A :class:`HyperscanScanner` of ``patterns`` (and ``caseless`` matched without regard to case), or ``None``
    when the ``hyperscan`` package is missing or rejects a pattern (look-arounds, back-references, flags other than
    ``re.IGNORECASE``, ``re.DOTALL`` and ``re.MULTILINE``). :func:`rows_matching` does not use it when the
    environment variable ``PLAYBOOK_REGEX`` is ``re``."""
    try:
        import hyperscan  # lazy: optional dependency: tried, and skipped when missing
    except ImportError:
        return None
    known = re.IGNORECASE | re.DOTALL | re.MULTILINE | re.UNICODE
    sources, flags = [], []
    for pattern, extra in [(p, 0) for p in patterns] + ([(caseless, re.IGNORECASE)] if caseless is not None else []):
        if pattern.flags & ~known:
            return None
        f = pattern.flags | extra
        # Python's \uXXXX escapes are \x{XXXX} to Hyperscan (UTF-8 mode: a class of code points, never ASCII text)
        sources.append(re.sub(r"\\u([0-9a-fA-F]{4})", r"\\x{\1}", pattern.pattern).encode("utf-8"))
        flags.append(
            hyperscan.HS_FLAG_UTF8
            | (hyperscan.HS_FLAG_CASELESS if f & re.IGNORECASE else 0)
            | (hyperscan.HS_FLAG_DOTALL if f & re.DOTALL else 0)
            | (hyperscan.HS_FLAG_MULTILINE if f & re.MULTILINE else 0)
        )
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(expressions=sources, ids=list(range(len(sources))), elements=len(sources), flags=flags)
    except hyperscan.error:
        return None
    return HyperscanScanner(database)
