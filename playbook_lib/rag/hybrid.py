"""Hybrid retrieval: fuse a dense and a keyword ranking, by reciprocal rank or by weighted normalised scores.

Taught in the book's *Core components* page of the Model–Data Operations chapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from playbook_lib.errors import UsageError
from playbook_lib.rag.corpus import Document
from playbook_lib.rag.retrieve import Hit, Retriever

FusionMethod = Literal["rrf", "weighted"]


def _ranked(fused: dict[str, float], docs: dict[str, Document]) -> list[Hit]:
    """Hits ordered by fused score, ties broken by document id."""
    order = sorted(fused, key=lambda d: (-fused[d], d))
    return [Hit(rank=r + 1, score=fused[d], document=docs[d]) for r, d in enumerate(order)]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hit]], k: int = 60) -> list[Hit]:
    """Reciprocal rank fusion (Cormack et al., 2009): score(d) = Σ 1 / (k + rank of d in each list).

    Ranks only, no scores: robust when the lists' scores live on different scales. Ties break by document id.
    """
    fused: dict[str, float] = {}
    docs: dict[str, Document] = {}
    for ranking in rankings:
        for hit in ranking:
            fused[hit.doc_id] = fused.get(hit.doc_id, 0.0) + 1.0 / (k + hit.rank)
            docs[hit.doc_id] = hit.document
    return _ranked(fused, docs)


def weighted_fusion(rankings: Sequence[Sequence[Hit]], weights: Sequence[float]) -> list[Hit]:
    """Weighted sum of min-max normalised scores; a document missing from a list gets 0 from it."""
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    fused: dict[str, float] = {}
    docs: dict[str, Document] = {}
    for ranking, weight in zip(rankings, weights):
        if not ranking:
            continue
        scores = [h.score for h in ranking]
        lo, hi = min(scores), max(scores)
        for hit in ranking:
            norm = (hit.score - lo) / (hi - lo) if hi > lo else 1.0
            fused[hit.doc_id] = fused.get(hit.doc_id, 0.0) + weight * norm
            docs[hit.doc_id] = hit.document
    return _ranked(fused, docs)


class HybridRetriever:
    """Retrieve ``depth`` candidates from each retriever and fuse them.

    Args:
        retrievers: e.g. ``[DenseRetriever, BM25Retriever]``, all over the same documents.
        method: ``"rrf"`` (reciprocal rank fusion) or ``"weighted"`` (normalised score sum).
        weights: per-retriever weights for ``"weighted"``; equal by default.
        depth: candidates taken from each retriever before fusion.
        rrf_k: the RRF smoothing constant.
    """

    def __init__(
        self,
        retrievers: Sequence[Retriever],
        method: FusionMethod = "rrf",
        weights: Sequence[float] | None = None,
        depth: int = 100,
        rrf_k: int = 60,
    ) -> None:
        if method not in ("rrf", "weighted"):
            raise ValueError(f"unknown fusion method {method!r}; use 'rrf' or 'weighted'")
        self.retrievers = list(retrievers)
        self.method = method
        self.weights = list(weights) if weights is not None else [1.0] * len(self.retrievers)
        self.depth = depth
        self.rrf_k = rrf_k

    def _fuse(self, rankings: list[list[Hit]], k: int) -> list[Hit]:
        if self.method == "rrf":
            return reciprocal_rank_fusion(rankings, self.rrf_k)[:k]
        return weighted_fusion(rankings, self.weights)[:k]

    def retrieve(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best documents after fusion."""
        return self._fuse([r.retrieve(query, max(k, self.depth)) for r in self.retrievers], k)

    def retrieve_many(self, queries: Sequence[str], k: int = 5) -> list[list[Hit]]:
        """Batched :meth:`retrieve`, using each retriever's own batching."""
        per_retriever = [
            r.retrieve_many(queries, max(k, self.depth))
            if hasattr(r, "retrieve_many")
            else [r.retrieve(q, max(k, self.depth)) for q in queries]
            for r in self.retrievers
        ]
        return [self._fuse([lists[i] for lists in per_retriever], k) for i in range(len(queries))]

    def retrieve_within(self, query: str, k: int, allowed: Sequence[str]) -> list[Hit]:
        """Pre-filtered :meth:`retrieve`: every fused retriever searches only the ``allowed`` ids."""
        for r in self.retrievers:
            if not hasattr(r, "retrieve_within"):
                raise UsageError(f"{type(r).__name__} cannot search a subset; filter after search instead")
        return self._fuse(
            [
                r.retrieve_within(query, max(k, self.depth), allowed)  # type: ignore[attr-defined]
                for r in self.retrievers
            ],
            k,
        )
