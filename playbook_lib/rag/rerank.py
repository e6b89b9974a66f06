"""Reranking: reorder a retriever's candidates, for diversity (MMR) or with a cross-encoder the user configures.

Taught in the book's *Core components* page of the Model–Data Operations chapter.

- :func:`mmr_order` / :class:`MMRReranker`: maximal marginal relevance (Carbonell & Goldstein, 1998). Each step
  picks the candidate maximising ``λ·relevance − (1−λ)·max similarity to those already picked``; ``λ = 1`` keeps
  the relevance order, lower values trade relevance for diversity. Similarities are cosines of the candidates'
  embeddings (taken from the dense index, so nothing is re-embedded).
- :class:`CrossEncoderReranker`: scores each (query, document) pair jointly with a sentence-transformers
  ``CrossEncoder`` loaded from a local folder (``PLAYBOOK_CROSS_ENCODER`` or an argument); never downloaded.
- :class:`RerankingRetriever`: any retriever plus a reranker: fetch ``depth`` candidates, rerank, keep ``k``.
- :func:`make_reranker`: the name -> reranker registry used by ``playbook rag eval --rerank``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from playbook_lib import settings
from playbook_lib.embeddings.model import Embedder
from playbook_lib.errors import UsageError
from playbook_lib.rag.retrieve import Hit, Retriever

#: Valid names for :func:`make_reranker` (and ``playbook rag eval --rerank``).
RERANKERS = ("none", "mmr", "cross-encoder")

VectorLookup = Callable[[Sequence[str]], np.ndarray]


@runtime_checkable
class Reranker(Protocol):
    """Anything that reorders candidate hits for a query and keeps the best ``k``."""

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]: ...


def _reranked(hits: Sequence[Hit], order: Sequence[int], scores: Sequence[float] | np.ndarray) -> list[Hit]:
    return [Hit(rank=r + 1, score=float(scores[i]), document=hits[i].document) for r, i in enumerate(order)]


def normalise_scores(scores: Sequence[float]) -> np.ndarray:
    """Min-max scale to [0, 1] (all ones when every score is equal)."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return values
    lo, hi = values.min(), values.max()
    return (values - lo) / (hi - lo) if hi > lo else np.ones_like(values)


def mmr_order(relevance: np.ndarray, vectors: np.ndarray, k: int, lambda_: float = 0.5) -> list[int]:
    """Greedy maximal-marginal-relevance selection of ``k`` of the candidates.

    Args:
        relevance: one relevance score per candidate (higher is better), e.g. normalised retrieval scores.
        vectors: the candidates' L2-normalised embeddings, one row each.
        k: how many to select.
        lambda_: 1 = relevance only (the relevance order), 0 = diversity only.

    Returns:
        candidate positions in selection order. Ties go to the earlier candidate.
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must lie in [0, 1], got {lambda_}")
    n = len(relevance)
    if len(vectors) != n:
        raise ValueError(f"{len(vectors)} vectors for {n} candidates")
    similarity = np.asarray(vectors, dtype=np.float64) @ np.asarray(vectors, dtype=np.float64).T
    relevance = np.asarray(relevance, dtype=np.float64)
    chosen: list[int] = []
    available = np.ones(n, dtype=bool)
    redundancy = np.zeros(n)
    for _ in range(min(k, n)):
        score = lambda_ * relevance - (1.0 - lambda_) * redundancy
        score[~available] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        available[best] = False
        redundancy = similarity[best] if len(chosen) == 1 else np.maximum(redundancy, similarity[best])
    return chosen


def diversity(vectors: np.ndarray) -> float:
    """Mean pairwise cosine distance (1 − cosine) of a set of normalised vectors; 0 for fewer than two."""
    n = len(vectors)
    if n < 2:
        return 0.0
    sims = vectors @ vectors.T
    return float(1.0 - (sims.sum() - np.trace(sims)) / (n * (n - 1)))


class MMRReranker:
    """Rerank candidates by maximal marginal relevance.

    Args:
        vectors: returns the embeddings of the given document ids, e.g. ``DenseRetriever.vectors_for`` (no
            re-embedding). Without it, ``embedder`` embeds the candidates' text on every call.
        embedder: used when ``vectors`` is not given, and for ``relevance="query"``.
        lambda_: relevance/diversity trade-off in [0, 1]; 1 keeps the incoming order.
        relevance: ``"score"`` uses the incoming hits' scores (min-max normalised), so MMR keeps whatever the
            first stage knew (BM25, fusion); ``"query"`` uses the cosine of query and candidate embeddings.
    """

    def __init__(
        self,
        vectors: VectorLookup | None = None,
        embedder: Embedder | None = None,
        lambda_: float = 0.5,
        relevance: Literal["score", "query"] = "score",
    ) -> None:
        if vectors is None and embedder is None:
            raise UsageError("MMR needs candidate embeddings: pass vectors= (e.g. a dense retriever's) or embedder=")
        if relevance == "query" and embedder is None:
            raise UsageError("MMR with relevance='query' needs an embedder")
        if relevance not in ("score", "query"):
            raise UsageError(f"unknown MMR relevance {relevance!r}; use 'score' or 'query'")
        if not 0.0 <= lambda_ <= 1.0:
            raise UsageError(f"MMR lambda must lie in [0, 1], got {lambda_}")
        self.vectors = vectors
        self.embedder = embedder
        self.lambda_ = lambda_
        self.relevance = relevance

    def _candidate_vectors(self, hits: Sequence[Hit]) -> np.ndarray:
        if self.vectors is not None:
            return self.vectors([h.doc_id for h in hits])
        assert self.embedder is not None
        return self.embedder.embed_documents([h.document.full_text for h in hits])

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """The ``k`` hits MMR selects, in selection order; each keeps its own relevance as score."""
        if not hits:
            return []
        vectors = self._candidate_vectors(hits)
        if self.relevance == "query":
            assert self.embedder is not None
            relevance = vectors @ self.embedder.embed_query(query)
        else:
            relevance = normalise_scores([h.score for h in hits])
        order = mmr_order(relevance, vectors, k, self.lambda_)
        return _reranked(hits, order, relevance)


class CrossEncoderReranker:
    """Rerank by a cross-encoder's score of each (query, document) pair, read from a local folder.

    Args:
        model_path: a local sentence-transformers ``CrossEncoder`` (or Hugging Face sequence-classification)
            folder; defaults to ``PLAYBOOK_CROSS_ENCODER``. Nothing is downloaded.
        batch_size: pairs per forward pass.
        max_length: truncate each pair to this many tokens (``None``: the model's own limit).
        threads: torch threads while scoring (``None``: ``PLAYBOOK_THREADS`` or torch's default).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        batch_size: int = 32,
        max_length: int | None = None,
        threads: int | None = None,
    ) -> None:
        path = model_path or settings.cross_encoder_path()
        if path is None:
            raise UsageError("no cross-encoder configured: set PLAYBOOK_CROSS_ENCODER to a local model folder")
        self.model_path = Path(path)
        if not self.model_path.is_dir():
            raise UsageError(f"{self.model_path}: cross-encoder folder not found")
        self.batch_size = batch_size
        self.max_length = max_length
        self.threads = threads
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The loaded ``sentence_transformers.CrossEncoder`` (on first use, local files only)."""
        if self._model is None:
            settings.force_offline()
            from sentence_transformers import (
                CrossEncoder,  # lazy: sentence-transformers imports torch; only when a model is loaded
            )

            try:
                with settings.quiet_model_loading():
                    self._model = CrossEncoder(
                        str(self.model_path), device="cpu", local_files_only=True, max_length=self.max_length
                    )
            except (OSError, ValueError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise UsageError(f"{self.model_path}: not a loadable cross-encoder ({first})") from None
        return self._model

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """The model's relevance score of ``query`` against each text (higher is more relevant)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        with settings.using_torch_threads(self.threads):
            scores = self.model.predict(
                [(query, t) for t in texts], batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True
            )
        scores = np.asarray(scores, dtype=np.float32)
        return scores if scores.ndim == 1 else scores[:, -1]  # two-label models: the "relevant" logit

    def rerank(self, query: str, hits: Sequence[Hit], k: int) -> list[Hit]:
        """The ``k`` hits with the highest cross-encoder score; ties keep the incoming order."""
        scores = self.score(query, [h.document.full_text for h in hits])
        order = np.argsort(-scores, kind="stable")[:k]
        return _reranked(hits, [int(i) for i in order], scores)


class RerankingRetriever:
    """A first-stage retriever followed by a reranker.

    Args:
        retriever: produces the candidates (dense, BM25, hybrid, filtered...).
        reranker: reorders them.
        depth: candidates fetched per query before reranking.
    """

    def __init__(self, retriever: Retriever, reranker: Reranker, depth: int = 100) -> None:
        self.retriever = retriever
        self.reranker = reranker
        self.depth = depth

    def retrieve(self, query: str, k: int = 5) -> list[Hit]:
        """Fetch ``max(k, depth)`` candidates, rerank them, return the best ``k``."""
        return self.reranker.rerank(query, self.retriever.retrieve(query, max(k, self.depth)), k)

    def retrieve_many(self, queries: Sequence[str], k: int = 5) -> list[list[Hit]]:
        """Batched :meth:`retrieve` (the first stage batches when it can)."""
        depth = max(k, self.depth)
        many = getattr(self.retriever, "retrieve_many", None)
        candidates = many(queries, depth) if many else [self.retriever.retrieve(q, depth) for q in queries]
        return [self.reranker.rerank(q, c, k) for q, c in zip(queries, candidates)]


def make_reranker(
    name: str,
    *,
    vectors: VectorLookup | None = None,
    embedder: Embedder | None = None,
    lambda_: float = 0.5,
    model_path: str | Path | None = None,
) -> Reranker | None:
    """The reranker called ``name`` (one of :data:`RERANKERS`); ``"none"`` gives ``None``.

    Raises:
        UsageError: for an unknown name (the message lists the valid ones), or a cross-encoder that is not
            configured.
    """
    if name == "none":
        return None
    if name == "mmr":
        return MMRReranker(vectors=vectors, embedder=embedder, lambda_=lambda_)
    if name == "cross-encoder":
        return CrossEncoderReranker(model_path)
    raise UsageError(f"unknown reranker {name!r}; choose one of {', '.join(RERANKERS)}")
