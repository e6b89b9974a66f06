"""Nearest neighbours in embedding space for the checks: inner-product search over L2-normalised vectors (cosine
similarity) with FAISS, exact while it is cheap and by inverted lists beyond, and single-linkage clusters over each
row's nearest neighbours.

Exact search costs ``len(queries) * len(corpus) * dim`` multiply-adds: a million rows each compared with a million
is about 2.6e14, over an hour on two cores. Above :data:`EXACT_PAIRS` query-corpus pairs :func:`nearest` builds a
FAISS ``IndexIVFFlat`` instead (k-means cells trained on a seeded sample of the corpus; each query scans the
``nprobe`` nearest cells) and measures what that costs: the recall of the approximate top-k against exact search on
a seeded sample of :data:`RECALL_QUERIES` queries, returned in :class:`Search` (``bench/embedders.py`` reports it at
1M rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Query-corpus pairs up to which :func:`nearest` searches exactly (about ten seconds of 256-dim products on two
#: cores).
EXACT_PAIRS = 4e9
#: Queries whose approximate neighbours are checked against exact search to report the recall.
RECALL_QUERIES = 200
#: Cells scanned per query by the approximate search.
NPROBE = 16


@dataclass(frozen=True)
class Search:
    """How :func:`nearest` searched: ``exact``, or ``ivf`` with its ``nlist``/``nprobe`` and the measured
    ``recall`` of its top-k against exact search (on ``recall_queries`` seeded queries)."""

    method: str
    nlist: int = 0
    nprobe: int = 0
    recall: float = 1.0
    recall_queries: int = 0

    def describe(self) -> str:
        """The search in words, for a check's summary."""
        if self.method == "exact":
            return "exact"
        return (
            f"approximate (FAISS IVF, {self.nlist} cells, {self.nprobe} probed; recall {self.recall:.3f} of the exact"
            f" neighbours on {self.recall_queries} queries)"
        )


def _flat(corpus: np.ndarray) -> Any:
    import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

    index = faiss.IndexFlatIP(corpus.shape[1])
    index.add(corpus)
    return index


def nearest(
    corpus: np.ndarray, queries: np.ndarray, k: int = 1, *, exact: bool | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar ``corpus`` rows of each query, as ``(similarities, positions)`` arrays of shape
    ``(len(queries), min(k, len(corpus)))``; see :func:`search` for how (and its record of the search)."""
    sims, positions, _ = search(corpus, queries, k, exact=exact, seed=seed)
    return sims, positions


def search(
    corpus: np.ndarray, queries: np.ndarray, k: int = 1, *, exact: bool | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, Search]:
    """Inner-product search: exact (FAISS ``IndexFlatIP``) up to :data:`EXACT_PAIRS` query-corpus pairs or when
    ``exact`` is true, else by inverted lists (``IndexIVFFlat``, about ``4 * sqrt(len(corpus))`` cells, :data:`NPROBE`
    probed) with the recall of its top-k against exact search measured on a seeded sample of queries. A query whose
    probed cells hold fewer than ``k`` rows is searched exactly. Returns ``(similarities, positions, Search)``."""
    corpus = np.ascontiguousarray(corpus, dtype=np.float32)
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    k = min(k, len(corpus))
    if k < 1 or not len(queries):
        return np.zeros((len(queries), 0)), np.zeros((len(queries), 0), np.int64), Search("exact")
    nlist = int(min(4 * math.sqrt(len(corpus)), len(corpus) / 39))
    if exact or (exact is None and len(queries) * len(corpus) <= EXACT_PAIRS) or nlist < 16:
        sims, positions = _flat(corpus).search(queries, k)
        return sims.astype(float), positions.astype(np.int64), Search("exact")
    import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

    rng = np.random.default_rng(seed)
    train = corpus[np.sort(rng.choice(len(corpus), min(len(corpus), 39 * nlist), replace=False))]
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(corpus.shape[1]), corpus.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.train(train)
    index.add(corpus)
    index.nprobe = NPROBE
    sims, positions = index.search(queries, k)
    short = np.flatnonzero((positions < 0).any(axis=1))
    exact_index = _flat(corpus)
    if short.size:
        sims[short], positions[short] = exact_index.search(queries[short], k)
    probe = np.sort(rng.choice(len(queries), min(len(queries), RECALL_QUERIES), replace=False))
    _, truth = exact_index.search(queries[probe], k)
    found = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(positions[probe], truth))
    record = Search("ivf", nlist, NPROBE, found / truth.size, len(probe))
    return sims.astype(float), positions.astype(np.int64), record


def neighbour_clusters(vectors: np.ndarray, threshold: float, k: int = 10) -> list[list[int]]:
    """Group rows whose similarity reaches ``threshold`` (single linkage over each row's ``k`` nearest
    neighbours, so memory stays linear); clusters largest first, members in row order."""
    n = len(vectors)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n > 1:
        sims, positions = nearest(vectors, vectors, min(k + 1, n))
        for i in range(n):
            for sim, j in zip(sims[i], positions[i]):
                if j != i and sim >= threshold:
                    parent[root(int(j))] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))
