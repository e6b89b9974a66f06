"""Uniqueness: exact duplicates after normalisation, and near-duplicates with MinHash LSH reported as clusters.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
uniqueness".
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

from playbook_lib.checks.base import Check, CheckContext, CheckResult, normalise, snippet
from playbook_lib.data import record_text

_WORD = re.compile(r"\w+", re.UNICODE)


def _clusters_to_result(check: Check, records: pd.DataFrame, groups: list[list[int]], texts: list[str],
                        scores: np.ndarray, detail: str) -> CheckResult:
    n = len(records)
    flags = np.zeros(n, bool)
    for group in groups:
        flags[group[1:]] = True  # keep the first row of each cluster
    lines = records["line"].to_numpy()
    clusters = sorted(([int(lines[i]) for i in g] for g in groups), key=lambda g: (-len(g), g))
    removable = int(flags.sum())
    summary = {"rows": n, "clusters": len(groups), "rows_in_clusters": int(sum(len(g) for g in groups)),
               "removable": removable, check.metric: removable / n if n else 0.0,
               "largest_clusters": clusters[:10]}
    examples = [{"lines": c, "reason": f"cluster of {len(c)}", "text": snippet(texts[int(np.flatnonzero(lines == c[0])[0])])}
                for c in clusters[: check.max_examples]]
    return check.result(flags, np.where(flags, scores, 0.0), summary, examples,
                        f"{removable} removable rows in {len(groups)} clusters{detail}")


class ExactDuplicatesCheck(Check):
    """Rows whose instruction, input and output are equal after lower-casing and collapsing whitespace.

    The metric ``duplicate_rate`` is the share of rows that could be removed (every copy but the first).
    """

    name = "exact_duplicates"
    metric = "duplicate_rate"

    def __init__(self, fields: list[str] | None = None, warn: float | None = 0.0, fail: float | None = 0.05) -> None:
        super().__init__(warn, fail)
        self.fields = tuple(fields or ("instruction", "input", "output"))

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        texts = record_text(records, self.fields)
        seen: dict[bytes, list[int]] = {}
        for i, t in enumerate(texts):
            seen.setdefault(hashlib.blake2b(normalise(t).encode(), digest_size=16).digest(), []).append(i)
        groups = [g for g in seen.values() if len(g) > 1]
        return _clusters_to_result(self, records, groups, texts, np.ones(len(records)), "")


def shingles(text: str, n: int) -> set[bytes]:
    """Word ``n``-grams of the normalised text (the whole text when shorter than ``n`` words)."""
    words = _WORD.findall(text.casefold())
    if len(words) < n:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}


class NearDuplicatesCheck(Check):
    """Clusters of rows whose word-``ngram`` sets have estimated Jaccard similarity >= ``threshold``.

    MinHash signatures (``num_perm`` permutations) are bucketed with datasketch's LSH; candidate pairs are kept when
    their estimated Jaccard reaches the threshold and joined into clusters (union-find). The metric
    ``near_duplicate_rate`` is the share of rows that could be removed, keeping one per cluster; a row's score is its
    highest similarity to another row of its cluster. Exact duplicates are near-duplicates too.
    """

    name = "near_duplicates"
    metric = "near_duplicate_rate"

    def __init__(self, threshold: float = 0.8, ngram: int = 3, num_perm: int = 128, seed: int = 1,
                 fields: list[str] | None = None, warn: float | None = 0.01, fail: float | None = 0.1) -> None:
        super().__init__(warn, fail)
        self.require(0.0 < threshold <= 1.0, f"threshold must be in (0, 1], got {threshold}")
        self.require(ngram >= 1, f"ngram must be at least 1, got {ngram}")
        self.require(16 <= num_perm <= 1024, f"num_perm must be in [16, 1024], got {num_perm}")
        self.threshold = threshold
        self.ngram = ngram
        self.num_perm = num_perm
        self.seed = seed
        self.fields = tuple(fields or ("instruction", "input", "output"))

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        from datasketch import MinHash, MinHashLSH

        texts = record_text(records, self.fields)
        n = len(texts)
        sets = [shingles(t, self.ngram) for t in texts]
        hashes = MinHash.bulk(sets, num_perm=self.num_perm, seed=self.seed)
        lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        parent = list(range(n))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        scores = np.zeros(n)
        for i, m in enumerate(hashes):
            if not sets[i]:
                continue
            for j in lsh.query(m):
                sim = m.jaccard(hashes[j])
                if sim >= self.threshold:
                    scores[i] = max(scores[i], sim)
                    scores[j] = max(scores[j], sim)
                    a, b = find(i), find(j)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
            lsh.insert(i, m)
        members: dict[int, list[int]] = {}
        for i in range(n):
            members.setdefault(find(i), []).append(i)
        groups = sorted((g for g in members.values() if len(g) > 1), key=lambda g: g[0])
        return _clusters_to_result(self, records, groups, texts, scores,
                                   f" (Jaccard >= {self.threshold} on word {self.ngram}-grams)")
