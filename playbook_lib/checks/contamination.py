"""Contamination: training rows that overlap an eval/test set, exactly or by shared word 13-grams.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Clear
train/validation/test split".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook_lib.checks.base import Check, CheckContext, CheckResult, normalise, snippet
from playbook_lib.checks.hashing import (chunks, concat_ranges, ngram_chunk, ngram_hashes, normal_hashes,
                                         text_chars, unique_sorted, use_native)
from playbook_lib.data import record_text

_WORD = re.compile(r"\w+", re.UNICODE)


def ngrams(text: str, n: int) -> set[str]:
    """Word ``n``-grams of the lower-cased text (empty when it has fewer than ``n`` words)."""
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


@dataclass
class Overlap:
    """Which training rows overlap the eval set, and how.

    ``flags``/``scores`` per training row (score: share of the row's distinct n-grams found in the eval set, 1 for an
    exact copy); ``exact[i]`` the eval row a training row copies (or -1); ``first_eval[i]`` the first eval row it
    shares an n-gram with (or -1); ``shared[i]`` how many distinct n-grams it shares; ``hit_eval`` the eval rows hit.
    """

    flags: np.ndarray
    scores: np.ndarray
    exact: np.ndarray
    first_eval: np.ndarray
    shared: np.ndarray
    hit_eval: set[int]


def overlap_plain(train: list[str], evals: list[str], n: int) -> Overlap:
    """The plain-Python overlap pass: a dict of every eval n-gram (as a string) and a set per training row.

    The reference the vectorised :func:`overlap` is tested against, and the peer it is benchmarked against.
    """
    eval_exact = {normalise(t): i for i, t in enumerate(evals) if t.strip()}
    eval_grams: dict[str, list[int]] = {}
    for i, t in enumerate(evals):
        for g in ngrams(t, n):
            eval_grams.setdefault(g, []).append(i)
    m = len(train)
    out = Overlap(np.zeros(m, bool), np.zeros(m), np.full(m, -1), np.full(m, -1), np.zeros(m, np.int64), set())
    for i, t in enumerate(train):
        j = eval_exact.get(normalise(t))
        if j is not None:
            out.flags[i], out.scores[i], out.exact[i] = True, 1.0, j
            out.hit_eval.add(j)
            continue
        grams = ngrams(t, n)
        shared = [g for g in grams if g in eval_grams]
        if shared:
            rows = {k for g in shared for k in eval_grams[g]}
            out.flags[i], out.scores[i] = True, len(shared) / len(grams)
            out.shared[i], out.first_eval[i] = len(shared), min(rows)
            out.hit_eval.update(rows)
    return out


def overlap(train: list[str], evals: list[str], n: int) -> Overlap:
    """The same result as :func:`overlap_plain`, vectorised: n-grams are 64-bit hashes
    (:func:`~playbook_lib.checks.hashing.ngram_hashes`), membership is a sorted search in the eval set's hashes, and
    only rows with a hit are looked at row by row. Exact copies are found by normal-form hashes and confirmed on the
    normalised strings."""
    m = len(train)
    out = Overlap(np.zeros(m, bool), np.zeros(m), np.full(m, -1), np.full(m, -1), np.zeros(m, np.int64), set())
    # exact copies: the last eval row with the same non-empty normal form, as in the plain version
    eval_norm = normal_hashes(evals)
    blank = np.array([not t.strip() for t in evals], dtype=bool)
    eval_keys = unique_sorted(eval_norm[~blank])
    train_norm = normal_hashes(train)
    maybe = np.flatnonzero(np.isin(train_norm, eval_keys))
    if maybe.size:
        candidates = {int(h) for h in train_norm[maybe].tolist()}
        by_text = {normalise(evals[j]): j for j in np.flatnonzero(np.isin(eval_norm, list(candidates)) & ~blank).tolist()}
        for i in maybe.tolist():
            j = by_text.get(normalise(train[i]))
            if j is not None:
                out.flags[i], out.scores[i], out.exact[i] = True, 1.0, j
                out.hit_eval.add(j)
    # n-gram overlap
    e_offsets, e_grams = ngram_hashes(evals, n)
    e_rows = np.repeat(np.arange(len(evals)), np.diff(e_offsets))
    order = np.argsort(e_grams, kind="stable")
    e_sorted, e_rows = e_grams[order], e_rows[order]
    if not e_sorted.size:
        return out
    # a table of the eval n-grams' top bits (about 8 slots per n-gram): a cheap necessary condition, so the sorted
    # search runs on the few train n-grams that pass it
    bits = int(min(max(16, np.ceil(np.log2(e_sorted.size * 8))), 28))
    shift = np.uint64(64 - bits)
    seen = np.zeros(1 << bits, dtype=bool)
    seen[(e_sorted >> shift).astype(np.int64)] = True
    hit_owners = []
    use_native(text_chars(train))  # loads the compiled loops for a big input; the chunks then use them
    for lo, hi in chunks(train):
        offsets, grams = ngram_chunk(train[lo:hi], n)
        hit = np.zeros(grams.size, dtype=bool)
        maybe = np.flatnonzero(seen[(grams >> shift).astype(np.int64)])
        if maybe.size:
            pos = np.minimum(np.searchsorted(e_sorted, grams[maybe]), e_sorted.size - 1)
            hit[maybe] = e_sorted[pos] == grams[maybe]
        if not hit.any():
            continue
        rows = np.repeat(np.arange(hi - lo), np.diff(offsets))
        exact = out.exact[lo:hi] >= 0
        hit &= ~exact[rows]
        hit_rows = unique_sorted(rows[hit])
        if not hit_rows.size:
            continue
        sel = np.isin(rows, hit_rows)
        r, g, h = rows[sel], grams[sel], hit[sel]
        order_rg = np.lexsort((g, r))
        r, g, h = r[order_rg], g[order_rg], h[order_rg]
        first = np.r_[True, (r[1:] != r[:-1]) | (g[1:] != g[:-1])]
        distinct = np.bincount(r[first], minlength=hi - lo)
        shared = np.bincount(r[first & h], minlength=hi - lo)
        rows_global = lo + hit_rows
        out.flags[rows_global] = True
        out.shared[rows_global] = shared[hit_rows]
        out.scores[rows_global] = shared[hit_rows] / distinct[hit_rows]
        # the eval rows each hit n-gram belongs to
        starts = np.searchsorted(e_sorted, g[first & h], side="left")
        stops = np.searchsorted(e_sorted, g[first & h], side="right")
        owners = e_rows[concat_ranges(starts, stops - starts)]
        owner_train = np.repeat(r[first & h], stops - starts)
        first_eval = np.full(hi - lo, np.iinfo(np.int64).max)
        np.minimum.at(first_eval, owner_train, owners)
        out.first_eval[rows_global] = first_eval[hit_rows]
        hit_owners.append(owners)
    if hit_owners:
        out.hit_eval.update(unique_sorted(np.concatenate(hit_owners)).tolist())
    return out


class ContaminationCheck(Check):
    """Eval rows whose prompt appears in training data, exactly (normalised) or sharing an ``ngram``-word n-gram.

    Compares the prompt fields (``instruction`` and ``input`` by default; set ``fields`` to include ``output``).
    The metric ``contaminated_rate`` is the share of eval rows that overlap training data; training rows that
    overlap are flagged, with score = the share of their n-grams found in the eval set (1 for exact copies).
    Not evaluated without an eval set (``--eval``). The n-grams are hashed vectorised (:func:`overlap`); the result
    equals the plain-Python pass :func:`overlap_plain`.
    """

    name = "contamination"
    metric = "contaminated_rate"

    def __init__(self, ngram: int = 13, fields: list[str] | None = None, warn: float | None = 0.0,
                 fail: float | None = 0.01) -> None:
        super().__init__(warn, fail)
        self.require(ngram >= 1, f"ngram must be at least 1, got {ngram}")
        self.ngram = ngram
        self.fields = tuple(fields or ("instruction", "input"))

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        if context.eval is None:
            return self.not_evaluated(n, "no eval set given (--eval)")
        train = record_text(records, self.fields)
        evals = record_text(context.eval, self.fields)
        found = overlap(train, evals, self.ngram)
        lines = records["line"].to_numpy()
        eval_lines = context.eval["line"].to_numpy()
        examples = []
        for i in np.flatnonzero(found.flags)[: self.max_examples].tolist():
            if found.exact[i] >= 0:
                j, reason = int(found.exact[i]), "exact copy"
            else:
                j, reason = int(found.first_eval[i]), f"{int(found.shared[i])} shared {self.ngram}-grams"
            examples.append({"line": int(lines[i]), "eval_line": int(eval_lines[j]), "reason": reason,
                             "text": snippet(train[i])})
        exact = int((found.exact >= 0).sum())
        flagged = int(found.flags.sum())
        hit = len(found.hit_eval)
        m = len(evals)
        summary = {"train_rows": n, "eval_rows": m, "train_rows_flagged": flagged, "exact_copies": exact,
                   "eval_rows_contaminated": hit, "contaminated_rate": hit / m if m else 0.0}
        return self.result(found.flags, found.scores, summary, examples,
                           f"{hit} of {m} eval rows overlap {flagged} train rows ({exact} exact)")
