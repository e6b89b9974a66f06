"""Dense retrieval that reads past the embedding model's window: score a document by its text and its best passage.

all-MiniLM-L6-v2 reads at most 256 tokens; the rest of a longer document never reaches its vector (on SciFact,
71 % of the abstracts are longer). :class:`PassageDenseRetriever` also embeds each document's chunks
(:mod:`playbook_lib.rag.chunk`, each prefixed with the document's title) and scores a document by

``mean``
    the mean of its whole-text cosine and its best chunk's cosine (the default);
``max``
    the larger of the two;
``passages``
    its best chunk's cosine alone ("MaxP", Dai & Callan, 2019).

``bench/rag.py`` measures all three on SciFact and chooses between them on held-out halves of the queries.
Embedding cost: the chunks cover the whole text, so about three times the document-only embedding time on SciFact
(texts that equal their document's text are embedded once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from playbook_lib.embeddings.model import Embedder, MiniLMEmbedder
from playbook_lib.errors import EmptyDataError, UsageError
from playbook_lib.rag.chunk import Chunk, ChunkSpec, chunk_documents
from playbook_lib.rag.corpus import Document
from playbook_lib.rag.retrieve import Hit, embed_queries

Combine = Literal["mean", "max", "passages"]
COMBINES: tuple[str, ...] = ("mean", "max", "passages")

#: The default chunks: whole sentences packed up to 128 tokens (the length MiniLM was trained on).
DEFAULT_SPEC = ChunkSpec("sentence", 128, 16)


def _check_combine(combine: str) -> None:
    if combine not in COMBINES:
        raise UsageError(f"unknown combination {combine!r}; choose one of {', '.join(COMBINES)}")


def chunk_texts(chunks: Sequence[Chunk]) -> list[str]:
    """What is embedded for each chunk: its document's title, then the chunk (as the document is embedded)."""
    return [c.as_document().full_text for c in chunks]


def embed_unique(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Embed ``texts``, each distinct text once (a short document's only chunk equals the document)."""
    unique: dict[str, int] = {}
    slots = np.array([unique.setdefault(t, len(unique)) for t in texts], dtype=np.int64)
    vectors = embedder.embed_documents(list(unique))
    return vectors[slots] if len(texts) else vectors


def _inner(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``queries @ vectors.T`` on torch's thread pool: NumPy's BLAS threads would spin against torch's between
    queries (measured: single-query latency 20 -> 60-80 ms)."""
    import torch  # lazy: torch takes seconds to import; only model code needs it

    with torch.inference_mode():
        return (torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32)) @ torch.from_numpy(vectors).T).numpy()


def combine_scores(
    doc_scores: np.ndarray, chunk_scores: np.ndarray, chunk_doc: np.ndarray, combine: Combine = "mean"
) -> np.ndarray:
    """Per-document scores from whole-text and chunk scores.

    Args:
        doc_scores: ``(queries, documents)`` similarities to the whole texts.
        chunk_scores: ``(queries, chunks)`` similarities to the chunks.
        chunk_doc: for each chunk, the row of its document in ``doc_scores`` (any order).
        combine: ``mean``, ``max`` or ``passages`` (see the module docstring). A document without chunks keeps its
            whole-text score.
    """
    _check_combine(combine)
    best = np.array(doc_scores, dtype=np.float32, copy=True)  # documents without chunks keep their own score
    if len(chunk_doc):
        if np.all(chunk_doc[1:] >= chunk_doc[:-1]):  # already grouped by document (as the retriever keeps them)
            grouped, ordered = chunk_doc, chunk_scores
        else:
            order = np.argsort(chunk_doc, kind="stable")
            grouped, ordered = chunk_doc[order], chunk_scores[:, order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        best[:, grouped[starts]] = np.maximum.reduceat(ordered, starts, axis=1)
    if combine == "passages":
        return best
    if combine == "max":
        return np.maximum(best, doc_scores)
    return (best + doc_scores) / 2


class PassageDenseRetriever:
    """Exact dense search over whole texts and their chunks, one score per document.

    Args:
        embedder: defaults to :class:`~playbook_lib.embeddings.model.MiniLMEmbedder`; it must expose ``count_tokens``
            when the retriever chunks the documents itself.
        spec: how documents are chunked (defaults to :data:`DEFAULT_SPEC`).
        combine: how a document's two scores become one (``mean``, ``max`` or ``passages``).
    """

    def __init__(
        self, embedder: Embedder | None = None, spec: ChunkSpec = DEFAULT_SPEC, combine: Combine = "mean"
    ) -> None:
        _check_combine(combine)
        self.embedder: Embedder = embedder if embedder is not None else MiniLMEmbedder()
        self.spec = spec
        self.combine: Combine = combine
        self.documents: list[Document] = []
        self.doc_vectors = np.zeros((0, 0), dtype=np.float32)
        self.chunk_vectors = np.zeros((0, 0), dtype=np.float32)
        self.chunk_doc = np.zeros(0, dtype=np.int64)
        self.chunks: list[Chunk] = []
        self._row: dict[str, int] = {}

    @classmethod
    def from_documents(
        cls,
        documents: Sequence[Document],
        embedder: Embedder | None = None,
        spec: ChunkSpec = DEFAULT_SPEC,
        combine: Combine = "mean",
    ) -> PassageDenseRetriever:
        """Chunk and embed ``documents`` (whole texts and chunks)."""
        _check_combine(combine)  # before minutes of embedding
        embedder = embedder if embedder is not None else MiniLMEmbedder()
        counter = getattr(embedder, "count_tokens", None)
        if counter is None:
            raise UsageError(f"{type(embedder).__name__} cannot count tokens, so it cannot size chunks")
        chunks = chunk_documents(documents, counter, spec)
        vectors = embed_unique(embedder, [d.full_text for d in documents] + chunk_texts(chunks))
        return cls.from_vectors(
            documents, vectors[: len(documents)], chunks, vectors[len(documents) :], embedder, spec, combine
        )

    @classmethod
    def from_vectors(
        cls,
        documents: Sequence[Document],
        doc_vectors: np.ndarray,
        chunks: Sequence[Chunk],
        chunk_vectors: np.ndarray,
        embedder: Embedder,
        spec: ChunkSpec = DEFAULT_SPEC,
        combine: Combine = "mean",
    ) -> PassageDenseRetriever:
        """Build from vectors embedded earlier; row ``i`` of each array belongs to ``documents[i]`` / ``chunks[i]``."""
        if len(doc_vectors) != len(documents) or len(chunk_vectors) != len(chunks):
            raise ValueError(
                f"{len(doc_vectors)} vectors for {len(documents)} documents, "
                f"{len(chunk_vectors)} for {len(chunks)} chunks"
            )
        retriever = cls(embedder, spec, combine)
        retriever.documents = list(documents)
        retriever._row = {d.id: i for i, d in enumerate(documents)}
        unknown = sorted({c.doc_id for c in chunks} - set(retriever._row))
        if unknown:
            raise ValueError(f"chunks of documents that are not indexed: {unknown[:5]}")
        retriever.doc_vectors = np.ascontiguousarray(doc_vectors, dtype=np.float32)
        rows = np.array([retriever._row[c.doc_id] for c in chunks], dtype=np.int64)
        order = np.argsort(rows, kind="stable")  # grouped by document once, not at every query
        retriever.chunks = [chunks[i] for i in order]
        retriever.chunk_doc = rows[order]
        retriever.chunk_vectors = np.ascontiguousarray(
            np.asarray(chunk_vectors, dtype=np.float32).reshape(len(chunks), retriever.doc_vectors.shape[1])[order]
        )
        return retriever

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """``(len(queries), documents)`` combined scores."""
        if not self.documents:
            raise EmptyDataError("the retriever holds no documents: add some before retrieving")
        q = embed_queries(self.embedder, queries)
        return combine_scores(_inner(q, self.doc_vectors), _inner(q, self.chunk_vectors), self.chunk_doc, self.combine)

    def _hits(self, scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        rows = np.arange(len(scores)) if allowed is None else allowed
        k = min(k, len(rows))
        if k <= 0:
            return []
        picked = rows[np.argpartition(-scores[rows], k - 1)[:k]] if k < len(rows) else rows
        top = picked[np.lexsort((picked, -scores[picked]))]  # best first, ties by position
        return [Hit(rank=r + 1, score=float(scores[i]), document=self.documents[i]) for r, i in enumerate(top)]

    def retrieve(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` documents with the best combined score, best first."""
        return self.retrieve_many([query], k)[0]

    def retrieve_many(self, queries: Sequence[str], k: int = 5) -> list[list[Hit]]:
        """Batched :meth:`retrieve`: one embedding pass for all queries."""
        return [self._hits(row, k) for row in self.scores(queries)]

    def retrieve_within(self, query: str, k: int, allowed: Sequence[str]) -> list[Hit]:
        """The ``k`` best among the ``allowed`` ids only (ids not indexed are ignored)."""
        rows = np.array(sorted({self._row[i] for i in allowed if i in self._row}), dtype=np.int64)
        return self._hits(self.scores([query])[0], k, rows)

    def vectors_for(self, ids: Sequence[str]) -> np.ndarray:
        """The whole-text vectors of ``ids``, in that order (for MMR reranking)."""
        missing = [i for i in ids if i not in self._row]
        if missing:
            raise KeyError(f"ids not indexed: {missing[:5]}")
        return self.doc_vectors[[self._row[i] for i in ids]]
