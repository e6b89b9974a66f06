"""Dense retrieval: embed the query, search the index, return ranked hits with their documents.

Taught in the book's *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from playbook_lib.embeddings.model import Embedder, MiniLMEmbedder
from playbook_lib.errors import EmptyDataError
from playbook_lib.rag.corpus import Document
from playbook_lib.rag.index import FlatIndex, SearchResult

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Hit:
    """One retrieved document: its 1-based rank, similarity score and the document itself."""

    rank: int
    score: float
    document: Document

    @property
    def doc_id(self) -> str:
        return self.document.id


def hits_from_search(result: SearchResult, documents: Mapping[str, Document]) -> list[list[Hit]]:
    """Turn an index's ids and scores into ranked :class:`Hit` lists, one per query."""
    return [
        [Hit(rank=r + 1, score=float(s), document=documents[i]) for r, (i, s) in enumerate(zip(ids, scores))]
        for ids, scores in zip(result.ids, result.scores)
    ]


def embed_queries(embedder: Embedder, queries: Sequence[str]) -> np.ndarray:
    """A ``(len(queries), dim)`` array: one query through ``embed_query``, several in one batch."""
    if len(queries) == 1:
        return embedder.embed_query(queries[0])[None, :]
    return embedder.embed_documents(list(queries))


class Retriever(Protocol):
    """Anything that returns the ``k`` best documents for a query, best first."""

    def retrieve(self, query: str, k: int = 5) -> list[Hit]: ...


class DenseRetriever:
    """Embed documents once, then answer queries by exact inner-product search.

    Args:
        embedder: defaults to :class:`~playbook_lib.embeddings.model.MiniLMEmbedder`.
    """

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder: Embedder = embedder if embedder is not None else MiniLMEmbedder()
        self.index: FlatIndex | None = None
        self.documents: dict[str, Document] = {}

    @classmethod
    def from_documents(cls, documents: Sequence[Document], embedder: Embedder | None = None) -> DenseRetriever:
        """Build a retriever over ``documents`` (embeds them all)."""
        retriever = cls(embedder)
        retriever.add(documents)
        return retriever

    @classmethod
    def from_vectors(cls, documents: Sequence[Document], vectors: np.ndarray, embedder: Embedder) -> DenseRetriever:
        """Build a retriever from vectors embedded earlier (a cache, a refresh) by ``embedder``; row ``i`` is
        ``documents[i]``. ``embedder`` still embeds the queries."""
        if len(documents) != len(vectors):
            raise ValueError(f"{len(vectors)} vectors for {len(documents)} documents")
        retriever = cls(embedder)
        retriever.index = FlatIndex(vectors.shape[1])
        retriever.index.add([d.id for d in documents], vectors)
        retriever.documents = {d.id: d for d in documents}
        return retriever

    def add(self, documents: Sequence[Document]) -> None:
        """Embed and index ``documents``; ids must be new."""
        clash = [d.id for d in documents if d.id in self.documents]
        if clash:
            raise ValueError(f"document ids already indexed: {clash[:5]}")
        vectors = self.embedder.embed_documents([d.full_text for d in documents])
        if self.index is None:
            self.index = FlatIndex(vectors.shape[1] if len(vectors) else self.embedder.dim)
        self.index.add([d.id for d in documents], vectors)
        self.documents.update((d.id, d) for d in documents)

    def retrieve(self, query: str, k: int = 5) -> list[Hit]:
        """Return the ``k`` documents most similar to ``query``, best first."""
        return self.retrieve_many([query], k)[0]

    def retrieve_many(self, queries: Sequence[str], k: int = 5) -> list[list[Hit]]:
        """Batched :meth:`retrieve`: one embedding pass for all queries."""
        return hits_from_search(self._index_or_raise().search(self._embed(queries), k), self.documents)

    def retrieve_within(self, query: str, k: int, allowed: Sequence[str]) -> list[Hit]:
        """The ``k`` best among the ``allowed`` ids only (pre-filtered search: the filter runs before ranking)."""
        index = self._index_or_raise()
        return hits_from_search(index.search(self._embed([query]), k, allowed=allowed), self.documents)[0]

    def vectors_for(self, ids: Sequence[str]) -> np.ndarray:
        """The indexed vectors of ``ids``, in that order (no re-embedding); e.g. for MMR reranking."""
        return self._index_or_raise().vectors_for(ids)

    def _index_or_raise(self) -> FlatIndex:
        if self.index is None or len(self.index) == 0:
            raise EmptyDataError("the retriever holds no documents: add some before retrieving")
        return self.index

    def _embed(self, queries: Sequence[str]) -> np.ndarray:
        return embed_queries(self.embedder, queries)


def hits_frame(hits: Sequence[Hit], text_chars: int = 120) -> pd.DataFrame:
    """A table of hits (rank, id, score, title, start of text) for notebooks and reports."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    def clip(text: str) -> str:
        return text if len(text) <= text_chars else text[: text_chars - 1].rstrip() + "…"

    return pd.DataFrame(
        {
            "rank": [h.rank for h in hits],
            "doc_id": [h.doc_id for h in hits],
            "score": [round(h.score, 4) for h in hits],
            "title": [h.document.title for h in hits],
            "text": [clip(h.document.text) for h in hits],
        }
    ).set_index("rank")
