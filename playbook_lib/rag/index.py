"""Vector indexes: exact inner-product search over FAISS, with string ids.

Taught in the book's *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``). Exact search comes first; the
approximate indexes of the *Design principles* page are measured against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SearchResult:
    """Results of a batch of queries: ``ids[i]`` and ``scores[i]`` are query ``i``'s hits, best first."""

    ids: list[list[str]]
    scores: np.ndarray


class FlatIndex:
    """Exact (brute-force) inner-product index on FAISS ``IndexFlatIP``.

    With normalised vectors the inner product is the cosine similarity. Ids are arbitrary strings.
    """

    def __init__(self, dim: int) -> None:
        import faiss

        self.dim = dim
        self._index = faiss.IndexFlatIP(dim)
        self._ids: list[str] = []

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        """Ids in insertion order."""
        return list(self._ids)

    def vectors(self) -> np.ndarray:
        """All stored vectors, in insertion order (a copy), for teaching and inspection."""
        if not self._ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._index.reconstruct_n(0, len(self._ids))

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add ``vectors`` (shape ``(len(ids), dim)``) under ``ids``."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        if len(ids) != vectors.shape[0]:
            raise ValueError(f"{len(ids)} ids for {vectors.shape[0]} vectors")
        self._index.add(vectors)
        self._ids.extend(str(i) for i in ids)

    def search(self, queries: np.ndarray, k: int) -> SearchResult:
        """Return the ``k`` best ids and scores for each query row (fewer when the index is smaller)."""
        if k < 1:
            raise ValueError("k must be at least 1")
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, len(self._ids))
        if k == 0:
            return SearchResult(ids=[[] for _ in range(len(queries))], scores=np.zeros((len(queries), 0), np.float32))
        scores, positions = self._index.search(queries, k)
        ids = [[self._ids[p] for p in row if p >= 0] for row in positions]
        return SearchResult(ids=ids, scores=scores)
