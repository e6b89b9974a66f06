"""Contamination: training rows that overlap an eval/test set, exactly or by shared word 13-grams.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Clear
train/validation/test split".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import CheckContext, CheckResult
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.hashing import (
    bit_table,
    chunks,
    concat_ranges,
    find_sorted,
    maybe_in,
    ngram_chunk,
    ngram_hashes,
    normal_hashes,
    text_chars,
    unique_sorted,
    use_native,
)
from playbook_lib.checks.registry import register
from playbook_lib.text.normal import normalise, snippet

_WORD = re.compile(r"\w+", re.UNICODE)


def ngrams(text: str, n: int) -> set[str]:
    """Word ``n``-grams of the lower-cased text (empty when it has fewer than ``n`` words)."""
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


@dataclass
class Overlap:
    """Which training rows overlap the eval set, and how.

    ``flags``/``scores`` per training row (score: share of the row's distinct counted n-grams found in the eval set,
    1 for an exact copy); ``exact[i]`` the eval row a training row copies (or -1); ``first_eval[i]`` the first eval
    row it shares a counted n-gram with (or -1); ``shared[i]`` how many distinct counted n-grams it shares;
    ``hit_eval`` the eval rows hit; ``distinct[i]`` how many distinct counted n-grams a training row with a shared
    one has (0 for the others).

    With ``pairs=True`` (:func:`overlap`), ``pairs`` holds every (training row, eval row) that share a counted n-gram
    (exact copies aside) as three arrays ``(train_row, eval_row, shared)``, sorted by training then eval row,
    ``shared`` the number of distinct counted n-grams the two share; ``eval_distinct[j]`` the number of distinct
    n-grams of eval row j and ``eval_boilerplate[j]`` how many of them are boilerplate.

    *Counted* n-grams: all of them, unless ``max_rows`` is given; then an eval n-gram found in more than
    ``max_rows`` distinct training rows (document frequency, rows that are exact copies aside) is *boilerplate* and
    counts nowhere: not as shared, not in ``distinct``. ``boilerplate`` lists them as ``{n-gram: training rows}``
    (:func:`overlap_plain`: the n-gram's text; :func:`overlap`: its 64-bit hash, with ``boilerplate_eval`` the first
    eval row holding it, so its text can be recovered).
    """

    flags: np.ndarray
    scores: np.ndarray
    exact: np.ndarray
    first_eval: np.ndarray
    shared: np.ndarray
    hit_eval: set[int]
    distinct: np.ndarray | None = None
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    eval_distinct: np.ndarray | None = None
    eval_boilerplate: np.ndarray | None = None
    boilerplate: dict[Any, int] = field(default_factory=dict)
    boilerplate_eval: dict[int, int] = field(default_factory=dict)


def _empty(m: int) -> Overlap:
    return Overlap(
        np.zeros(m, bool),
        np.zeros(m),
        np.full(m, -1),
        np.full(m, -1),
        np.zeros(m, np.int64),
        set(),
        np.zeros(m, np.int64),
    )


def overlap_plain(
    train: list[str],
    evals: list[str],
    n: int,
    exact: bool = True,
    pairs: bool = False,
    max_rows: float | None = None,
    train_rows: Sequence[int] | None = None,
) -> Overlap:
    """The plain-Python overlap pass: a dict of every eval n-gram (as a string) and a set per training row.

    ``exact=False`` skips the exact-copy pass (every row is looked at by n-grams); ``pairs=True`` fills ``pairs``,
    ``eval_distinct`` and ``eval_boilerplate`` (see :class:`Overlap`). ``max_rows``: n-grams of more than this many
    distinct training rows are boilerplate and do not count; ``train_rows[i]`` is the training row text ``i`` belongs
    to for that count (default: each text its own row; several texts, the fields of one row, may share one). The
    reference the vectorised :func:`overlap` is tested against, and the peer it is benchmarked against.
    """
    eval_exact = {normalise(t): i for i, t in enumerate(evals) if t.strip()} if exact else {}
    eval_words = [_WORD.findall(t.casefold()) for t in evals]
    eval_sets = [ngrams(t, n) for t in evals]
    any_eval = {g for grams in eval_sets for g in grams}
    m = len(train)
    out = _empty(m)
    owner = list(range(m)) if train_rows is None else list(train_rows)
    train_sets: list[set[str]] = []
    for i, t in enumerate(train):
        j = eval_exact.get(normalise(t))
        if j is not None:
            out.flags[i], out.scores[i], out.exact[i] = True, 1.0, j
            out.hit_eval.add(j)
            train_sets.append(set())
        else:
            train_sets.append(ngrams(t, n))
    if max_rows is not None:
        holders: dict[str, set[int]] = {}
        for i, grams in enumerate(train_sets):
            for g in grams:
                if g in any_eval:
                    holders.setdefault(g, set()).add(owner[i])
        out.boilerplate = {g: len(r) for g, r in holders.items() if len(r) > max_rows}
    # per eval row, the n-grams with an occurrence that holds no boilerplate word: the ones that count
    eval_grams: dict[str, list[int]] = {}
    counted_of = []
    for j, words in enumerate(eval_words):
        starts = [" ".join(words[k : k + n]) for k in range(len(words) - n + 1)]
        boiler_word = [False] * len(words)
        for k, g in enumerate(starts):
            if g in out.boilerplate:
                boiler_word[k : k + n] = [True] * n
        clear = {g for k, g in enumerate(starts) if not any(boiler_word[k : k + n])}
        counted_of.append(len(clear))
        for g in clear:
            eval_grams.setdefault(g, []).append(j)
    found: list[tuple[int, int, int]] = []
    for i, grams in enumerate(train_sets):
        shared = [g for g in grams if g in eval_grams]
        if shared:
            rows = {k for g in shared for k in eval_grams[g]}
            own = len(grams) - sum(g in out.boilerplate for g in grams)
            out.flags[i], out.scores[i] = True, len(shared) / own
            out.distinct[i] = own  # type: ignore[index]
            out.shared[i], out.first_eval[i] = len(shared), min(rows)
            out.hit_eval.update(rows)
            if pairs:
                per_row: dict[int, int] = {}
                for g in shared:
                    for k in eval_grams[g]:
                        per_row[k] = per_row.get(k, 0) + 1
                found.extend((i, k, c) for k, c in sorted(per_row.items()))
    if pairs:
        table = np.array(found, dtype=np.int64).reshape(-1, 3)
        out.pairs = (table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy())
        out.eval_distinct = np.array([len(grams) for grams in eval_sets], np.int64)
        out.eval_boilerplate = out.eval_distinct - np.array(counted_of, np.int64)
    return out


def overlap(
    train: list[str],
    evals: list[str],
    n: int,
    exact: bool = True,
    pairs: bool = False,
    max_rows: float | None = None,
    train_rows: np.ndarray | None = None,
) -> Overlap:
    """The same result as :func:`overlap_plain`, vectorised: n-grams are 64-bit hashes
    (:func:`~playbook_lib.checks.hashing.ngram_hashes`), membership is a sorted search in the eval set's hashes, and
    only rows with a hit are looked at row by row. Exact copies are found by normal-form hashes and confirmed on the
    normalised strings (skipped with ``exact=False``); ``pairs=True`` also counts the n-grams each (training row,
    eval row) pair shares (see :class:`Overlap`). With ``max_rows``, the document frequency of the eval set's n-grams
    is counted from the same hits (a sort of the distinct (n-gram, training row) hits, no second pass over the
    text) before any pair is expanded, so boilerplate shared by thousands of rows on both sides costs no more than
    one hit per row."""
    out = _empty(len(train))
    if exact:
        _exact_copies(train, evals, out)
    _ngram_overlap(train, evals, n, out, pairs, max_rows, train_rows)
    return out


def _exact_copies(train: list[str], evals: list[str], out: Overlap) -> None:
    """Exact copies into ``out``: the last eval row with the same non-empty normal form, as in the plain version."""
    rows, copied = _EvalPrompts(evals).copies(train)
    out.flags[rows], out.scores[rows], out.exact[rows] = True, 1.0, copied
    out.hit_eval.update(copied.tolist())


class _EvalPrompts:
    """Eval texts indexed for exact copies: their normal-form hashes (``keys``: those of the non-blank texts,
    sorted)."""

    def __init__(self, evals: Sequence[str]) -> None:
        self.texts = list(evals)
        self.norm = normal_hashes(self.texts)
        self.blank = np.array([not t.strip() for t in self.texts], dtype=bool)
        self.keys = unique_sorted(self.norm[~self.blank])

    def copies(self, train: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The texts of ``train`` that copy an eval text (ascending) and the eval text each copies: the last one
        with the same non-empty normal form, found by hash and confirmed on the normalised strings."""
        train_norm = normal_hashes(list(train))
        maybe = np.flatnonzero(np.isin(train_norm, self.keys))
        found: list[tuple[int, int]] = []
        if maybe.size:
            candidates = {int(h) for h in train_norm[maybe].tolist()}
            chosen = np.flatnonzero(np.isin(self.norm, list(candidates)) & ~self.blank).tolist()
            by_text = {normalise(self.texts[j]): j for j in chosen}
            found = [(i, j) for i in maybe.tolist() if (j := by_text.get(normalise(train[i]))) is not None]
        table = np.array(found, dtype=np.int64).reshape(-1, 2)
        return table[:, 0].copy(), table[:, 1].copy()


def _positions_dtype(size: int) -> type[np.signedinteger[Any]]:
    """The integer type for positions below ``size``: int32 where they fit (half the memory of int64)."""
    return np.int32 if size < 2**31 else np.int64


class _EvalGrams:
    """The word ``n``-grams of a list of eval texts, indexed for lookup by hash.

    An *entry* is a distinct (n-gram, eval text), in hash then text order: ``entry_gram`` (its hash),
    ``entry_text`` (its text) and :attr:`entry_id` (the number of its n-gram in ``unique``, the distinct n-grams
    sorted, each with its run of entries ``start[k]:start[k] + count[k]``). ``distinct[j]``: text ``j``'s distinct
    n-grams. Positions are int32 where they fit; the n-grams of every text in text order, their sort order and
    ``entry_id`` are computed again where they are needed (:meth:`clean`, from ``texts``, kept by reference)
    rather than kept: at an eval set of 100,000 rows (7.2 M n-grams) that is 135 MB less.
    """

    def __init__(self, evals: Sequence[str], n: int) -> None:
        self.n = n
        self.texts = evals
        offsets, grams = ngram_hashes(evals, n)
        _, distinct_entry, e_sorted, rows = _sorted_entries(offsets, grams, len(evals))
        del offsets, grams
        small = _positions_dtype(max(len(evals), e_sorted.size))
        self.entry_gram, self.entry_text = e_sorted[distinct_entry], rows[distinct_entry].astype(small)
        del e_sorted, rows, distinct_entry
        # the distinct eval n-grams, each with its run of entries (eval rows ascending)
        new_gram = np.r_[True, self.entry_gram[1:] != self.entry_gram[:-1]][: self.entry_gram.size]
        self.unique, self.start = self.entry_gram[new_gram], np.flatnonzero(new_gram).astype(small)
        self.count = np.diff(np.r_[self.start, self.entry_gram.size]).astype(small)
        self.distinct = np.bincount(self.entry_text, minlength=len(evals)).astype(np.int64)
        self._lookup_table()

    @property
    def entry_id(self) -> np.ndarray:
        """Per entry, the number of its n-gram in :attr:`unique`."""
        return np.repeat(np.arange(self.unique.size), self.count)

    def _lookup_table(self) -> None:
        """Two bit tables of the eval n-grams, cheap necessary conditions, so that the sorted search runs on the few
        train n-grams that pass both: one of their top bits (about 8 slots per n-gram, one bit a slot, up to 32 MiB),
        which every train n-gram meets, and one of their low bits (:func:`bit_table`, at least 16 slots per distinct
        n-gram) for the tenth or so that pass the first. Measured on the bench's data (eval sets of 10,000 and
        100,000 rows, 0.7 M and 7.2 M n-grams): an n-gram that is no eval n-gram passes the first table with a chance
        of 8 % and 10 %, both with 0.35 % and 0.53 %. With the first table alone, at the larger eval set (a sorted
        array of 58 MB, mostly out of cache), the binary search of the n-grams that passed was 38 % of the lookup's
        time (1.28 of 3.33 s per 150,000 training rows; 0.18 s with both tables).
        """
        bits = int(min(max(16, np.ceil(np.log2(max(self.entry_gram.size, 1) * 8))), 28))
        self._shift = np.uint64(64 - bits)
        self._seen = np.zeros(1 << (bits - 3), dtype=np.uint8)
        slots = self.entry_gram >> self._shift  # entry_gram is sorted, so are its top bits: grouped by byte below
        if slots.size:
            byte = slots >> np.uint64(3)
            first = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
            masks = np.left_shift(np.uint8(1), (slots & np.uint64(7)).astype(np.uint8))
            self._seen[byte[first].astype(np.int64)] = np.bitwise_or.reduceat(masks, first)
        self._low, self._mask = bit_table(self.unique)

    def _maybe(self, grams: np.ndarray) -> np.ndarray:
        """The positions in ``grams`` (n-gram hashes) whose slots in both bit tables are set (every eval n-gram's
        are), ascending."""
        slot = (grams >> self._shift).astype(np.int64)
        maybe = np.flatnonzero((self._seen[slot >> 3] >> (slot & 7).astype(np.uint8)) & 1)
        return maybe[maybe_in(self._low, self._mask, grams[maybe])]

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the lookup tables, rebuilt from the n-grams on unpickling (about a second for 7.2 M
        n-grams): a prepared check shipped to other processes carries the eval n-grams only."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_seen", "_shift", "_low", "_mask")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lookup_table()

    def hits(
        self, train: Sequence[str], skip: np.ndarray | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per chunk of ``train`` holding a hit: the texts with a hit (ascending; ``skip[i]`` leaves text ``i``
        out), their distinct n-gram counts, and their distinct hits as two arrays (text, number of the eval n-gram
        in :attr:`unique`), sorted by text then n-gram. Nothing when the eval texts have no n-gram."""
        if not self.entry_gram.size:
            return
        e_sorted = self.entry_gram
        for lo, hi in chunks(train):
            offsets, grams = ngram_chunk(train[lo:hi], self.n)
            hit = np.zeros(grams.size, dtype=bool)
            maybe = self._maybe(grams)
            if maybe.size:
                hit[maybe] = find_sorted(e_sorted, grams[maybe])[1]
            if not hit.any():
                continue
            rows = np.repeat(np.arange(hi - lo), np.diff(offsets))
            if skip is not None:
                hit &= ~skip[lo:hi][rows]
            hit_rows = unique_sorted(rows[hit])
            if not hit_rows.size:
                continue
            sel = np.isin(rows, hit_rows)
            r, g, h = rows[sel], grams[sel], hit[sel]
            order_rg = np.lexsort((g, r))
            r, g, h = r[order_rg], g[order_rg], h[order_rg]
            first = np.r_[True, (r[1:] != r[:-1]) | (g[1:] != g[:-1])]
            distinct = np.bincount(r[first], minlength=hi - lo)[hit_rows]
            keep = first & h
            yield lo + hit_rows, distinct, lo + r[keep], np.searchsorted(self.unique, g[keep])

    def clean(self, boilerplate: np.ndarray) -> np.ndarray:
        """Per entry: whether one of its n-gram's occurrences in its text holds no word of a ``boilerplate``
        n-gram (sorted hashes; see :func:`_clean_entries`). All true without boilerplate."""
        if not boilerplate.size:
            return np.ones(self.entry_gram.size, bool)
        offsets, grams = ngram_hashes(self.texts, self.n)
        order, distinct_entry, _, _ = _sorted_entries(offsets, grams, len(self.texts))
        return _clean_entries(offsets, grams, order, distinct_entry, boilerplate, self.n)


def _sorted_entries(
    offsets: np.ndarray, grams: np.ndarray, texts: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Of the n-grams ``grams`` of ``texts`` texts (``offsets``, as :func:`ngram_hashes` gives): the permutation
    that sorts them (stably), which of the sorted ones start a distinct (n-gram, text) entry (a text repeating an
    n-gram owns it once), and the sorted n-grams and their texts."""
    order = np.argsort(grams, kind="stable")
    e_sorted = grams[order]
    rows = np.repeat(np.arange(texts, dtype=_positions_dtype(texts)), np.diff(offsets))[order]
    distinct_entry = np.r_[True, (e_sorted[1:] != e_sorted[:-1]) | (rows[1:] != rows[:-1])][: e_sorted.size]
    return order, distinct_entry, e_sorted, rows


def _ngram_overlap(
    train: list[str],
    evals: list[str],
    n: int,
    out: Overlap,
    pairs: bool,
    max_rows: float | None = None,
    train_rows: np.ndarray | None = None,
) -> None:
    """Shared ``n``-grams into ``out`` for the training rows that are not exact copies already.

    One pass over the training text collects, per chunk, the distinct (training text, eval n-gram) hits; the
    document frequency of each eval n-gram (distinct training rows, ``train_rows``) comes from those hits, and the
    shared counts, first eval rows and pairs from the hits of the n-grams that count."""
    index = _EvalGrams(evals, n)
    e_rows, u_grams, u_start, u_count = index.entry_text, index.unique, index.start, index.count
    m_eval = max(len(evals), 1)
    if pairs:
        out.pairs = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        out.eval_distinct = index.distinct.copy()
        out.eval_boilerplate = np.zeros(len(evals), np.int64)
    if not index.entry_gram.size:
        return
    use_native(text_chars(train))  # loads the compiled loops for a big input; the chunks then use them
    # per chunk: the texts with a hit, their distinct n-gram counts, and their distinct hits (text, eval n-gram)
    hits = list(index.hits(train, out.exact >= 0))
    if not hits:
        return
    clean = np.ones(index.entry_gram.size, bool)  # per distinct (n-gram, eval row) entry: it counts for that row
    boiler = np.zeros(u_grams.size, bool)
    if max_rows is not None:
        texts = np.concatenate([t for _, _, t, _ in hits])
        grams_of = np.concatenate([u for _, _, _, u in hits])
        owner = texts if train_rows is None else np.asarray(train_rows, np.int64)[texts]
        span = int(owner.max()) + 1
        keys = unique_sorted(grams_of * span + owner)  # distinct (eval n-gram, training row)
        frequency = np.bincount(keys // span, minlength=u_grams.size)
        boiler = frequency > max_rows
        where = np.flatnonzero(boiler)
        out.boilerplate = dict(zip(u_grams[where].tolist(), frequency[where].tolist()))
        out.boilerplate_eval = dict(zip(u_grams[where].tolist(), e_rows[u_start[where]].tolist()))
        if where.size:
            clean = index.clean(u_grams[where])
            if pairs:
                out.eval_boilerplate = np.bincount(e_rows[~clean], minlength=len(evals)).astype(np.int64)
    hit_owners = []
    found_pairs: list[np.ndarray] = []
    for text_ids, distinct, t, u in hits:
        lose = np.bincount(np.searchsorted(text_ids, t[boiler[u]]), minlength=text_ids.size)
        t, u = t[~boiler[u]], u[~boiler[u]]
        # the eval rows each hit n-gram counts for (none where every occurrence touches boilerplate)
        entries = concat_ranges(u_start[u], u_count[u])
        owner_text = np.repeat(t, u_count[u])
        ok = clean[entries]
        entries, owner_text = entries[ok], owner_text[ok]
        owners = e_rows[entries]
        # distinct counted n-grams per text: one per (text, n-gram) with at least one eval row it counts for
        gram_of_entry = np.repeat(np.arange(u.size), u_count[u])[ok]
        shared = np.bincount(np.searchsorted(text_ids, t[unique_sorted(gram_of_entry)]), minlength=text_ids.size)
        on = shared > 0
        if not on.any():
            continue
        ids = text_ids[on]
        out.flags[ids] = True
        out.shared[ids] = shared[on]
        out.distinct[ids] = (distinct - lose)[on]  # type: ignore[index]
        out.scores[ids] = shared[on] / (distinct - lose)[on]
        first_eval = np.full(ids.size, np.iinfo(np.int64).max)
        np.minimum.at(first_eval, np.searchsorted(ids, owner_text), owners)
        out.first_eval[ids] = first_eval
        hit_owners.append(owners)
        if pairs:  # a (training text, eval row) key per distinct n-gram they share; a chunk holds all of a text's
            keys, counts = np.unique(owner_text * m_eval + owners, return_counts=True)
            found_pairs.append(np.stack([keys, counts]))
    if hit_owners:
        out.hit_eval.update(unique_sorted(np.concatenate(hit_owners)).tolist())
    if pairs and found_pairs:
        keys, counts = np.concatenate(found_pairs, axis=1)
        out.pairs = (keys // m_eval, keys % m_eval, counts)


def _clean_entries(
    e_offsets: np.ndarray,
    e_grams: np.ndarray,
    order: np.ndarray,
    distinct_entry: np.ndarray,
    boilerplate: np.ndarray,
    n: int,
) -> np.ndarray:
    """Per distinct (n-gram, eval row) entry (``e_grams[order][distinct_entry]``): whether one of the n-gram's
    occurrences in the row holds no word of a boilerplate n-gram (``boilerplate``: sorted hashes). An eval row's
    n-grams start at consecutive positions of ``e_grams``, one per word, so an occurrence at ``q`` holds a
    boilerplate word when a boilerplate n-gram starts within ``n - 1`` positions of it in the same row."""
    starts_here = find_sorted(boilerplate, e_grams)[1].astype(np.int64)
    total = np.r_[0, np.cumsum(starts_here)]
    rows = np.repeat(np.arange(e_offsets.size - 1), np.diff(e_offsets))
    q = np.arange(e_grams.size)
    lo = np.maximum(q - (n - 1), e_offsets[rows])
    hi = np.minimum(q + n, e_offsets[rows + 1])
    clean_at = (total[hi] - total[lo]) == 0
    ordered = clean_at[order]
    group = np.cumsum(distinct_entry) - 1
    out = np.zeros(int(distinct_entry.sum()), bool)
    np.logical_or.at(out, group, ordered)
    return out


#: The fields compared by default: the whole example, prompt and answer (chat rows carry their user turns in
#: ``instruction`` and the last assistant turn in ``output``; preference rows their ``chosen`` answer in ``output``).
DEFAULT_FIELDS = ("instruction", "input", "output")
#: An eval n-gram found in more training rows than this is boilerplate, not a leak (see :class:`ContaminationCheck`).
DEFAULT_MAX_NGRAM_ROWS = 10
#: The fields that make a prompt: equal normal forms of these (joined) are an exact copy of an eval item.
PROMPT_FIELDS = ("instruction", "input")
#: Fields a contamination item can compare (the text fields of the record model).
COMPARABLE_FIELDS = ("instruction", "input", "output", "messages", "chosen", "rejected")


def field_texts(records: pd.DataFrame, field: str) -> list[str] | None:
    """One string per row of ``field``: the text, or the joined ``content`` strings of a list of chat turns; ``""``
    for anything else (a number, an object, a missing value). None when no row holds any text in it."""
    if field not in records.columns:
        return None
    out = [v if isinstance(v, str) else _turns_text(v) if isinstance(v, list) else "" for v in records[field].tolist()]
    return out if any(out) else None


def _turns_text(turns: list[object]) -> str:
    parts = [t.get("content") if isinstance(t, dict) else t for t in turns]
    return "\n".join(p for p in parts if isinstance(p, str) and p)


def _joined(columns: list[list[str]], n: int) -> list[str]:
    """Per row, the non-empty texts of ``columns`` joined by newlines (as :func:`playbook_lib.data.record_text`)."""
    if not columns:
        return [""] * n
    if len(columns) == 1:
        return columns[0]
    return ["\n".join(v for v in values if v) for values in zip(*columns)]


@register
class ContaminationCheck(BatchCheck):
    """Eval examples that reappear in training data, exactly (normalised prompt) or sharing ``ngram``-word n-grams
    between any eval field and any training field.

    Compares whole examples by default (``fields``: ``instruction``, ``input`` and ``output``): every eval field's
    n-grams are looked up in every training field, so an eval answer copied into a training response, or an eval
    question quoted in one, is a leak too, not only a copied prompt.

    * A training row whose prompt (``exact_fields``, default the prompt fields among ``fields``: ``instruction`` and
      ``input``) equals an eval row's after normalisation is an exact copy.
    * Boilerplate is not a leak: an eval n-gram found in more than ``max_ngram_rows`` training rows (default 10;
      a number below 1 is a share of the training rows; null: none) is boilerplate, counted from the same hashed
      hits (no second pass); it counts nowhere, and neither does any n-gram of the eval text that overlaps a
      boilerplate run of that text, so boilerplate reads as if it were absent (a 13-gram straddling a shared tool
      description and a task's first words is no evidence of a leak). Measured with the shipped item: GSM8K
      train/test, LIMA vs GSM8K test and GPTeacher codegen vs toolformer flag the same eval rows at every limit
      from 3 to 100 (3, 0 and 1 of 1,319, 1,319 and 7,673); a random half of GPTeacher toolformer against the
      other half flags 3,837 of 3,837 eval rows without it (shared tool descriptions, in up to 1,005 training
      rows), 262 with it (near-identical answers, 12 exact copies: real duplicates); a half of GPTeacher codegen
      against the other, 349 and 304 (recursive factorials, HelloWorld servers discounted; the rest near-identical
      tasks). The price: a leak quoted in more than ``max_ngram_rows`` training rows reads as boilerplate (exact
      copies of the prompt are found regardless, and the summary lists the most common boilerplate).
    * Between two prompt fields (``instruction``, ``input``) a pair counts when one training text holds at least
      ``min_prompt_containment`` of the eval text's counted n-grams (default 0: one shared 13-gram, a 13-word quote
      of a test question, is the classic leak; 0.2 would drop GSM8K's one partial-sentence pair, and any quote).
    * A pair with an answer field on either side counts when one training text holds at least ``min_containment``
      of the eval text's distinct n-grams (default 0.5; 0 counts any shared n-gram). Answers are formulaic: in GSM8K
      the answers that share a 13-gram with a test answer share at most 15 % of it ("First find the total number
      of ..."); in the bundled sample, assembled from template sentences, the eval answers that share a 13-gram with
      a training answer share at most 43 % with any one, but for the five exact copies (100 %) and one answer that
      repeats three of its five sentences (59 %, flagged). A copied answer shares 100 %. Counted n-grams only: a
      copy must hold half of the eval answer's own (non-boilerplate) 13-grams.

    Each example names the overlapping fields as ``eval field->train field`` (``"fields": "output->output"``: the
    eval row's answer reappears in the training row's answer; ``input->output``: its input in a training answer);
    each example also gives its lead pair's numbers (``pair``; ``shared_ngrams``; ``eval_ngrams``, the eval text's
    counted 13-grams; ``containment``, their share shared; ``boilerplate_ngrams`` and ``boilerplate``, the
    boilerplate 13-grams the pair shares and the runs they cover, masked). The summary counts training rows per
    field pair (``by_fields``) and says what was discounted (``boilerplate``). The metric ``contaminated_rate`` is the share of
    eval rows that overlap training data; training rows that overlap are flagged, with score = the share of their
    text's n-grams found in the eval row they overlap most (1 for exact copies). Not evaluated without an eval set
    (``--eval``). The n-grams are hashed vectorised (the lookup :func:`overlap` uses); the result equals the
    plain-Python pass :func:`overlap_plain`.

    In batches (:mod:`playbook_lib.checks.batch`): :meth:`prepare` indexes the eval set once (its prompts' normal
    forms, its texts' n-gram hashes); each batch then stores its exact copies (row, eval row) and, for its texts
    with a hit, each text's distinct hits among the eval n-grams and its distinct n-gram count: a few integers per
    matching row, nothing for the others. Document frequencies, the shared count of every pair and each row's lead
    pair are computed in the store; no row is read again but the few shown as examples.
    """

    name = "contamination"
    metric = "contaminated_rate"
    tables = ("copies", "hits", "docs")
    #: What :meth:`prepare` made of the eval set (None: no eval set); unset until it runs.
    _eval: _PreparedEval | None

    def __init__(
        self,
        ngram: int = 13,
        fields: list[str] | None = None,
        exact_fields: list[str] | None = None,
        min_containment: float = 0.5,
        min_prompt_containment: float = 0.0,
        max_ngram_rows: float | None = DEFAULT_MAX_NGRAM_ROWS,
        warn: float | None = 0.0,
        fail: float | None = 0.01,
    ) -> None:
        super().__init__(warn, fail)
        self.require(
            isinstance(ngram, int) and not isinstance(ngram, bool) and ngram >= 1,
            f"ngram must be an integer of at least 1, got {str(ngram)[:40]}",
        )
        for option, value in (("min_containment", min_containment), ("min_prompt_containment", min_prompt_containment)):
            self.require(
                isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0,
                f"{option} must be a number in [0, 1], got {str(value)[:40]}",
            )
        self.require(
            max_ngram_rows is None
            or (isinstance(max_ngram_rows, int) and not isinstance(max_ngram_rows, bool) and max_ngram_rows >= 1)
            or (isinstance(max_ngram_rows, float) and 0.0 < max_ngram_rows < 1.0),
            "max_ngram_rows must be a count of training rows (an integer of at least 1), a share of them (a number "
            f"between 0 and 1) or null (no n-gram is boilerplate), got {str(max_ngram_rows)[:40]}",
        )
        self.ngram = ngram
        self.min_containment = float(min_containment)
        self.min_prompt_containment = float(min_prompt_containment)
        self.max_ngram_rows = max_ngram_rows
        for option, names in (("fields", fields), ("exact_fields", exact_fields)):
            self.require(names is None or isinstance(names, (list, tuple)), f"{option} must be a list of field names")
            unknown = [f for f in names or () if f not in COMPARABLE_FIELDS]
            self.require(
                not unknown,
                f"{option}: unknown field {str(unknown[:1])[1:-1][:60]}; valid: {', '.join(COMPARABLE_FIELDS)}",
            )
            self.require(len(set(names or ())) == len(names or ()), f"{option} lists a field twice")
        self.fields = tuple(fields or DEFAULT_FIELDS)
        prompt = tuple(f for f in self.fields if f in PROMPT_FIELDS)
        self.exact_fields = tuple(exact_fields or prompt or self.fields)

    def row_limit(self, n: int) -> float | None:
        """The document frequency above which an n-gram is boilerplate, for ``n`` training rows: ``max_ngram_rows``
        as a count, or its share of ``n`` (never below 1: an n-gram of one training row always counts)."""
        if self.max_ngram_rows is None:
            return None
        if isinstance(self.max_ngram_rows, int):
            return float(self.max_ngram_rows)
        return max(self.max_ngram_rows * n, 1.0)

    def prepare(self, context: CheckContext) -> None:
        """Index the eval set for the per-batch step: its prompts (``exact_fields`` joined) by normal form, and
        the n-grams of every (eval field, row) text (:class:`_EvalGrams`). Nothing without an eval set."""
        self._eval = None if context.eval is None else _PreparedEval.of(context.eval, self)

    def _prepared(self) -> _PreparedEval | None:
        if "_eval" not in self.__dict__:
            raise RuntimeError(f"{self.name}: prepare(context) must run before batch() and finish()")
        return self._eval

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """The batch's exact copies of an eval prompt (``copies``: row, eval row, which exact fields hold text, as
        bits), and for every other row with a shared n-gram its distinct hits among the eval n-grams (``hits``:
        row, field, number of the n-gram) and its text's distinct n-gram count (``docs``: row, field, ngrams).
        Fields are numbered by their place in ``exact_fields`` (copies) and ``fields`` (hits, docs)."""
        prepared = self._prepared()
        empty = {"copies": _COPIES.empty_table(), "hits": _HITS.empty_table(), "docs": _DOCS.empty_table()}
        if prepared is None or not len(records):
            return empty
        size = len(records)
        numbers = row_numbers(records)
        columns = {f: t for f in self.exact_fields if (t := field_texts(records, f)) is not None}
        prompts = _joined([columns[f] for f in self.exact_fields if f in columns], size)
        copied, of = prepared.prompts.copies(prompts)
        texted = np.zeros(copied.size, np.int64)
        for bit, f in enumerate(self.exact_fields):
            values = columns.get(f)
            if values:
                texted |= np.array([bool(values[i]) for i in copied.tolist()], dtype=np.int64) << bit
        out = dict(empty)
        out["copies"] = pa.table({"row": numbers[copied], "erow": of, "texted": texted}, schema=_COPIES)
        if not prepared.index.entry_gram.size:
            return out
        blank = set(copied.tolist())  # an exact copy counts as empty here
        texts: list[str] = []
        for f in self.fields:
            column = field_texts(records, f) or [""] * size
            texts.extend(("" if i in blank else t for i, t in enumerate(column)) if blank else column)
        use_native(text_chars(texts))  # loads the compiled loops for a big batch; the chunks then use them
        found = list(prepared.index.hits(texts))
        if found:
            ids, distinct, text, gram = (np.concatenate(parts) for parts in zip(*found))
            out["docs"] = pa.table({"row": numbers[ids % size], "field": ids // size, "ngrams": distinct}, schema=_DOCS)
            out["hits"] = pa.table({"row": numbers[text % size], "field": text // size, "gram": gram}, schema=_HITS)
        return out

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        """From the stored features alone: the exact copies, each eval n-gram's training rows (boilerplate), the
        hits joined with the eval texts' counted n-grams (the shared count of every pair) and each row's lead
        pair, in the store; only the rows shown as examples are read back."""
        n = rows.rows
        if context.eval is None:
            return self.not_evaluated(n, "no eval set given (--eval)")
        prepared = self._prepared()
        if prepared is None or prepared.rows != len(context.eval):
            raise RuntimeError(f"{self.name}: prepared with another eval set than finish is given")
        m, eval_f, eval_p = prepared.rows, prepared.fields, prepared.prompts.texts
        e_names, e_docs, index = prepared.names, prepared.docs, prepared.index
        for name, schema in (("copies", _COPIES), ("hits", _HITS), ("docs", _DOCS)):
            if not store.has(self.table(name)):  # no batch at all (no rows)
                store.append(self.table(name), schema.empty_table())
        copies = self._copies(store)
        hits, docs = self.table("hits"), self.table("docs")
        limit = self.row_limit(n)
        boiler_ids = np.zeros(0, np.int64)
        boiler_rows = np.zeros(0, np.int64)
        if limit is not None:  # document frequency: distinct training rows per eval n-gram hit
            frequent = store.query(
                f'SELECT gram, count(DISTINCT row) AS rows FROM "{hits}" GROUP BY gram '
                "HAVING count(DISTINCT row) > ? ORDER BY gram",
                [limit],
            )
            boiler_ids, boiler_rows = frequent["gram"].astype(np.int64), frequent["rows"].astype(np.int64)
        boilerplate = dict(zip(index.unique[boiler_ids].tolist(), boiler_rows.tolist()))
        first_text = dict(zip(index.unique[boiler_ids].tolist(), index.entry_text[index.start[boiler_ids]].tolist()))
        clean = index.clean(index.unique[boiler_ids])
        e_boiler = np.bincount(index.entry_text[~clean], minlength=len(e_docs)).astype(np.int64)
        e_counted = index.distinct - e_boiler
        lead, hit_eval = self._lead_pairs(store, hits, docs, index, clean, boiler_ids, e_counted, e_names, m)
        flags, scores = np.zeros(n, bool), np.zeros(n)
        flags[copies.rows], scores[copies.rows] = True, 1.0
        flags[lead["row"]] = True
        scores[lead["row"]] = lead["shared"] / np.maximum(lead["own"], 1)
        contained = lead["shared"] / np.maximum(lead["counted"], 1)
        lead_of = {int(i): k for k, i in enumerate(lead["row"].tolist())}
        exact_of = dict(zip(copies.rows.tolist(), copies.eval.tolist()))
        # training rows per field pair (eval field -> train field); exact copies pair each non-empty prompt field
        # with itself
        by_fields: dict[str, int] = {}
        for f, texted in copies.texted.items():
            if texted.any():
                by_fields[f"{f}->{f}"] = int(texted.sum())
        width = len(self.fields)
        combos = lead["combos"]
        for bit in range(len(e_names) * width):
            holders = int(((combos >> np.int64(bit)) & 1).sum()) if combos.size else 0
            if holders:
                key = f"{e_names[bit // width]}->{self.fields[bit % width]}"
                by_fields[key] = by_fields.get(key, 0) + holders
        eval_lines = context.eval["line"].to_numpy()
        shown = np.flatnonzero(flags)[: self.max_examples]
        taken = rows.take(shown)
        taken_prompts = _joined([t for f in self.exact_fields if (t := field_texts(taken, f)) is not None], len(taken))
        examples = []
        for at, (i, line) in enumerate(zip(shown.tolist(), taken["line"].tolist())):
            if i in exact_of:
                j, reason, text = exact_of[i], "exact copy", taken_prompts[at]
                keys = {f"{f}->{f}" for f, texted in copies.texted.items() if texted[copies.at(i)]}
                total = len(ngrams(eval_p[j], self.ngram))
                numbers: dict[str, Any] = {"shared_ngrams": total, "eval_ngrams": total, "containment": 1.0}
                numbers |= {"boilerplate_ngrams": 0, "boilerplate": []}
            else:
                k = lead_of[i]
                j, tf, ef = int(lead["erow"][k]), int(lead["tf"][k]), int(lead["ef"][k])
                reason = f"{int(lead['shared'][k])} shared {self.ngram}-grams"
                text = (field_texts(taken, self.fields[tf]) or [""] * len(taken))[at]
                keys = {
                    f"{e_names[b // width]}->{self.fields[b % width]}"
                    for b in range(len(e_names) * width)
                    if (int(combos[k]) >> b) & 1
                }
                numbers = {
                    "pair": f"{e_names[ef]}->{self.fields[tf]}",
                    "shared_ngrams": int(lead["shared"][k]),
                    "eval_ngrams": int(lead["counted"][k]),
                    "containment": round(float(contained[k]), 4),
                    **_boilerplate_shared(eval_f[e_names[ef]][j], text, self.ngram, boilerplate),
                }
            examples.append(
                {
                    "line": int(line),
                    "eval_line": int(eval_lines[j]),
                    "reason": reason,
                    "fields": ", ".join(key for key in by_fields if key in keys),
                    **numbers,
                    "text": snippet(text),
                }
            )
        # every flagged row, for --flags: the eval row it overlaps and the pair's numbers (no text)
        details: dict[int, dict[str, Any]] = {}
        for i in np.flatnonzero(flags).tolist():
            if i in exact_of:
                j = exact_of[i]
                details[i] = {"reason": f"exact copy of eval row {j}", "eval_row": j, "containment": 1.0}
            else:
                k = lead_of[i]
                j = int(lead["erow"][k])
                details[i] = {
                    "reason": f"{int(lead['shared'][k])} shared {self.ngram}-grams with eval row {j}",
                    "eval_row": j,
                    "pair": f"{e_names[int(lead['ef'][k])]}->{self.fields[int(lead['tf'][k])]}",
                    "shared_ngrams": int(lead["shared"][k]),
                    "eval_ngrams": int(lead["counted"][k]),
                    "containment": round(float(contained[k]), 4),
                }
        exact = int(copies.rows.size)
        flagged = int(flags.sum())
        hit_rows = len(set(copies.eval.tolist()) | set(hit_eval.tolist()))
        eval_with_boiler = np.zeros(m, bool)
        eval_with_boiler[np.flatnonzero(e_boiler) % max(m, 1)] = True
        common = sorted(boilerplate.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        summary = {
            "train_rows": n,
            "eval_rows": m,
            "train_rows_flagged": flagged,
            "exact_copies": exact,
            "eval_rows_contaminated": hit_rows,
            "contaminated_rate": hit_rows / m if m else 0.0,
            "fields": list(self.fields),
            "by_fields": by_fields,
            "boilerplate": {
                "max_ngram_rows": limit,
                "ngrams": len(boilerplate),
                "eval_rows_with_boilerplate": int(eval_with_boiler.sum()),
                "most_common": [
                    {"text": _gram_text(e_docs[first_text[h]], h, self.ngram), "train_rows": rows_}
                    for h, rows_ in common
                ],
            },
        }
        detail = f"{hit_rows} of {m} eval rows overlap {flagged} train rows ({exact} exact)"
        if by_fields:
            detail += "; fields " + ", ".join(f"{key} {count}" for key, count in by_fields.items())
        if boilerplate:
            detail += (
                f"; {len(boilerplate)} boilerplate {self.ngram}-grams (in over {limit:g} training rows) "
                f"not counted, held by {int(eval_with_boiler.sum())} eval rows"
            )
        return self.result(flags, scores, summary, examples, detail, details=details)

    def _scratch(self, store: FeatureStore, name: str) -> str:
        """A new table name for what :meth:`finish` stores (a second finish on one store gets its own tables)."""
        k = 0
        while store.has(self.table(f"{name}_{k}")):
            k += 1
        return self.table(f"{name}_{k}")

    def _copies(self, store: FeatureStore) -> _Copies:
        """The exact copies the batches stored, by row."""
        found = store.query(f'SELECT row, erow, texted FROM "{self.table("copies")}" ORDER BY row')
        texted = np.asarray(found["texted"], np.int64)
        return _Copies(
            np.asarray(found["row"], np.int64),
            np.asarray(found["erow"], np.int64),
            {f: ((texted >> bit) & 1).astype(bool) for bit, f in enumerate(self.exact_fields)},
        )

    def _lead_pairs(
        self,
        store: FeatureStore,
        hits: str,
        docs: str,
        index: _EvalGrams,
        clean: np.ndarray,
        boiler_ids: np.ndarray,
        e_counted: np.ndarray,
        e_names: list[str],
        m: int,
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per training row with a pair that counts, its lead pair (the most shared n-grams, then the first eval
        row, train field, eval field) and the field pairs it has (``combos``, bit ``ef * len(fields) + tf``); and
        the eval rows of every pair that counts.

        A pair (training text, eval text) shares the distinct hit n-grams of the text that count for the eval
        text (its clean entries); it counts when that is ``min_prompt_containment`` (two prompt fields) or
        ``min_containment`` of the eval text's counted n-grams. The lead's ``own`` is its training text's distinct
        n-grams less the boilerplate ones it hit."""
        entries, boiler = self._scratch(store, "eval_entries"), self._scratch(store, "boilerplate")
        entry_id = index.entry_id
        counts = clean & ~np.isin(entry_id, boiler_ids)
        texts = index.entry_text[counts]
        store.append(
            entries,
            pa.table(
                {
                    "gram": entry_id[counts],
                    "ef": texts // max(m, 1),
                    "erow": texts % max(m, 1),
                    "counted": e_counted[texts],
                },
                schema=_ENTRIES,
            ),
        )
        store.append(boiler, pa.table({"gram": boiler_ids}, schema=_GRAMS))
        prompt_t = [k for k, f in enumerate(self.fields) if f in PROMPT_FIELDS] or [-1]
        prompt_e = [k for k, f in enumerate(e_names) if f in PROMPT_FIELDS] or [-1]
        kept = (
            "WITH pairs AS ("
            f" SELECT h.row, h.field AS tf, e.ef, e.erow, count(*) AS shared, any_value(e.counted) AS counted"
            f' FROM "{hits}" h JOIN "{entries}" e ON h.gram = e.gram GROUP BY h.row, h.field, e.ef, e.erow'
            "), kept AS (SELECT * FROM pairs WHERE CAST(shared AS DOUBLE) / CAST(greatest(counted, 1) AS DOUBLE) >= "
            f"CASE WHEN tf IN ({', '.join(map(str, prompt_t))}) AND ef IN ({', '.join(map(str, prompt_e))}) "
            "THEN ? ELSE ? END)"
        )
        thresholds = [self.min_prompt_containment, self.min_containment]
        lead = store.query(
            kept + ", ranked AS (SELECT *, row_number() OVER (PARTITION BY row ORDER BY shared DESC, erow, tf, ef) "
            f"AS rank, bit_or(CAST(1 AS BIGINT) << (ef * {len(self.fields)} + tf)) OVER (PARTITION BY row) AS combos"
            " FROM kept) "
            "SELECT r.row, r.tf, r.ef, r.erow, r.shared, r.counted, r.combos, d.ngrams - coalesce(b.lose, 0) AS own"
            f' FROM ranked r JOIN "{docs}" d ON d.row = r.row AND d.field = r.tf'
            f' LEFT JOIN (SELECT row, field, count(*) AS lose FROM "{hits}"'
            f' WHERE gram IN (SELECT gram FROM "{boiler}") GROUP BY row, field) b'
            " ON b.row = r.row AND b.field = r.tf WHERE r.rank = 1 ORDER BY r.row",
            thresholds,
        )
        hit_eval = store.query(kept + " SELECT DISTINCT erow FROM kept ORDER BY erow", thresholds)["erow"]
        out = {name: np.asarray(values, np.int64) for name, values in lead.items()}
        return out, np.asarray(hit_eval, np.int64)


@dataclass
class _Copies:
    """The exact copies: the training ``rows`` (ascending), the ``eval`` row each copies, and per exact field
    whether each copy holds text in it (``texted``)."""

    rows: np.ndarray
    eval: np.ndarray
    texted: dict[str, np.ndarray]

    def at(self, row: int) -> int:
        """The position of training row ``row`` in :attr:`rows`."""
        return int(np.searchsorted(self.rows, row))


@dataclass
class _PreparedEval:
    """What the per-batch step needs of the eval set (:meth:`ContaminationCheck.prepare`): its number of ``rows``,
    the ``fields`` compared that hold text there, its ``prompts`` indexed for exact copies, and the texts of its
    fields among the check's ``fields`` (``names``, ``docs``: field by field, row by row) indexed by n-gram."""

    rows: int
    fields: dict[str, list[str]]
    prompts: _EvalPrompts
    names: list[str]
    docs: list[str]
    index: _EvalGrams

    @classmethod
    def of(cls, evals: pd.DataFrame, check: ContaminationCheck) -> _PreparedEval:
        """The eval frame ``evals`` prepared for ``check``'s options."""
        m = len(evals)
        names = tuple(dict.fromkeys(check.fields + check.exact_fields))
        fields = {f: t for f in names if (t := field_texts(evals, f)) is not None}
        prompts = _EvalPrompts(_joined([fields[f] for f in check.exact_fields if f in fields], m))
        # shared n-grams of every (train field, row) text with every (eval field, row) text. Train fields are
        # numbered by their place in ``fields`` (a field without text anywhere has no n-gram, so no pair), eval
        # fields among those that hold text.
        e_names = [f for f in check.fields if f in fields]
        docs = [t for f in e_names for t in fields[f]]
        return cls(m, fields, prompts, e_names, docs, _EvalGrams(docs, check.ngram))


_COPIES = pa.schema([("row", pa.int64()), ("erow", pa.int64()), ("texted", pa.int64())])
_HITS = pa.schema([("row", pa.int64()), ("field", pa.int16()), ("gram", pa.int32())])
_DOCS = pa.schema([("row", pa.int64()), ("field", pa.int16()), ("ngrams", pa.int64())])
_ENTRIES = pa.schema([("gram", pa.int32()), ("ef", pa.int16()), ("erow", pa.int64()), ("counted", pa.int64())])
_GRAMS = pa.schema([("gram", pa.int32())])


def _positions(text: str, n: int) -> tuple[list[str], np.ndarray]:
    """The words of ``text`` (as :func:`ngrams` reads them) and the hash of the n-gram starting at each position."""
    words = _WORD.findall(text.casefold())
    return words, ngram_hashes([text], n)[1]


def _spans(starts: list[int], n: int) -> list[tuple[int, int]]:
    """Word ranges covered by n-grams starting at ``starts`` (ascending), overlapping ones merged."""
    out: list[tuple[int, int]] = []
    for s in starts:
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], s + n)
        else:
            out.append((s, s + n))
    return out


def _boilerplate_shared(e_text: str, t_text: str, n: int, boilerplate: dict[Any, int]) -> dict[str, Any]:
    """The boilerplate n-grams an eval text and a training text share: how many (distinct), and the word runs they
    cover in the eval text as masked snippets (at most three)."""
    if not boilerplate:
        return {"boilerplate_ngrams": 0, "boilerplate": []}
    words, hashes = _positions(e_text, n)
    theirs = set(ngram_hashes([t_text], n)[1].tolist())
    starts = [k for k, h in enumerate(hashes.tolist()) if h in boilerplate and h in theirs]
    distinct = len({int(hashes[k]) for k in starts})
    runs = [snippet(" ".join(words[a:b])) for a, b in _spans(starts, n)[:3]]
    return {"boilerplate_ngrams": distinct, "boilerplate": runs}


def _gram_text(text: str, gram: int, n: int) -> str:
    """The n-gram of ``text`` whose hash is ``gram``, as a masked snippet."""
    words, hashes = _positions(text, n)
    k = int(np.flatnonzero(hashes == np.uint64(gram))[0])
    return snippet(" ".join(words[k : k + n]))
