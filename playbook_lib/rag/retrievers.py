"""Retrievers by name: dense, BM25 and hybrid over one corpus, optionally reranked.

What ``playbook rag eval --method ... --rerank ...`` compares (:mod:`playbook_lib.cli`); the notebooks build the
same retrievers one class at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from playbook_lib.embeddings.model import MiniLMEmbedder
from playbook_lib.rag.corpus import Document
from playbook_lib.rag.hybrid import FusionMethod, HybridRetriever
from playbook_lib.rag.keyword import BM25Retriever
from playbook_lib.rag.passages import PassageDenseRetriever
from playbook_lib.rag.rerank import RerankingRetriever, make_reranker
from playbook_lib.rag.retrieve import DenseRetriever, Retriever


def build_retrievers(
    documents: Sequence[Document],
    methods: set[str],
    *,
    stem: bool = True,
    threads: int | None = None,
    fusion: FusionMethod = "rrf",
    rerank: str = "none",
    mmr_lambda: float = 0.5,
    passages: bool = False,
) -> dict[str, Retriever]:
    """The retrievers named in ``methods`` (dense, bm25, hybrid) over ``documents``, each followed by ``rerank``.

    The result maps each built name to its retriever: hybrid needs dense and BM25, so asking for it builds (and
    returns) those too, and ``rerank="mmr"`` builds dense for its vectors. ``passages`` makes the dense retriever a
    :class:`~playbook_lib.rag.passages.PassageDenseRetriever`.

    Raises:
        UsageError: for an unknown or unconfigured reranker (:func:`~playbook_lib.rag.rerank.make_reranker`),
            before any embedding.
    """
    built: dict[str, Retriever] = {}
    dense: DenseRetriever | PassageDenseRetriever | None = None

    def dense_vectors(ids: Sequence[str]) -> np.ndarray:
        if dense is None:  # make_reranker asks for vectors only for MMR, and MMR always builds dense below
            raise KeyError("dense")
        return dense.vectors_for(ids)

    # first, so that a misconfigured reranker fails before minutes of embedding
    reranker = make_reranker(rerank, vectors=dense_vectors, lambda_=mmr_lambda)
    if methods & {"dense", "hybrid"} or rerank == "mmr":
        embedder = MiniLMEmbedder(threads=threads)
        dense = (
            PassageDenseRetriever.from_documents(documents, embedder)
            if passages
            else DenseRetriever.from_documents(documents, embedder)
        )
        built["dense"] = dense
    if methods & {"bm25", "hybrid"}:
        built["bm25"] = BM25Retriever.from_documents(documents, stem=stem)
    if "hybrid" in methods:
        built["hybrid"] = HybridRetriever([built["dense"], built["bm25"]], method=fusion)
    if reranker is None:
        return built
    return {name: RerankingRetriever(r, reranker) for name, r in built.items()}
