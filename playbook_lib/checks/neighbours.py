"""Nearest neighbours in embedding space for the checks: inner-product search over L2-normalised vectors (cosine
similarity) with FAISS, exact while it is cheap and by inverted lists beyond, and single-linkage clusters over each
row's nearest neighbours.

Exact search costs ``len(queries) * len(corpus) * dim`` multiply-adds: a million rows each compared with a million
is about 2.6e14, over an hour on two cores. Above :data:`EXACT_PAIRS` query-corpus pairs :func:`nearest` builds a
FAISS ``IndexIVFFlat`` instead (k-means cells trained on a seeded sample of the corpus; each query scans the
``nprobe`` nearest cells) and measures what that costs: the recall of the approximate top-k against exact search on
a seeded sample of :data:`RECALL_QUERIES` queries, probing more cells until it reaches :data:`TARGET_RECALL` (or
an eighth of the cells), returned in :class:`Search` (``bench/checks.py`` reports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Query-corpus pairs up to which :func:`nearest` searches exactly: about 45 s of 256-dim products on two cores
#: (measured 4.6e8 pairs/s with FAISS' BLAS search, Intel Xeon with AVX-512). Inverted lists scan each pair some 30x
#: slower (1.4e7 pairs/s at 100k rows, 64 cells probed), so they only pay beyond a few million rows compared with
#: themselves: at 100k rows exact search took 22 s where IVF at 0.96 recall took 35 s.
EXACT_PAIRS = 2e10
#: Queries whose approximate neighbours are checked against exact search to report the recall.
RECALL_QUERIES = 200
#: Cells scanned per query by the approximate search at first; doubled while the measured recall is below
#: :data:`TARGET_RECALL`, up to one cell in :data:`MAX_PROBED_SHARE` (where the search would cost about as much as
#: an exact one).
NPROBE = 16
TARGET_RECALL = 0.95
MAX_PROBED_SHARE = 8


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
    probed, doubled until the recall of the top-k against exact search, measured on a seeded sample of queries,
    reaches :data:`TARGET_RECALL` or an eighth of the cells are probed). A query whose
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
    exact_index = _flat(corpus)
    probe = np.sort(rng.choice(len(queries), min(len(queries), RECALL_QUERIES), replace=False))
    _, truth = exact_index.search(queries[probe], k)

    def recall(nprobe: int) -> float:
        index.nprobe = nprobe
        found = index.search(queries[probe], k)[1]
        return sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(found, truth)) / truth.size

    nprobe, measured = NPROBE, recall(NPROBE)
    while measured < TARGET_RECALL and nprobe * 2 <= max(NPROBE, nlist // MAX_PROBED_SHARE):
        nprobe *= 2
        measured = recall(nprobe)
    index.nprobe = nprobe
    sims, positions = index.search(queries, k)
    short = np.flatnonzero((positions < 0).any(axis=1))
    if short.size:
        sims[short], positions[short] = exact_index.search(queries[short], k)
    record = Search("ivf", nlist, nprobe, measured, len(probe))
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
