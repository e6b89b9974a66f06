"""Compiled loops (Numba) for the hot spots of text hashing: word hashes, word n-gram hashes, normal-form hashes,
one-permutation MinHash signatures and whitespace token counts, one pass over a chunk's code points instead of a
dozen NumPy passes over 8-byte temporaries.

:func:`word_hashes`, :func:`ngram_hashes`, :func:`oph_signatures` and :func:`solid_runs` return exactly what their
NumPy counterparts in :mod:`playbook_lib.checks.hashing` and :mod:`playbook_lib.checks.uniqueness` return, bit for bit
(``tests/code/test_native.py`` checks it on random and real text), and so does :func:`normal_hashes` (the NumPy
path normalises each text in Python, then hashes it the same way).
:func:`~playbook_lib.checks.hashing.use_native` decides when they are used (``PLAYBOOK_NATIVE``: ``auto`` for big
inputs, ``1`` always, ``0`` never). This module imports Numba, so it is imported only then; the loops are compiled
on first use (seconds; cached on disk next to this file afterwards).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib.checks.hashspec import BASE, C1, C2, OFFSET  # the NumPy path's constants: the same hashes

try:  # this module is imported only when text is hashed (see hashing.py), never with the package
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; without it hashing.py uses NumPy
    numba = None  # type: ignore[assignment]

_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)


def available() -> bool:
    """True when ``numba`` imports (the loops below are compiled, not plain Python)."""
    return numba is not None


def _jit(fn: Any) -> Any:
    return numba.njit(cache=True, nogil=True)(fn) if numba is not None else fn


def _mix(x: Any) -> Any:  # hashing.mix64 for one uint64
    x = x ^ (x >> _S30)
    x = x * C1
    x = x ^ (x >> _S27)
    x = x * C2
    return x ^ (x >> _S31)


if numba is not None:
    _mix = numba.njit(inline="always")(_mix)


@_jit
def _word_hashes(cp, table, starts, lens, out_hash, out_row):
    k = 0
    for r in range(starts.size):
        inword = False
        h = np.uint64(0)
        p = np.uint64(1)
        length = np.uint64(0)
        for j in range(starts[r], starts[r] + lens[r]):
            c = cp[j]
            if table[c]:
                if not inword:
                    inword = True
                    h = np.uint64(0)
                    p = np.uint64(1)
                    length = np.uint64(0)
                h += (np.uint64(c) + OFFSET) * p
                p *= BASE
                length += np.uint64(1)
            elif inword:
                out_hash[k] = _mix(h ^ (length * C2))
                out_row[k] = r
                k += 1
                inword = False
        if inword:
            out_hash[k] = _mix(h ^ (length * C2))
            out_row[k] = r
            k += 1
    return k


@_jit
def _ngrams(hashes, rows, coef, out_gram, out_row):
    n = coef.size
    k = 0
    for i in range(hashes.size - n + 1):
        if rows[i] != rows[i + n - 1]:
            continue
        acc = np.uint64(0)
        for j in range(n):
            acc += hashes[i + j] * coef[j]
        out_gram[k] = _mix(acc)
        out_row[k] = rows[i]
        k += 1
    return k


@_jit
def _oph(offsets, grams, num_perm, seedmix, probes, sig):
    bins = np.uint64(num_perm)
    filled = np.zeros(num_perm, dtype=np.bool_)
    for r in range(offsets.size - 1):
        if offsets[r + 1] == offsets[r]:
            continue
        filled[:] = False
        for t in range(offsets[r], offsets[r + 1]):
            h = _mix(grams[t] ^ seedmix)
            b = ((h >> _S32) * bins) >> _S32
            v = np.uint32(h & _LOW32)
            if v < sig[r, b]:
                sig[r, b] = v
            filled[b] = True
        first = 0
        while not filled[first]:
            first += 1
        for j in range(num_perm):
            if filled[j]:
                continue
            sig[r, j] = sig[r, first]  # astronomically rare: no probe hits a filled bin
            for attempt in range(probes.shape[1]):
                cand = probes[j, attempt]
                if filled[cand]:
                    sig[r, j] = sig[r, cand]
                    break


@_jit
def _normal_hashes(cp, space, starts, lens, out):
    for r in range(starts.size):
        h = np.uint64(0)
        p = np.uint64(1)
        length = np.uint64(0)
        started = False
        pending = False
        for j in range(starts[r], starts[r] + lens[r]):
            c = cp[j]
            if space[c]:
                pending = started
                continue
            if pending:
                h += (np.uint64(32) + OFFSET) * p
                p *= BASE
                length += np.uint64(1)
                pending = False
            h += (np.uint64(c) + OFFSET) * p
            p *= BASE
            length += np.uint64(1)
            started = True
        out[r] = _mix(h ^ (length * C2))


@_jit
def _solid_runs(cp, table, starts, lens, out):
    for r in range(starts.size):
        count = 0
        inside = False
        for j in range(starts[r], starts[r] + lens[r]):
            solid = not table[cp[j]]
            if solid and not inside:
                count += 1
            inside = solid
        out[r] = count


def word_hashes(
    cp: np.ndarray, table: np.ndarray, starts: np.ndarray, lens: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the words (runs of code points whose ``table`` entry is true) of each row ``cp[starts[r]:
    starts[r] + lens[r]]``, in order, and the row of each: :func:`~playbook_lib.checks.hashing._word_tokens`."""
    size = int(lens.sum()) // 2 + lens.size + 1
    out_hash = np.empty(size, dtype=np.uint64)
    out_row = np.empty(size, dtype=np.int64)
    k = _word_hashes(cp, table, starts, lens, out_hash, out_row)
    return out_hash[:k], out_row[:k]


def ngram_hashes(hashes: np.ndarray, rows: np.ndarray, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hashes of the word n-grams (``n = coef.size`` consecutive words of one row) of the word ``hashes`` (in
    row order, the row of each in ``rows``) and the row of each: the n-gram part of
    :func:`~playbook_lib.checks.hashing._combine`, one pass instead of ``n`` passes over 8-byte temporaries."""
    size = max(hashes.size - coef.size + 1, 0)
    out_gram = np.empty(size, dtype=np.uint64)
    out_row = np.empty(size, dtype=np.int64)
    k = _ngrams(hashes, rows, coef, out_gram, out_row)
    return out_gram[:k], out_row[:k]


def oph_signatures(
    offsets: np.ndarray, grams: np.ndarray, num_perm: int, seedmix: np.uint64, probes: np.ndarray
) -> np.ndarray:
    """One-permutation MinHash signatures with densification by ``probes``:
    :func:`~playbook_lib.checks.uniqueness.oph_signatures` (``seedmix`` is its mixed seed)."""
    m = offsets.size - 1
    sig = np.full((m, num_perm), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    _oph(offsets, grams, num_perm, np.uint64(seedmix), probes, sig)
    return sig


def solid_runs(cp: np.ndarray, space: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Runs of code points whose ``space`` entry is false, per row: ``len(text.split())``."""
    out = np.zeros(starts.size, dtype=np.int64)
    _solid_runs(cp, space, starts, lens, out)
    return out


def normal_hashes(cp: np.ndarray, space: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """One 64-bit hash per row of its code points (already case-folded) with every run of ``space`` code points
    made one space and leading and trailing ones dropped: a hash of
    :func:`~playbook_lib.checks.base.normalise`'s normal form (equal normal forms, equal hashes)."""
    out = np.zeros(starts.size, dtype=np.uint64)
    _normal_hashes(cp, space, starts, lens, out)
    return out.view(np.int64)
