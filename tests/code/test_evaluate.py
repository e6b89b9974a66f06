"""Retrieval metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from playbook_lib.rag.evaluate import evaluate_run, ndcg_at_k, recall_at_k, reciprocal_rank


def test_ndcg_hand_computed() -> None:
    judged = {"a": 1, "b": 1}
    # relevant at ranks 2 and 3: DCG = 1/log2(3) + 1/log2(4); ideal = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["x", "a", "b"], judged, 10) == pytest.approx(expected)
    assert ndcg_at_k(["a", "b", "x"], judged, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], judged, 10) == 0.0
    assert ndcg_at_k(["x", "a"], judged, 1) == 0.0


def test_graded_ndcg_prefers_higher_grade_first() -> None:
    judged = {"a": 2, "b": 1}
    assert ndcg_at_k(["a", "b"], judged, 2) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a"], judged, 2) < 1.0


def test_recall_and_rr() -> None:
    judged = {"a": 1, "b": 1, "c": 0}
    assert recall_at_k(["a", "x", "b"], judged, 2) == 0.5
    assert recall_at_k(["a", "x", "b"], judged, 3) == 1.0
    assert reciprocal_rank(["x", "y", "b"], judged) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x", "y", "b"], judged, k=2) == 0.0


def test_missing_queries_score_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    metrics = evaluate_run({"q1": ["a"]}, qrels, ks=(10,))
    assert metrics["nDCG@10"] == pytest.approx(0.5)  # q3 has no relevant document and is not scored
    assert metrics["Recall@10"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        evaluate_run({}, {"q": {"a": 0}})


def test_pooled_reports_equal_one_report(sample_docs) -> None:
    from playbook_lib import sample_data
    from playbook_lib.rag.corpus import load_labelled_queries
    from playbook_lib.rag.evaluate import evaluate_retriever, percentile, report_from_run
    from playbook_lib.rag.keyword import BM25Retriever

    queries, qrels = load_labelled_queries(sample_data.path("heronsgate_queries.jsonl"))
    bm25 = BM25Retriever.from_documents(sample_docs)
    whole = evaluate_retriever(bm25, queries, qrels, "bm25")
    ids = list(queries)
    parts = [evaluate_retriever(bm25, {q: queries[q] for q in half}, qrels) for half in (ids[:5], ids[5:])]
    pooled = report_from_run(
        "bm25", {**parts[0].run, **parts[1].run}, parts[0].latencies_ms + parts[1].latencies_ms, qrels
    )
    assert pooled.metrics == pytest.approx(whole.metrics) and pooled.n_queries == whole.n_queries == 12
    assert pooled.run == whole.run and len(whole.latencies_ms) == 12
    assert whole.latency_ms_p95 == percentile(whole.latencies_ms, 95) >= whole.latency_ms_p50
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([5], 95) == 5
