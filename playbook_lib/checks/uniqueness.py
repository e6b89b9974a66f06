"""Uniqueness: exact duplicates after normalisation, and near-duplicates with MinHash LSH reported as clusters.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
uniqueness".
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import Check, CheckContext, CheckResult
from playbook_lib.checks.batch import READ_ROWS, BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.hashing import (
    bit_table,
    chunks,
    concat_ranges,
    find_sorted,
    maybe_in,
    mix64,
    ngram_chunk,
    ngram_hashes,
    normal_digests,
    normal_hashes,
    text_chars,
    unique_sorted,
    use_native,
)
from playbook_lib.checks.registry import register
from playbook_lib.data import record_text
from playbook_lib.errors import UsageError
from playbook_lib.text.normal import snippet

_WORD = re.compile(r"\w+", re.UNICODE)


def clusters_result(
    check: Check,
    n: int,
    groups: list[list[int]],
    line_of: Callable[[int], int],
    text_of: Callable[[int], str],
    scores: np.ndarray,
    detail: str,
) -> CheckResult:
    """The result of a duplicate check over ``n`` rows from its ``groups`` (lists of rows, ascending): every row but
    the first of a group is flagged; ``line_of`` and ``text_of`` are asked only for rows in groups."""
    flags = np.zeros(n, bool)
    details: dict[int, dict[str, Any]] = {}
    ordered = sorted(groups, key=lambda g: (-len(g), g))
    for number, group in enumerate(ordered):
        flags[group[1:]] = True  # keep the first row of each cluster
        for i in group[1:]:
            details[i] = {
                "reason": f"{check.name.replace('_', ' ').rstrip('s')} of row {group[0]} (kept)",
                "cluster": number,
                "cluster_size": len(group),
                "kept_row": group[0],
                "similarity": round(float(scores[i]), 4) if scores[i] else 1.0,
            }
    clusters = sorted(((([line_of(i) for i in g]), g) for g in groups), key=lambda c: (-len(c[0]), c[0]))
    removable = int(flags.sum())
    summary = {
        "rows": n,
        "clusters": len(groups),
        "rows_in_clusters": int(sum(len(g) for g in groups)),
        "removable": removable,
        check.metric: removable / n if n else 0.0,
        "largest_clusters": [c for c, _ in clusters[:10]],
    }
    examples = [
        {"lines": c, "rows": list(g), "reason": f"cluster of {len(c)}", "text": snippet(text_of(g[0]))}
        for c, g in clusters[: check.max_examples]
    ]
    return check.result(
        flags,
        np.where(flags, scores, 0.0),
        summary,
        examples,
        f"{removable} removable rows in {len(groups)} clusters{detail}",
        details=details,
    )


@register
class ExactDuplicatesCheck(BatchCheck):
    """Rows whose instruction, input and output are equal after lower-casing and collapsing whitespace.

    The metric ``duplicate_rate`` is the share of rows that could be removed (every copy but the first). Rows are
    grouped by a vectorised hash of their normal form (:func:`~playbook_lib.checks.hashing.normal_hashes`), and each
    group is confirmed on a second, independent digest of the normal forms (128-bit BLAKE2b,
    :func:`~playbook_lib.checks.hashing.normal_digests`), so a collision of the 64-bit hash cannot merge two rows.

    In batches (:mod:`playbook_lib.checks.batch`): each batch stores its rows' hashes and lines; the global step
    groups the hashes in the feature store and reads back only the rows whose hash occurs more than once, a batch
    at a time, keeping their digests (not their texts) and then the texts of the clusters it shows.
    """

    name = "exact_duplicates"
    metric = "duplicate_rate"
    tables = ("hashes",)

    def __init__(self, fields: list[str] | None = None, warn: float | None = 0.0, fail: float | None = 0.05) -> None:
        super().__init__(warn, fail)
        self.fields = tuple(fields or ("instruction", "input", "output"))

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        hashes = normal_hashes(record_text(records, self.fields))
        lines = records["line"].to_numpy(dtype=np.int64)
        return {"hashes": pa.table({"row": row_numbers(records), "line": lines, "hash": hashes})}

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        table = self.table("hashes")
        repeated = store.query(
            f'SELECT row, line, hash FROM "{table}" WHERE hash IN '
            f'(SELECT hash FROM "{table}" GROUP BY hash HAVING count(*) > 1) ORDER BY hash, row'
        )
        candidates = repeated["row"]
        # each candidate's normal form as its 128-bit digest, read back a batch of rows at a time: the texts of
        # every row with a repeated hash (0.4 M at ten million bench rows, 0.6 GB of strings) are not kept
        by_row = np.argsort(candidates, kind="stable")
        keys = np.empty(candidates.size, dtype=object)
        for lo in range(0, by_row.size, READ_ROWS):
            at = by_row[lo : lo + READ_ROWS]
            keys[at] = normal_digests(record_text(rows.take(candidates[at]), self.fields))
        groups = _confirm(repeated["hash"], candidates, keys)
        sorted_rows, sorted_lines = candidates[by_row], repeated["line"][by_row]

        def line_of(i: int) -> int:
            return int(sorted_lines[np.searchsorted(sorted_rows, i)])

        texts = _shown_texts(groups, line_of, rows, self.fields, self.max_examples)
        return clusters_result(self, rows.rows, groups, line_of, texts.__getitem__, np.ones(rows.rows), "")


def _shown_texts(
    groups: list[list[int]], line_of: Callable[[int], int], rows: RowSource, fields: tuple[str, ...], shown: int
) -> dict[int, str]:
    """The texts of the clusters :func:`clusters_result` shows (the first ``shown`` in its order: largest, then
    by lines), by the first row of each: only those rows are read back."""
    first = sorted(groups, key=lambda g: (-len(g), [line_of(i) for i in g]))[:shown]
    heads = np.unique(np.asarray([g[0] for g in first], dtype=np.int64))
    return dict(zip(heads.tolist(), record_text(rows.take(heads), fields))) if heads.size else {}


def _confirm(hashes: np.ndarray, rows: np.ndarray, keys: np.ndarray) -> list[list[int]]:
    """Groups (two or more rows, ascending, ordered by first row) of rows with equal hash *and* equal normal-form
    digest (``keys``, per row: :func:`~playbook_lib.checks.hashing.normal_digests`, 128 bits, so two different
    normal forms share one with a chance of about 2**-128 per pair); ``hashes``, ``rows`` and ``keys`` are sorted by
    hash, then row."""
    groups: list[list[int]] = []
    if not rows.size:
        return groups
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    ends = np.r_[starts[1:], rows.size]
    repeated = ends - starts > 1
    for lo, hi in zip(starts[repeated].tolist(), ends[repeated].tolist()):
        by_key: dict[bytes, list[int]] = {}
        for i, key in zip(rows[lo:hi].tolist(), keys[lo:hi].tolist()):
            by_key.setdefault(key, []).append(i)
        groups.extend(sorted(g) for g in by_key.values() if len(g) > 1)
    return sorted(groups, key=lambda g: g[0])


def shingles(text: str, n: int) -> set[bytes]:
    """Word ``n``-grams of the normalised text (the whole text when shorter than ``n`` words).

    The plain-Python definition; the check itself hashes the same n-grams vectorised
    (:func:`~playbook_lib.checks.hashing.ngram_hashes` with ``whole_short=True``).
    """
    words = _WORD.findall(text.casefold())
    if len(words) < n:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}


def bands_for(num_perm: int, threshold: float, target: float = 0.99) -> tuple[int, int]:
    """``(bands, rows)`` for LSH on ``num_perm`` values: the most rows per band (fewest false candidates) such that a
    pair at Jaccard ``threshold`` becomes a candidate with probability at least ``target``."""
    best = (num_perm, 1)
    for r in range(1, num_perm + 1):
        b = num_perm // r
        if 1 - (1 - threshold**r) ** b >= target:
            best = (b, r)
    return best


def oph_signatures(offsets: np.ndarray, hashes: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """One-permutation MinHash signatures (``rows x num_perm`` uint32) of the sets ``hashes[offsets[i]:offsets[i+1]]``.

    Each element is hashed once; its hash picks one of ``num_perm`` bins and the bin keeps the minimum of the rest
    of the hash (one pass, ``np.minimum.at``), instead of ``num_perm`` hash functions over every element. Empty bins
    are filled by optimal densification (Shrivastava, 2017): bin ``j`` copies the first non-empty bin of a fixed
    pseudo-random probe sequence of ``j``, the same for every row, so two rows agree on a bin with probability equal
    to their Jaccard similarity. Rows without elements get all-ones signatures.
    """
    m = offsets.size - 1
    counts = np.diff(offsets)
    seedmix = np.uint64((seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    if use_native():
        from playbook_lib.checks import native  # lazy: it imports Numba, only when the native path is on

        return native.oph_signatures(offsets, hashes, num_perm, seedmix, _probes(seed, num_perm))
    rows = np.repeat(np.arange(m, dtype=np.int64), counts)
    h = mix64(hashes ^ seedmix)
    bins = (((h >> np.uint64(32)) * np.uint64(num_perm)) >> np.uint64(32)).astype(np.int64)
    flat = rows * num_perm + bins
    sig: np.ndarray = np.full(m * num_perm, np.uint32(0xFFFFFFFF), dtype=np.uint32)  # reshaped below
    np.minimum.at(sig, flat, (h & np.uint64(0xFFFFFFFF)).astype(np.uint32))
    filled: np.ndarray = np.zeros(m * num_perm, dtype=bool)
    filled[flat] = True
    sig, filled = sig.reshape(m, num_perm), filled.reshape(m, num_perm)
    empty_rows, empty_bins = np.nonzero(~filled & (counts > 0)[:, None])
    if empty_rows.size:
        probes = _probes(seed, num_perm)
        out = sig.copy()
        todo = np.arange(empty_rows.size)
        for attempt in range(probes.shape[1]):
            r, b = empty_rows[todo], empty_bins[todo]
            cand = probes[b, attempt]
            ok = filled[r, cand]
            out[r[ok], b[ok]] = sig[r[ok], cand[ok]]
            todo = todo[~ok]
            if not todo.size:
                break
        if todo.size:  # astronomically rare: fall back to the first non-empty bin
            r = empty_rows[todo]
            out[r, empty_bins[todo]] = sig[r, np.argmax(filled[r], axis=1)]
        sig = out
    return sig


@lru_cache(maxsize=4)
def _probes(seed: int, num_perm: int) -> np.ndarray:
    """The densification probe sequences: row ``j`` lists the bins that empty bin ``j`` tries, in order."""
    probes = np.random.default_rng(seed).integers(0, num_perm, size=(num_perm, 8 * num_perm))
    probes.flags.writeable = False
    return probes


def _band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    m = sig.shape[0]
    weights = np.random.default_rng(77).integers(1, 2**63, size=rows, dtype=np.uint64) | np.uint64(1)
    blocks = sig[:, : bands * rows].reshape(m, bands, rows).astype(np.uint64)
    acc = (blocks * weights).sum(axis=2, dtype=np.uint64) + np.arange(bands, dtype=np.uint64) * np.uint64(
        0xBF58476D1CE4E5B9
    )
    return mix64(acc)


#: A bucket of up to this many rows (in one band) gives all its pairs as candidates, a larger one a star and a chain
#: (:func:`candidate_pairs`, and the band join of :class:`NearDuplicatesCheck` in the feature store).
ALL_PAIRS_UP_TO = 64


def candidate_pairs(band_keys: np.ndarray, active: np.ndarray, all_pairs_up_to: int = ALL_PAIRS_UP_TO) -> np.ndarray:
    """Pairs ``i < j`` (as ``i * n + j``) of active rows that share a bucket in some band.

    Per band the bucket keys are sorted together with the row index in their low bits (one ``np.sort``). A bucket of
    up to ``all_pairs_up_to`` rows contributes all its pairs; a larger one (a template shared by thousands of rows)
    contributes the pairs (first member, member) and (previous member, member), ``2k`` instead of ``k^2`` (clusters
    are built from the verified pairs, so a chain links them).
    """
    n = band_keys.shape[0]
    bits = max(1, int(n - 1).bit_length())
    low = np.uint64((1 << bits) - 1)
    idx = np.flatnonzero(active).astype(np.uint64)
    found = []
    for band in range(band_keys.shape[1]):
        keys = (band_keys[idx.astype(np.int64), band] & ~low) | idx
        keys.sort()
        high = keys & ~low
        members = (keys & low).astype(np.int64)
        same = high[1:] == high[:-1]
        if not same.any():
            continue
        new_group = np.r_[True, ~same]
        group_start = np.flatnonzero(new_group)
        sizes = np.diff(np.r_[group_start, members.size])
        group = np.cumsum(new_group) - 1
        size_of = sizes[group]
        # small buckets: every pair
        small = np.flatnonzero((size_of > 1) & (size_of <= all_pairs_up_to))
        if small.size:
            q = small - group_start[group[small]]
            partners = concat_ranges(small + 1, size_of[small] - 1 - q)
            owners = np.repeat(small, size_of[small] - 1 - q)
            found.append(_codes(members[owners], members[partners], n))
        # large buckets: star and chain
        later = np.flatnonzero(np.r_[False, same] & (size_of > all_pairs_up_to))
        if later.size:
            cur = members[later]
            found.append(_codes(members[group_start[group[later]]], cur, n))
            found.append(_codes(members[later - 1], cur, n))
    if not found:
        return np.zeros(0, np.int64)
    return unique_sorted(np.concatenate(found))


def _codes(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    return lo[keep] * n + hi[keep]


def pair_jaccard(
    offsets: np.ndarray, sets: np.ndarray, a: np.ndarray, b: np.ndarray, batch: int = 1 << 23
) -> np.ndarray:
    """Exact Jaccard similarity of the sets of rows ``a[k]`` and ``b[k]``; row ``i``'s set is
    ``sets[offsets[i]:offsets[i+1]]`` (sorted, unique values below 2**40). Vectorised: every pair's two sets are
    tagged with the pair's number, sorted together, and equal neighbours are the intersection."""
    out = np.zeros(a.size, dtype=float)
    sizes = np.diff(offsets)
    start = 0
    while start < a.size:
        cum = np.cumsum(sizes[a[start:]] + sizes[b[start:]])
        stop = start + max(1, int(np.searchsorted(cum, batch, side="right")))
        pa, pb = a[start:stop], b[start:stop]
        la, lb = sizes[pa], sizes[pb]
        pid = np.arange(pa.size, dtype=np.uint64)
        keys = np.concatenate(
            [
                (np.repeat(pid, la) << np.uint64(40)) | sets[concat_ranges(offsets[pa], la)],
                (np.repeat(pid, lb) << np.uint64(40)) | sets[concat_ranges(offsets[pb], lb)],
            ]
        )
        keys.sort()
        dup = keys[1:] == keys[:-1]
        inter = np.bincount((keys[1:][dup] >> np.uint64(40)).astype(np.int64), minlength=pa.size)
        union = la + lb - inter
        out[start:stop] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        start = stop
    return out


def shingle_sets(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per text, the sorted unique 40-bit hashes of its word ``n``-grams (``whole_short``): ``(offsets, values)``."""
    offsets, grams = ngram_hashes(texts, n, whole_short=True)
    m = offsets.size - 1
    rows = np.repeat(np.arange(m, dtype=np.uint64), np.diff(offsets))
    keys = (rows << np.uint64(40)) | (grams >> np.uint64(24))
    keys = unique_sorted(keys)
    urows = (keys >> np.uint64(40)).astype(np.int64)
    out = np.zeros(m + 1, dtype=np.int64)
    out[1:] = np.cumsum(np.bincount(urows, minlength=m))
    return out, keys & np.uint64((1 << 40) - 1)


#: The near-duplicate check's feature table: one row per (row with any n-gram, band) with that band's LSH key.
_BANDS = pa.schema([("row", pa.int64()), ("band", pa.int16()), ("key", pa.uint64())])

#: The band join in the feature store: the pairs of rows that share a bucket (a band key without its low ``bits``
#: bits, as :func:`candidate_pairs` buckets them) in some band, ``a < b``, distinct, ordered by ``(a, b)``. Only the
#: buckets of two or more rows are joined back; one of up to ``small`` rows gives every pair, a larger one the star
#: (first member, member) and the chain (previous member, member).
_PAIRS_SQL = """
WITH keyed AS (SELECT row, band, key >> {bits} AS bucket FROM "{table}"),
shared AS (SELECT band, bucket FROM keyed GROUP BY band, bucket HAVING count(*) > 1),
members AS (
    SELECT k.row, k.band, k.bucket, count(*) OVER w AS size, min(k.row) OVER w AS first,
           lag(k.row) OVER (PARTITION BY k.band, k.bucket ORDER BY k.row) AS prev
    FROM keyed k JOIN shared s ON k.band = s.band AND k.bucket = s.bucket
    WINDOW w AS (PARTITION BY k.band, k.bucket)
),
pairs AS (
    SELECT x.row AS a, y.row AS b FROM members x JOIN members y
        ON x.band = y.band AND x.bucket = y.bucket AND x.row < y.row WHERE x.size <= {small}
    UNION ALL SELECT first AS a, row AS b FROM members WHERE size > {small} AND row <> first
    UNION ALL SELECT prev AS a, row AS b FROM members WHERE size > {small} AND prev IS NOT NULL
)
SELECT DISTINCT a, b FROM pairs ORDER BY a, b
"""


@register
class NearDuplicatesCheck(BatchCheck):
    """Clusters of rows whose word-``ngram`` sets have Jaccard similarity >= ``threshold``.

    MinHash LSH finds candidate pairs; each candidate pair is then verified by the exact Jaccard similarity of the
    two rows' n-gram sets (so no pair under the threshold is reported), and verified pairs are joined into clusters
    (connected components). The metric ``near_duplicate_rate`` is the share of rows that could be removed, keeping one
    per cluster; a row's score is its highest similarity to another row of its cluster. Exact duplicates are
    near-duplicates too.

    Boilerplate is not duplication: an n-gram that occurs in more than ``max_ngram_rows`` rows (a share of the rows
    below 1, default 1 %; a count from 1; never fewer than :data:`MIN_BOILERPLATE_ROWS`) does not count when a pair
    is verified, so rows that share a long fixed preamble (a tool description, a system prompt) and differ in their
    task are not near-duplicates; rows alike in what is their own still are. ``null``: every n-gram counts.

    ``backend``: ``numpy`` (default) hashes n-grams and computes one-permutation MinHash signatures (``num_perm``
    bins) and LSH buckets vectorised (the hashing and signatures in compiled loops when Numba is installed,
    :mod:`playbook_lib.checks.native`); ``datasketch`` and ``rensa`` compute the signatures with those libraries
    (``rensa`` needs ``pip install rensa``) and use the same bucketing and verification.

    In batches (:mod:`playbook_lib.checks.batch`): each batch stores, for each of its rows with any n-gram, the
    row's LSH band keys (one uint64 per band). Every backend batches: a row's signature is a function of its own
    text, ``num_perm`` and ``seed`` only (datasketch's and rensa's seeded permutations as much as ours), so no
    backend needs the whole frame. The global step joins, in the feature store, the rows that share a bucket in some
    band (the candidate pairs), reads back only the rows of candidate pairs (:meth:`RowSource.take`) to verify each
    pair on the exact n-gram sets, makes one more pass over the rows (:meth:`RowSource.scan`) to count how many rows
    hold each of those rows' n-grams (the boilerplate rule), and joins the verified pairs into clusters.
    """

    name = "near_duplicates"
    metric = "near_duplicate_rate"
    backends = ("numpy", "datasketch", "rensa")
    tables = ("bands", "frequent")

    def __init__(
        self,
        threshold: float = 0.8,
        ngram: int = 3,
        num_perm: int = 128,
        seed: int = 1,
        fields: list[str] | None = None,
        backend: str = "numpy",
        max_ngram_rows: float | None = 0.01,
        warn: float | None = 0.01,
        fail: float | None = 0.1,
    ) -> None:
        super().__init__(warn, fail)
        self.require(0.0 < threshold <= 1.0, f"threshold must be in (0, 1], got {threshold}")
        self.require(
            max_ngram_rows is None or max_ngram_rows > 0,
            f"max_ngram_rows must be > 0 (a share of the rows below 1, a count from 1) or null, got {max_ngram_rows}",
        )
        self.max_ngram_rows = max_ngram_rows
        self.require(ngram >= 1, f"ngram must be at least 1, got {ngram}")
        self.require(16 <= num_perm <= 1024, f"num_perm must be in [16, 1024], got {num_perm}")
        self.require(backend in self.backends, f"backend must be one of {', '.join(self.backends)}, got {backend!r}")
        self.threshold = threshold
        self.ngram = ngram
        self.num_perm = num_perm
        self.seed = seed
        self.backend = backend
        self.fields = tuple(fields or ("instruction", "input", "output"))

    def _signatures(self, texts: list[str], frequent: _FrequentNgrams | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Band keys (rows x bands) and which rows have any n-gram; each chunk's n-grams also go to ``frequent``."""
        n = len(texts)
        bands, rows = bands_for(self.num_perm, self.threshold)
        keys = np.zeros((n, bands), dtype=np.uint64)
        active = np.zeros(n, dtype=bool)
        if not n:
            return keys, active
        if self.backend == "numpy":
            use_native(text_chars(texts))  # loads the compiled loops for a big input; the chunks then use them
            for lo, hi in chunks(texts):
                offsets, grams = ngram_chunk(texts[lo:hi], self.ngram, whole_short=True)
                if frequent is not None:
                    frequent.add(offsets, grams)
                active[lo:hi] = np.diff(offsets) > 0
                keys[lo:hi] = _band_keys(oph_signatures(offsets, grams, self.num_perm, self.seed), bands, rows)
            return keys, active
        # the peers' own shingles are not these hashes: the check's own n-grams go to ``frequent`` for the bound
        if frequent is not None and frequent.share is not None:
            for lo, hi in chunks(texts):
                frequent.add(*ngram_chunk(texts[lo:hi], self.ngram, whole_short=True))
        sets = [shingles(t, self.ngram) for t in texts]
        active[:] = [bool(s) for s in sets]
        if self.backend == "datasketch":
            from datasketch import MinHash  # lazy: MinHash library only for near-duplicate detection

            digests = np.stack([m.hashvalues for m in MinHash.bulk(sets, num_perm=self.num_perm, seed=self.seed)])
        else:
            try:
                from rensa import RMinHash  # lazy: MinHash library only for near-duplicate detection
            except ImportError:
                raise UsageError("near_duplicates backend 'rensa' needs `pip install rensa`") from None
            digests = np.zeros((n, self.num_perm), dtype=np.uint64)
            for i, s in enumerate(sets):
                m = RMinHash(num_perm=self.num_perm, seed=self.seed)
                m.update([g.decode() for g in s])
                digests[i] = m.digest()
        keys[:] = _band_keys((digests & np.uint64(0xFFFFFFFF)).astype(np.uint32), bands, rows)
        return keys, active

    def boilerplate_limit(self, n: int) -> int | None:
        """The number of rows an n-gram may occur in before it is boilerplate: ``max_ngram_rows`` (a share of the
        ``n`` rows below 1, a count from 1), at least :data:`MIN_BOILERPLATE_ROWS`; None: no n-gram is."""
        if self.max_ngram_rows is None:
            return None
        value = self.max_ngram_rows * n if self.max_ngram_rows < 1 else self.max_ngram_rows
        return max(MIN_BOILERPLATE_ROWS, int(value))

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        share = self.max_ngram_rows if self.max_ngram_rows is not None and self.max_ngram_rows < 1 else None
        frequent = _FrequentNgrams(share)
        keys, active = self._signatures(record_text(records, self.fields), frequent)
        numbers, keys = row_numbers(records)[active], keys[active]
        bands = keys.shape[1]
        table = {
            "row": np.repeat(numbers, bands),
            "band": np.tile(np.arange(bands, dtype=np.int16), numbers.size),
            "key": keys.ravel(),
        }
        return {"bands": pa.table(table, schema=_BANDS), "frequent": frequent.table()}

    def boilerplate(
        self, store: FeatureStore, rows: RowSource, grams: np.ndarray, limit: int
    ) -> tuple[np.ndarray, bool]:
        """The values of ``grams`` (sorted, unique: the candidate rows' n-grams) in more than ``limit`` rows, and
        whether the rows were read again to count some of them.

        With ``max_ngram_rows`` a share ``f`` of the ``n`` rows, the pass stored, per unit of consecutive rows
        (:class:`_FrequentNgrams`), the exact row counts of the n-grams in more than ``f`` times the unit's rows.
        An n-gram's count is at least the sum of its stored counts and at most ``f * n`` plus the sum of their
        excesses over ``f`` times their units' rows (where it was not stored, it was in at most that many rows):
        bounds that decide nearly every n-gram. Only the n-grams left between them (counts near the limit) are
        counted exactly, by a second pass over the rows; none left, no second pass. A limit as a count of rows
        (``max_ngram_rows`` from 1) has no such bound: every candidate n-gram is counted by the second pass."""
        bounds = self._bounds(store, rows.rows, limit)
        if bounds is None:
            undecided, certain = grams, grams[:0]
        else:
            values, above, open_ = bounds
            certain = np.intersect1d(values[above], grams, assume_unique=True)
            undecided = np.intersect1d(values[open_], grams, assume_unique=True)
        if not undecided.size:
            return certain, False
        # The document frequency of the undecided n-grams, by a second pass over the rows that counts only those
        # n-grams, rather than a per-batch table of every n-gram's row count summed in the store: a row has about
        # 94 distinct word 3-grams (GSM8K) and two thirds of all of them occur once, so at 10 M rows such a table
        # holds ~700 M (hash, count) rows (~11 GB, grown with the data, against 21 band keys per row) and its
        # group-by spills; the pass re-hashes the text (the cost of the batch step's hashing, once) in memory
        # bounded by the undecided n-grams.
        parts = (record_text(part, self.fields) for part in rows.scan())
        counted = _common_ngrams(parts, self.ngram, undecided, limit)
        return np.union1d(certain, counted), True

    def _bounds(self, store: FeatureStore, n: int, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The n-grams of the pass's ``frequent`` table of the ``n`` rows (sorted), which of them are surely in more
        than ``limit`` rows and which may be (:meth:`boilerplate`'s bounds); None without such bounds (a limit as a
        count of rows, or no table): then any n-gram may be."""
        share = self.max_ngram_rows
        table = self.table("frequent")
        if share is None or share >= 1 or not store.has(table):
            return None
        bounds = store.query(
            f'SELECT value, sum("count") AS low, sum(excess) AS over FROM "{table}" GROUP BY value ORDER BY value'
        )
        values = bounds["value"].astype(np.uint64)
        low, high = bounds["low"].astype(np.int64), share * n + bounds["over"].astype(np.float64)
        # a count above the limit is at least limit + 1; the margin keeps float rounding on the safe side
        return values, low > limit, (low <= limit) & (high >= limit + 1 - 1e-6)

    def boilerplate_candidates(self, store: FeatureStore, n: int, limit: int) -> np.ndarray | None:
        """The only n-grams (sorted) that :meth:`boilerplate` may find in more than ``limit`` of the ``n`` rows,
        from its bounds; None: any n-gram may be."""
        bounds = self._bounds(store, n, limit)
        return None if bounds is None else bounds[0][bounds[1] | bounds[2]]

    def candidates(self, store: FeatureStore, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The candidate pairs ``(a, b)`` (``a < b``, ordered by ``a`` then ``b``) of the ``n`` rows whose band keys
        are in ``store``: exactly :func:`candidate_pairs` of the stored keys, joined in the store."""
        table = self.table("bands")
        if not store.has(table):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        bits = max(1, int(n - 1).bit_length())  # the low bits candidate_pairs gives to the row number
        pairs = store.query(_PAIRS_SQL.format(table=table, bits=bits, small=ALL_PAIRS_UP_TO))
        return pairs["a"].astype(np.int64), pairs["b"].astype(np.int64)

    def _shingles_of(self, rows: RowSource, involved: np.ndarray, folder: Path | None) -> _RowSets:
        """:func:`shingle_sets` of the rows ``involved`` (ascending) and their lines, read back in batches (their
        texts are not kept); the sets go to a scratch file in ``folder`` (None: memory)."""
        sets = _RowSets(folder)
        try:
            for lo in range(0, involved.size, READ_ROWS):
                part = rows.take(involved[lo : lo + READ_ROWS])
                sets.add(*shingle_sets(record_text(part, self.fields), self.ngram), part["line"].to_numpy(np.int64))
            sets.done()
        except BaseException:
            sets.close()
            raise
        return sets

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        a, b = self.candidates(store, n)
        store.release()  # the band join's cached blocks, before the verification's n-gram sets take memory
        boilerplate = 0  # n-grams left out as boilerplate when pairs were verified
        scores = np.zeros(n)
        groups: list[list[int]] = []
        involved, lines = np.zeros(0, np.int64), np.zeros(0, np.int64)
        if a.size:
            involved = unique_sorted(np.concatenate([a, b]))
            sets = self._shingles_of(rows, involved, store.folder)
            try:
                lines = sets.lines
                ia, ib = np.searchsorted(involved, a), np.searchsorted(involved, b)
                sim, _ = sets.jaccard(ia, ib)
                ok = sim >= self.threshold - 1e-12
                a, b, sim, ia, ib = a[ok], b[ok], sim[ok], ia[ok], ib[ok]
                limit = self.boilerplate_limit(n)
                if limit is not None and a.size and limit < n:  # no n-gram is in more than n rows
                    grams = sets.distinct(self.boilerplate_candidates(store, n, limit))
                    common, _ = self.boilerplate(store, rows, grams, limit)
                    if common.size:
                        # rows alike only through boilerplate are not duplicates; rows that are nothing but
                        # boilerplate (no n-gram of their own on either side) are compared whole
                        residual, own = sets.jaccard(ia, ib, common)
                        sim = np.where(own, residual, sim)
                        ok = sim >= self.threshold - 1e-12
                        a, b, sim = a[ok], b[ok], sim[ok]
                        boilerplate = int(common.size)
            finally:
                sets.close()
            np.maximum.at(scores, a, sim)
            np.maximum.at(scores, b, sim)
            groups = _components(n, a, b)

        def line_of(i: int) -> int:
            return int(lines[np.searchsorted(involved, i)])

        texts = _shown_texts(groups, line_of, rows, self.fields, self.max_examples)
        discounted = f"; {boilerplate} boilerplate {self.ngram}-grams not counted" if boilerplate else ""
        detail = f" (Jaccard >= {self.threshold} on word {self.ngram}-grams{discounted})"
        result = clusters_result(self, n, groups, line_of, texts.__getitem__, scores, detail)
        result.summary["boilerplate_ngrams"] = boilerplate
        result.summary["boilerplate_limit"] = self.boilerplate_limit(n)
        return result


#: N-gram hashes of candidate rows' sets the verification holds at a time (64 MiB; :class:`_RowSets`).
VERIFY_VALUES = 1 << 23


class _RowSets:
    """The n-gram sets (:func:`shingle_sets`) of the candidate rows, in their order: their offsets and lines in
    memory and their values in a scratch file of ``folder`` (or memory, without one), read back a block of pairs
    at a time (about :data:`VERIFY_VALUES` values), so the verification's memory does not grow with the candidate
    rows (at ten million bench rows they hold ~100 M n-gram hashes, 0.8 GB).

    Raises:
        UsageError: the scratch file cannot be written or read (disk full): one line naming it."""

    def __init__(self, folder: Path | None) -> None:
        self._offsets: list[np.ndarray] = [np.zeros(1, np.int64)]
        self._lines: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._memory = np.zeros(0, np.uint64)  # the values, without a file (after done)
        self._size = 0
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        if folder is not None:
            # the store's own private folder (not an output: removed with the store), so a fresh name, opened
            # exclusively, is enough
            self._path = folder / f"near-sets-{uuid.uuid4().hex}.u64"
            try:
                self._file = open(self._path, "x+b")  # noqa: SIM115 (closed by close())
            except OSError as exc:
                raise self._failed(exc) from None
        self.offsets = self._offsets[0]
        self.lines = np.zeros(0, np.int64)

    def _failed(self, exc: OSError) -> UsageError:
        why = exc.strerror or type(exc).__name__
        return UsageError(f"the near-duplicate check's scratch file {self._path} failed: {why} (free disk space)")

    def add(self, offsets: np.ndarray, values: np.ndarray, lines: np.ndarray) -> None:
        """The sets of the next rows, as :func:`shingle_sets` gives them, and their lines."""
        self._offsets.append(offsets[1:] + self._size)
        self._lines.append(lines)
        self._size += values.size
        if self._file is None:
            self._values.append(values)
            return
        try:
            self._file.write(np.ascontiguousarray(values, np.uint64).tobytes())
        except OSError as exc:
            raise self._failed(exc) from None

    def done(self) -> None:
        """Every row added: the offsets and lines as arrays, the values in memory or flushed to the file."""
        self.offsets = np.concatenate(self._offsets)
        self.lines = np.concatenate(self._lines) if self._lines else np.zeros(0, np.int64)
        self._offsets, self._lines = [], []
        if self._file is None:
            self._memory = np.concatenate(self._values) if self._values else np.zeros(0, np.uint64)
            self._values = []
            return
        try:
            self._file.flush()
        except OSError as exc:
            raise self._failed(exc) from None

    def close(self) -> None:
        """Remove the scratch file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    def gather(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(offsets, values)`` of the sets of rows ``index`` (ascending, distinct), as :func:`shingle_sets`."""
        starts, stops = self.offsets[index], self.offsets[index + 1]
        out = np.zeros(index.size + 1, np.int64)
        np.cumsum(stops - starts, out=out[1:])
        if self._file is None:
            return out, self._memory[concat_ranges(starts, stops - starts)]
        values = np.empty(int(out[-1]), np.uint64)
        if not index.size:
            return out, values
        # consecutive rows are consecutive in the file: one read a run
        cut = np.flatnonzero(np.diff(index) != 1) + 1
        first, last = np.r_[0, cut], np.r_[cut, index.size] - 1
        view = values.view(np.uint8).data  # a memoryview of its bytes
        fd = self._file.fileno()
        try:
            for lo, hi, at in zip(starts[first].tolist(), stops[last].tolist(), out[first].tolist()):
                want = (hi - lo) * 8
                if os.preadv(fd, [view[at * 8 : at * 8 + want]], lo * 8) != want:
                    raise OSError(0, "the file is shorter than what was written to it")
        except OSError as exc:
            raise self._failed(exc) from None
        return out, values

    def distinct(self, wanted: np.ndarray | None) -> np.ndarray:
        """The distinct values of every set that are in ``wanted`` (sorted; None: every value), sorted."""
        rows = self.offsets.size - 1
        found = np.zeros(0 if wanted is None else wanted.size, bool)
        parts: list[np.ndarray] = []
        lo = 0
        while lo < rows:
            hi = max(lo + 1, int(np.searchsorted(self.offsets, self.offsets[lo] + VERIFY_VALUES, side="right")) - 1)
            hi = min(hi, rows)
            _, values = self.gather(np.arange(lo, hi))
            if wanted is None:
                parts.append(unique_sorted(values))
            elif wanted.size:
                where, hit = find_sorted(wanted, values)
                found[where[hit]] = True
            lo = hi
        if wanted is not None:
            return wanted[found]
        return unique_sorted(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)

    def jaccard(self, a: np.ndarray, b: np.ndarray, drop: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:func:`pair_jaccard` of the sets of rows ``a[k]`` and ``b[k]`` (``a`` ascending), without the values in
        ``drop`` (sorted) if given, and whether either set of a pair keeps any value; a block of pairs at a time."""
        sim, own = np.zeros(a.size), np.zeros(a.size, bool)
        sizes = np.diff(self.offsets)
        start = 0
        while start < a.size:
            cum = np.cumsum(sizes[a[start:]] + sizes[b[start:]])
            stop = start + max(1, int(np.searchsorted(cum, VERIFY_VALUES, side="right")))
            pa, pb = a[start:stop], b[start:stop]
            index = unique_sorted(np.concatenate([pa, pb]))
            offsets, values = self.gather(index)
            if drop is not None:
                offsets, values = _without(offsets, values, drop)
            la, lb = np.searchsorted(index, pa), np.searchsorted(index, pb)
            sim[start:stop] = pair_jaccard(offsets, values, la, lb)
            kept = np.diff(offsets)
            own[start:stop] = (kept[la] + kept[lb]) > 0
            start = stop
        return sim, own


#: Rows per unit of :class:`_FrequentNgrams` (at least; a unit ends at a chunk's end).
FREQUENT_UNIT_ROWS = 65_536
#: log2 of the buckets of :class:`_FrequentNgrams`' first count (8 MB of int64 counts).
_BUCKET_BITS = 20

_FREQUENT = pa.schema([("value", pa.uint64()), ("count", pa.int64()), ("excess", pa.float64())])


class _FrequentNgrams:
    """The n-grams (40-bit values, as :func:`shingle_sets` gives) in more than ``share`` times the rows of a unit
    of consecutive rows (at least :data:`FREQUENT_UNIT_ROWS`), with their exact row counts and the excess of
    each count over ``share`` times the unit's rows; :meth:`NearDuplicatesCheck.boilerplate` bounds every
    n-gram's count over all rows with them. ``share`` None: nothing is kept.

    Per unit, a first count of every n-gram occurrence by bucket (the values' low bits) over-counts each value's
    rows, so a value whose bucket stays at or under the bar is in no more rows than the bar; the values of the
    buckets over it are then counted exactly, once per row. Memory: the unit's n-gram hashes and the buckets."""

    def __init__(self, share: float | None) -> None:
        self.share = share
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._rows = 0
        self._out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, offsets: np.ndarray, grams: np.ndarray) -> None:
        """One chunk of rows: ``(offsets, grams)`` as :func:`~playbook_lib.checks.hashing.ngram_chunk` gives."""
        if self.share is None:
            return
        self._parts.append((offsets, grams >> np.uint64(24)))
        self._rows += offsets.size - 1
        if self._rows >= FREQUENT_UNIT_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._parts:
            return
        assert self.share is not None  # add keeps nothing otherwise
        bar = self.share * self._rows
        mask = np.uint64((1 << _BUCKET_BITS) - 1)
        buckets = np.zeros(1 << _BUCKET_BITS, np.int64)
        for _, values in self._parts:
            buckets += np.bincount((values & mask).astype(np.intp), minlength=buckets.size)
        hot = buckets > bar
        found, owners, base = [], [], 0
        for offsets, values in self._parts:
            keep = hot[(values & mask).astype(np.intp)]
            if keep.any():
                found.append(values[keep])
                owners.append(np.repeat(np.arange(base, base + offsets.size - 1), np.diff(offsets))[keep])
            base += offsets.size - 1
        self._parts, self._rows = [], 0
        if not found:
            return
        values, owner = np.concatenate(found), np.concatenate(owners)
        order = np.lexsort((owner, values))
        values, owner = values[order], owner[order]
        first = np.r_[True, (values[1:] != values[:-1]) | (owner[1:] != owner[:-1])]  # once per row
        distinct, counts = np.unique(values[first], return_counts=True)
        over = counts > bar
        self._out.append((distinct[over], counts[over], counts[over] - bar))

    def table(self) -> pa.Table:
        """Every unit's frequent n-grams (the last unit closed first)."""
        self._flush()
        parts = self._out or [(np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0))]
        columns = [np.concatenate([p[i] for p in parts]) for i in range(3)]
        return pa.table(dict(zip(("value", "count", "excess"), columns)), schema=_FREQUENT)


#: The fewest rows an n-gram must occur in to count as boilerplate: a cluster of up to this many near copies is
#: found even when its shared n-grams are common (they are the cluster's own).
MIN_BOILERPLATE_ROWS = 50


def _common_ngrams(parts: Iterable[list[str]], n: int, grams: np.ndarray, limit: int) -> np.ndarray:
    """The values of ``grams`` (sorted 40-bit n-gram hashes, as :func:`shingle_sets` gives) that occur in more than
    ``limit`` of the texts of ``parts`` (every row's text, in batches): one pass, in chunks, counting only those
    values (memory bounded by ``grams`` and a chunk).

    Most of the rows' n-grams are not among ``grams`` (the candidate rows' n-grams): a bit table of ``grams``
    (:func:`~playbook_lib.checks.hashing.bit_table`) drops nearly all of them first; the rest are sorted and looked
    up by binary search (each still compared exactly), and the hits counted per distinct value, so a chunk costs its
    own n-grams, not a binary search into ``grams`` per n-gram and a pass over ``grams``."""
    counts = np.zeros(grams.size, dtype=np.int64)
    table, mask = bit_table(grams)
    for texts in parts:
        for lo, hi in chunks(texts):
            _, values = shingle_sets(texts[lo:hi], n)  # unique per row: a count is a number of rows
            values = np.sort(values[maybe_in(table, mask, values)])
            where, found = find_sorted(grams, values)
            where = where[found]  # sorted: each hit value's rows are one run
            if where.size:
                starts = np.flatnonzero(np.r_[True, where[1:] != where[:-1]])
                counts[where[starts]] += np.diff(np.r_[starts, where.size])
    return grams[counts > limit]


def _without(offsets: np.ndarray, values: np.ndarray, drop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sets of :func:`shingle_sets` without the values in ``drop`` (sorted)."""
    keep = ~find_sorted(drop, values)[1]
    rows = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    out = np.zeros_like(offsets)
    out[1:] = np.cumsum(np.bincount(rows[keep], minlength=offsets.size - 1))
    return out, values[keep]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> list[list[int]]:
    """Connected components (of two or more rows, ascending, ordered by first row) of the graph with edges a-b:
    every node takes the smallest label among its neighbours, with pointer jumping, until nothing changes."""
    if not a.size:
        return []
    nodes = unique_sorted(np.concatenate([a, b]))
    ia, ib = np.searchsorted(nodes, a), np.searchsorted(nodes, b)
    labels = np.arange(nodes.size)
    while True:
        low = np.minimum(labels[ia], labels[ib])
        new = labels.copy()
        np.minimum.at(new, ia, low)
        np.minimum.at(new, ib, low)
        new = new[new]
        if np.array_equal(new, labels):
            break
        labels = new
    order = np.lexsort((nodes, labels))
    labels, members = labels[order], nodes[order]
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    groups = [g.tolist() for g in np.split(members, cuts) if g.size > 1]
    return sorted(groups, key=lambda g: g[0])
