"""Vectorised text hashing for the dataset checks: word tokens, word n-grams (shingles), normalised-text hashes and
whitespace token counts for many rows at once, in NumPy instead of per-row Python (and in compiled loops,
:mod:`playbook_lib.checks.native`, when Numba is installed: same results, several times faster). Finding the rows
a set of regular expressions matches is :func:`playbook_lib.text.scan.rows_matching`.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``): the uniqueness,
contamination and formatting checks call it. The definitions match the plain-Python ones exactly:

* a *word* is a run of characters matched by Python's ``\\w`` (``str.isalnum()`` or ``_``) in the case-folded text,
  as ``re.findall(r"\\w+", text.casefold())`` returns them;
* a word ``n``-gram is ``n`` consecutive words of one row; its hash combines the words' hashes positionally;
* the normal form of a text is :func:`playbook_lib.text.normal.normalise` (whitespace runs collapsed, stripped,
  case-folded);
* a whitespace token is a run of non-whitespace characters, as ``str.split()`` returns them.

Rows are processed in chunks of a few million characters, so memory stays bounded by the chunk, not the dataset.
Hashes are 64-bit; two different words or n-grams share one with probability about 2**-64 per pair.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

from playbook_lib import settings
from playbook_lib.checks.hashspec import BASE, C1, C2, MAXCP, OFFSET
from playbook_lib.text.normal import normalise
from playbook_lib.text.scan import chunks

#: Characters per chunk: bounds the working memory (about 40 bytes per character at the peak) and keeps the
#: arrays of one chunk in the CPU cache.
CHUNK_CHARS = 1 << 20


def mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijection of uint64 that spreads every input bit over every output bit."""
    x = np.asarray(x, dtype=np.uint64)
    x = x ^ (x >> np.uint64(30))
    x = x * C1
    x = x ^ (x >> np.uint64(27))
    x = x * C2
    return x ^ (x >> np.uint64(31))


#: Texts below this many characters in one call are hashed with NumPy unless the compiled loops are loaded already:
#: importing Numba and loading the compiled loops costs about a second per process (compiling them, the first time
#: after install, a few more), more than they save on small inputs.
NATIVE_MIN_CHARS = 20_000_000


def use_native(chars: int = 0) -> bool:
    """Whether to hash with the compiled loops (:mod:`playbook_lib.checks.native`) for an input of ``chars``
    characters: ``PLAYBOOK_NATIVE=0`` never, ``1`` always (when Numba is installed), otherwise (``auto``) when they
    are loaded already or ``chars`` reaches :data:`NATIVE_MIN_CHARS` (which loads them)."""
    mode = settings.native_mode()
    if mode == "0":
        return False
    if mode != "1" and chars < NATIVE_MIN_CHARS and "playbook_lib.checks.native" not in sys.modules:
        return False
    from playbook_lib.checks import native  # lazy: native imports Numba (~1 s): loaded only for big inputs

    return native.available()


def text_chars(texts: Sequence[object]) -> int:
    """Characters in the strings of ``texts`` (for :func:`use_native`)."""
    return sum(len(t) for t in texts if isinstance(t, str))


#: Values per step of :func:`unique_sorted`'s compaction (its temporaries are this size, not the array's).
UNIQUE_STEP = 1 << 20


def unique_sorted(values: np.ndarray, step: int = UNIQUE_STEP) -> np.ndarray:
    """``np.unique`` of a 1-D array by one sort: NumPy 2.4's hash-based ``np.unique`` takes 10 s for 10 M uint64
    on this 2-core machine, a sort 0.2 s (measured with NumPy 2.4.6). The sorted copy is compacted in place,
    ``step`` values at a time, so the only temporary as big as the input is that copy (a mask and the distinct
    values beside it took another 1.1x the input's size)."""
    out = np.sort(np.asarray(values).ravel())
    if out.size <= 1:
        return out
    kept = 0
    last = None
    for lo in range(0, out.size, step):
        part = out[lo : lo + step]
        new = np.empty(part.size, bool)
        new[0] = last is None or part[0] != last
        np.not_equal(part[1:], part[:-1], out=new[1:])
        last = part[-1].copy()
        found = part[new]  # a copy, before the writes below may overlap ``part``
        out[kept : kept + found.size] = found
        kept += found.size
    return out[:kept].copy() if kept <= out.size // 2 else out[:kept]


class _CharTables:
    """Which code points ``\\w`` and ``\\s`` match, filled in lazily for the code points actually seen (asking
    Python's own ``re`` about each new one, so the tables agree with it by construction)."""

    def __init__(self) -> None:
        self.known = np.zeros(MAXCP, dtype=bool)
        self.word = np.zeros(MAXCP, dtype=bool)
        self.space = np.zeros(MAXCP, dtype=bool)
        self._learn(np.arange(0x800, dtype=np.uint32))

    def _learn(self, cps: np.ndarray) -> None:
        chars = "".join(map(chr, cps.tolist()))
        word = re.sub(r"\W", "\x00", chars).encode("utf-32-le", "surrogatepass")
        space = re.sub(r"\S", "\x00", chars).encode("utf-32-le", "surrogatepass")
        self.word[cps] = (np.frombuffer(word, np.uint32) != 0) & (cps != 0)
        self.space[cps] = (np.frombuffer(space, np.uint32) != 0) & (cps != 0)
        self.known[cps] = True

    def learn(self, cp: np.ndarray) -> None:
        """Fill in the code points of ``cp`` not seen yet."""
        if cp.dtype == np.uint8:
            return
        high = cp >= 0x800
        if high.any():
            seen = unique_sorted(cp[high])
            new = seen[~self.known[seen]]
            if new.size:
                self._learn(new)

    def lookup(self, cp: np.ndarray, table: str) -> np.ndarray:
        """The ``word`` or ``space`` flag of every code point in ``cp``."""
        self.learn(cp)
        return getattr(self, table)[cp]

    def table(self, cp: np.ndarray, table: str) -> np.ndarray:
        """The whole ``word`` or ``space`` table, complete for the code points of ``cp``."""
        self.learn(cp)
        return getattr(self, table)


@lru_cache(maxsize=1)
def _char_tables() -> _CharTables:
    return _CharTables()


@lru_cache(maxsize=8)
def _coefficients(n: int, salt: int) -> np.ndarray:
    """``n`` odd 64-bit multipliers (positional weights of the words of an n-gram)."""
    rng = np.random.default_rng(0x5EED + salt)
    return rng.integers(1, 2**63, size=n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def _powers(base: np.uint64, length: int) -> np.ndarray:
    out = np.full(max(length, 1), base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out, dtype=np.uint64)


class _Chunk:
    """The code points of a list of texts joined by separators (one byte each when the texts are ASCII)."""

    def __init__(self, texts: Sequence[str], casefold: bool) -> None:
        if casefold:
            texts = [t.casefold() for t in texts]
        self.n = len(texts)
        lens = np.fromiter(map(len, texts), dtype=np.int64, count=self.n)
        joined = "\x00".join(texts)
        if joined.isascii():
            self.cp = np.frombuffer(joined.encode("ascii"), np.uint8)
        else:
            self.cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
        self.starts = np.zeros(self.n, dtype=np.int64)
        if self.n > 1:
            self.starts[1:] = np.cumsum(lens + 1)[:-1]
        self.lens = lens
        self.sep = np.zeros(self.cp.size, dtype=bool)
        self.sep[self.starts[1:] - 1] = True

    def rows_of(self, positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, positions, side="right") - 1


@lru_cache(maxsize=1)
def _position_powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """``B**i`` and ``B**-i`` modulo 2**64 for ``i < size`` (B odd, so it has an inverse)."""
    inverse = pow(int(BASE), -1, 1 << 64)
    up = _powers(BASE, size)
    down = _powers(np.uint64(inverse), size)
    return up, down


def _word_tokens(chunk: _Chunk) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the ``\\w+`` words of a chunk, in order, and the row of each.

    A word at positions ``s..e-1`` hashes as the run ``cp[s:e]`` (:func:`_run_hashes`).
    """
    if use_native():
        from playbook_lib.checks import native  # lazy: native imports Numba (~1 s): loaded only for big inputs

        return native.word_hashes(chunk.cp, _char_tables().table(chunk.cp, "word"), chunk.starts, chunk.lens)
    word = _char_tables().lookup(chunk.cp, "word")
    word[chunk.sep] = False
    if not word.any():
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    edges = np.flatnonzero(np.diff(word.view(np.int8), prepend=np.int8(0), append=np.int8(0)))
    tstart, tend = edges[0::2], edges[1::2]
    return _run_hashes(chunk.cp, tstart, tend), chunk.rows_of(tstart)


def _run_hashes(cp: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The hash of each run ``cp[s:e]`` of code points: ``sum((c_j + OFFSET) * B**(j - s))`` modulo 2**64 from one
    prefix sum over ``cp`` (``(P[e] - P[s]) * B**-s``), mixed with the run's length. The compiled loops of
    :mod:`playbook_lib.checks.native` compute the same number."""
    size = cp.size + 1
    up, down = _position_powers(max(size, CHUNK_CHARS * 2))
    prefix = np.zeros(size, dtype=np.uint64)
    np.cumsum((cp.astype(np.uint64) + OFFSET) * up[: size - 1], out=prefix[1:])
    lengths = (ends - starts).astype(np.uint64)
    return mix64(((prefix[ends] - prefix[starts]) * down[starts]) ^ (lengths * C2))


def _combine(
    hashes: np.ndarray, rows: np.ndarray, n_rows: int, n: int, whole_short: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row boundaries for the n-gram hashes of word ``hashes`` (in row order): returns ``(offsets, grams)``."""
    coef = _coefficients(n, n)
    total = hashes.size
    if total >= n and use_native():
        from playbook_lib.checks import native  # lazy: native imports Numba (~1 s): loaded only for big inputs

        grams, gram_rows = native.ngram_hashes(hashes, rows, coef)
    elif total >= n:
        m = total - n + 1
        acc = hashes[:m] * coef[0]
        for k in range(1, n):
            acc += hashes[k : k + m] * coef[k]
        valid = rows[:m] == rows[n - 1 :]
        grams, gram_rows = mix64(acc[valid]), rows[:m][valid]
    else:
        grams, gram_rows = np.zeros(0, np.uint64), np.zeros(0, np.int64)
    if whole_short and total:
        counts = np.bincount(rows, minlength=n_rows)
        short = (counts > 0) & (counts < n)
        if short.any():
            keep = short[rows]
            srows = rows[keep]
            sh = hashes[keep]
            first_of_row = np.zeros(n_rows, dtype=np.int64)
            first_of_row[1:] = np.cumsum(counts)[:-1]
            pos = np.flatnonzero(keep) - first_of_row[srows]
            starts = np.flatnonzero(np.r_[True, srows[1:] != srows[:-1]])
            whole = mix64(np.add.reduceat(sh * coef[pos], starts))
            grams = np.concatenate([grams, whole])
            gram_rows = np.concatenate([gram_rows, srows[starts]])
            order = np.argsort(gram_rows, kind="stable")
            grams, gram_rows = grams[order], gram_rows[order]
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(gram_rows, minlength=n_rows))
    return offsets, grams


def bit_table(values: np.ndarray, bits_per_value: int = 16) -> tuple[np.ndarray, np.uint64]:
    """A table of ``2**k`` bits (at least ``bits_per_value`` per value of ``values``, packed in bytes), bit
    ``v & mask`` set for every ``v`` in ``values``, and that ``mask`` (``2**k - 1``): :func:`maybe_in` of a value of
    ``values`` is always true, of any other value true with probability about ``1 / bits_per_value`` (the values are
    hash bits). It takes one to two times ``bits_per_value / 64`` of the memory of ``values`` (uint64)."""
    bits = max(6, int(bits_per_value * max(values.size, 1) - 1).bit_length())
    mask = np.uint64((1 << bits) - 1)
    table = np.zeros(1 << (bits - 3), np.uint8)
    codes = unique_sorted(values & mask)
    for bit in range(8):  # per bit position the byte numbers are distinct, so one fancy-indexed OR sets them all
        table[codes[(codes & np.uint64(7)) == bit] >> np.uint64(3)] |= np.uint8(1 << bit)
    return table, mask


def maybe_in(table: np.ndarray, mask: np.uint64, values: np.ndarray) -> np.ndarray:
    """Which of ``values`` may be in the set :func:`bit_table` made ``table`` and ``mask`` of (no false
    negatives)."""
    code = values & mask
    return ((table[code >> np.uint64(3)] >> (code & np.uint64(7)).astype(np.uint8)) & np.uint8(1)).astype(bool)


def find_sorted(haystack: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``values``, a position in ``haystack`` (sorted ascending) and whether the value is there: where it
    is found, the position of its first occurrence (else any valid position, 0 when ``haystack`` is empty)."""
    if not haystack.size:
        return np.zeros(values.size, np.int64), np.zeros(values.size, bool)
    pos = np.minimum(np.searchsorted(haystack, values), haystack.size - 1)
    return pos, haystack[pos] == values


def ngram_hashes(texts: Sequence[str], n: int, whole_short: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the word ``n``-grams of every text: ``(offsets, grams)``, row ``i``'s in
    ``grams[offsets[i]:offsets[i + 1]]`` (in text order, repeats kept).

    ``whole_short``: a text with fewer than ``n`` words (but at least one) gets one hash of all its words, like
    :func:`playbook_lib.checks.uniqueness.shingles`; otherwise it gets none, like
    :func:`playbook_lib.checks.contamination.ngrams`.
    """
    use_native(text_chars(texts))  # loads the compiled loops for a big input; the chunks then use them
    parts_offsets, parts = [np.zeros(1, np.int64)], []
    base = 0
    for lo, hi in chunks(texts, CHUNK_CHARS):
        offsets, grams = ngram_chunk(texts[lo:hi], n, whole_short)
        parts_offsets.append(offsets[1:] + base)
        parts.append(grams)
        base += grams.size
    grams = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    return np.concatenate(parts_offsets), grams


def ngram_chunk(texts: Sequence[str], n: int, whole_short: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ngram_hashes` for one chunk of texts (no further chunking)."""
    chunk = _Chunk(texts, casefold=True)
    hashes, rows = _word_tokens(chunk)
    return _combine(hashes, rows, chunk.n, n, whole_short)


def normal_digests(texts: Iterable[str]) -> list[bytes]:
    """Per text, the 128-bit BLAKE2b digest of its normal form (:func:`~playbook_lib.text.normal.normalise`, as
    UTF-8; lone surrogates kept): equal normal forms give equal digests, and two different ones the same digest
    with a chance of about 2**-128, so a step can confirm equal normal forms without keeping the strings."""
    return [hashlib.blake2b(normalise(t).encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in texts]


def normal_hashes(texts: Sequence[str]) -> np.ndarray:
    """One int64 hash per text of its normal form (:func:`~playbook_lib.text.normal.normalise`): the 64-bit
    positional hash of the case-folded code points with every whitespace run made one space and the ends stripped.
    Equal normal forms give equal hashes, whichever path computes them (compiled or NumPy: bit for bit the same);
    callers confirm equal hashes on the strings."""
    fast = use_native(text_chars(texts))
    out = [np.zeros(0, np.int64)]
    for lo, hi in chunks(texts, CHUNK_CHARS):
        if fast:
            from playbook_lib.checks import native  # lazy: native imports Numba (~1 s): loaded only for big inputs

            chunk = _Chunk(texts[lo:hi], casefold=True)
            out.append(
                native.normal_hashes(chunk.cp, _char_tables().table(chunk.cp, "space"), chunk.starts, chunk.lens)
            )
        else:
            out.append(_normal_chunk(texts[lo:hi]))
    return np.concatenate(out)


def _normal_chunk(texts: Sequence[str]) -> np.ndarray:
    """:func:`normal_hashes` of one chunk in NumPy: the normal forms (:func:`~playbook_lib.text.normal.normalise`,
    per row in Python, which is fast at it), each hashed as one run of code points like a word in
    :func:`_word_tokens`."""
    chunk = _Chunk([normalise(t) for t in texts], casefold=False)
    return _run_hashes(chunk.cp, chunk.starts, chunk.starts + chunk.lens).view(np.int64)


def whitespace_tokens(texts: Sequence[str]) -> np.ndarray:
    """``len(t.split())`` for every text, vectorised."""
    fast = use_native(text_chars(texts))
    out = []
    for lo, hi in chunks(texts, CHUNK_CHARS):
        chunk = _Chunk(texts[lo:hi], casefold=False)
        if fast:
            from playbook_lib.checks import native  # lazy: native imports Numba (~1 s): loaded only for big inputs

            out.append(native.solid_runs(chunk.cp, _char_tables().table(chunk.cp, "space"), chunk.starts, chunk.lens))
            continue
        solid = ~_char_tables().lookup(chunk.cp, "space") & ~chunk.sep
        prev = np.zeros_like(solid)
        prev[1:] = solid[:-1]
        starts = np.flatnonzero(solid & ~prev)
        out.append(np.bincount(chunk.rows_of(starts), minlength=chunk.n))
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


def concat_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + l)`` for every ``(s, l)``."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, np.int64)
    shift = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
    return np.arange(total, dtype=np.int64) + shift
