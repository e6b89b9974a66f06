"""The retriever switch redraws the chosen retriever's hits."""

from __future__ import annotations

from playbook_lib.rag.keyword import BM25Retriever
from playbook_lib.rag.retrieve import DenseRetriever


def test_switch_shows_each_retrievers_hits(sample_docs, embedder) -> None:
    from playbook_lib.widgets.ops import retriever_switch

    retrievers = {
        "dense": DenseRetriever.from_documents(sample_docs, embedder),
        "bm25": BM25Retriever.from_documents(sample_docs),
    }
    box = retriever_switch(retrievers, "error E17", k=2)
    method, slider = box.children[0].children
    query, out = box.children[1], box.children[2]
    assert "kb-020" in out.value and out.value.count("<tr>") == 3  # header + 2 hits
    method.value = "bm25"
    assert "kb-020" in out.value  # BM25 finds the error code too
    query.value = "logging at one-second intervals"
    slider.value = 1
    assert "kb-006" in out.value and out.value.count("<tr>") == 2
