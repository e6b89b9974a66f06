"""Metadata filters: the condition language, and filtering before / after search against a brute-force reference."""

from __future__ import annotations

from dataclasses import replace

import pytest

from playbook_lib.errors import UsageError
from playbook_lib.rag.corpus import Document
from playbook_lib.rag.filters import FilteredRetriever, compile_filter
from playbook_lib.rag.hybrid import HybridRetriever
from playbook_lib.rag.keyword import BM25Retriever
from playbook_lib.rag.retrieve import DenseRetriever


@pytest.fixture(scope="module")
def dated_docs(sample_docs) -> list[Document]:
    """The sample knowledge base with a year and a source per document (metadata of our own)."""
    return [
        replace(d, metadata={"year": 2010 + i % 15, "source": "manual" if i % 3 else "faq"})
        for i, d in enumerate(sample_docs)
    ]


def test_condition_language() -> None:
    doc = Document("a", "text", "Title", metadata={"year": 2021, "source": "faq", "note": "n/a"})
    assert compile_filter({"source": "faq"})(doc) and not compile_filter({"source": "manual"})(doc)
    assert compile_filter({"source": ["manual", "faq"]})(doc)
    assert compile_filter({"year": {">=": 2020, "<": 2022}})(doc) and not compile_filter({"year": {">": 2021}})(doc)
    assert compile_filter({"year": {"in": [2020, 2021]}, "source": {"!=": "manual"}})(doc)
    assert compile_filter({"id": "a", "title": "Title"})(doc)  # document attributes as fallback fields
    assert not compile_filter({"missing": "x"})(doc)
    assert not compile_filter({"note": {">=": 2020}})(doc)  # incomparable value: no match, no crash
    assert compile_filter({})(doc)
    with pytest.raises(UsageError, match="unknown operator '=>'"):
        compile_filter({"year": {"=>": 2020}})
    with pytest.raises(UsageError, match="needs a list"):
        compile_filter({"year": {"in": "2020"}})
    with pytest.raises(UsageError, match="mapping"):
        compile_filter([("year", 2020)])  # type: ignore[arg-type]


def brute_force(retriever, docs: list[Document], query: str, filters, k: int) -> list[str]:
    """Reference: rank the whole corpus, then keep the matching ids."""
    match = compile_filter(filters)
    return [h.doc_id for h in retriever.retrieve(query, len(docs)) if match(h.document)][:k]


def test_after_search_overfetches_until_k_remain(dated_docs, embedder) -> None:
    dense = DenseRetriever.from_documents(dated_docs, embedder)
    filters = {"year": {">=": 2023}, "source": "manual"}  # a few documents, mostly ranked low
    n_match = sum(compile_filter(filters)(d) for d in dated_docs)
    assert 3 <= n_match <= 6
    filtered = FilteredRetriever(dense, filters, where="after", overfetch=2)
    hits = filtered.retrieve("How do I calibrate the pH probe?", 3)
    assert [h.doc_id for h in hits] == brute_force(dense, dated_docs, "How do I calibrate the pH probe?", filters, 3)
    assert [h.rank for h in hits] == [1, 2, 3] and filtered.last_depth > 6  # had to fetch deeper than 2 x k
    every = FilteredRetriever(dense, filters, where="after").retrieve("probe", 50)
    assert len(every) == n_match  # fewer only when fewer match


@pytest.mark.parametrize("kind", ["dense", "bm25", "hybrid"])
def test_before_search_equals_brute_force(kind: str, dated_docs, embedder) -> None:
    dense = DenseRetriever.from_documents(dated_docs, embedder)
    bm25 = BM25Retriever.from_documents(dated_docs)
    retriever = {"dense": dense, "bm25": bm25, "hybrid": HybridRetriever([dense, bm25], depth=10)}[kind]
    filters = {"source": "faq", "year": {"<": 2020}}
    query = "What does error E17 mean on the meter?"
    hits = FilteredRetriever(retriever, filters, dated_docs, where="before").retrieve(query, 3)
    assert all(compile_filter(filters)(h.document) for h in hits) and len(hits) == 3
    if kind != "hybrid":  # fusion over a subset is not the subset of the fusion; the other two must agree exactly
        assert [h.doc_id for h in hits] == brute_force(retriever, dated_docs, query, filters, 3)


def test_placement_errors(dated_docs, embedder) -> None:
    dense = DenseRetriever.from_documents(dated_docs, embedder)
    with pytest.raises(UsageError, match="needs the documents"):
        FilteredRetriever(dense, {"source": "faq"}, where="before")
    with pytest.raises(UsageError, match="'before' or 'after'"):
        FilteredRetriever(dense, {"source": "faq"}, where="during")  # type: ignore[arg-type]

    class Plain:
        def retrieve(self, query: str, k: int = 5):
            return dense.retrieve(query, k)

    with pytest.raises(UsageError, match="cannot search a subset"):
        FilteredRetriever(Plain(), {"source": "faq"}, dated_docs, where="before")
    assert FilteredRetriever(dense, {"source": "nowhere"}, dated_docs, where="before").retrieve("q", 3) == []
