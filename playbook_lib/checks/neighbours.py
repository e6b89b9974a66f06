"""Nearest neighbours in embedding space for the checks: exact inner-product search over L2-normalised vectors
(cosine similarity) with :class:`~playbook_lib.rag.index.FlatIndex`, and single-linkage clusters over each row's
nearest neighbours."""

from __future__ import annotations

import numpy as np

from playbook_lib.rag.index import FlatIndex


def nearest(corpus: np.ndarray, queries: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product search (FAISS, :class:`~playbook_lib.rag.index.FlatIndex`): the ``k`` most similar
    ``corpus`` rows of each query, as ``(similarities, positions)`` arrays of shape ``(len(queries), k)``."""
    index = FlatIndex(corpus.shape[1])
    index.add([str(i) for i in range(len(corpus))], corpus)
    found = index.search(queries, k)
    positions = np.array([[int(i) for i in row] for row in found.ids], dtype=np.int64).reshape(len(queries), -1)
    return np.asarray(found.scores, dtype=float)[:, : positions.shape[1]], positions


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
