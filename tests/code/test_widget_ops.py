"""The retriever switch and the query explorer show each setting's hits, ranked by the library."""

from __future__ import annotations

from playbook_lib.rag.keyword import BM25Retriever
from playbook_lib.rag.retrieve import DenseRetriever
from playbook_lib.widgets.rag import hits_html


def test_switch_shows_each_retrievers_hits(sample_docs, embedder) -> None:
    from playbook_lib.widgets.ops import retriever_switch

    retrievers = {
        "dense": DenseRetriever.from_documents(sample_docs, embedder),
        "bm25": BM25Retriever.from_documents(sample_docs),
    }
    other = "logging at one-second intervals"
    switch = retriever_switch(retrievers, "error E17", k=2, queries=[other, "error E17", ""])
    assert switch.controls[1].values == ("error E17", other)
    shown = switch.output(method="dense", query="error E17", k=2)
    assert "kb-020" in shown and shown.count("<tr>") == 3  # header + 2 hits
    assert "kb-020" in switch.output(method="bm25", query="error E17", k=2)  # BM25 finds the error code too
    one = switch.output(method="bm25", query=other, k=1)
    assert "kb-006" in one and one.count("<tr>") == 2
    for method, retriever in retrievers.items():
        for k in (1, 4, 5):
            expected = hits_html(retriever.retrieve(other, k))
            assert switch.output(method=method, query=other, k=k) == expected


def test_query_explorer_offers_the_page_queries_and_k(sample_docs, embedder) -> None:
    from playbook_lib.widgets.rag import query_explorer

    dense = DenseRetriever.from_documents(sample_docs, embedder)
    explorer = query_explorer(dense, "error E17", k=3, queries=["pH probe calibration"], corpus="bundled")
    assert explorer.initial() == {"query": "error E17", "k": 3}
    assert explorer.output(query="error E17", k=3).count("<tr>") == 4
    assert explorer.output(query="pH probe calibration", k=1) == hits_html(dense.retrieve("pH probe calibration", 1))
    live = explorer.live()
    (_query, k), out = live.children[0].children, live.children[1]
    k.value = 1
    assert out.value.count("<tr>") == 2


def test_fusion_explorer_scores_each_weight_with_the_library(sample_docs, embedder) -> None:
    from playbook_lib.rag.evaluate import evaluate_run
    from playbook_lib.rag.hybrid import HybridRetriever
    from playbook_lib.widgets.ops import fusion_explorer

    dense = DenseRetriever.from_documents(sample_docs, embedder)
    bm25 = BM25Retriever.from_documents(sample_docs)
    queries = {"q1": "error E17", "q2": "logging at one-second intervals"}
    qrels = {"q1": {"kb-020": 1}, "q2": {"kb-006": 1}}
    explorer = fusion_explorer(dense, bm25, queries, qrels, weight=0.5)
    assert len(explorer) == 11
    for weight in (0.0, 0.5, 1.0):
        fused = HybridRetriever([dense, bm25], method="weighted", weights=[weight, 1 - weight])
        run = {q: [h.doc_id for h in fused.retrieve(t, 10)] for q, t in queries.items()}
        metrics = evaluate_run(run, qrels, (10,))
        assert f"<td>{metrics['nDCG@10']:.4f}</td>" in explorer.output(weight=weight)
