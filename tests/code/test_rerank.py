"""Reranking: MMR (hand-computed cases and real embeddings) and the cross-encoder path with a real, tiny,
randomly initialised BERT saved to disk (no cross-encoder weights exist offline; the code path is what is tested)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.rag.corpus import Document
from playbook_lib.rag.hybrid import HybridRetriever
from playbook_lib.rag.keyword import BM25Retriever
from playbook_lib.rag.rerank import (
    CrossEncoderReranker,
    MMRReranker,
    Reranker,
    RerankingRetriever,
    diversity,
    make_reranker,
    mmr_order,
)
from playbook_lib.rag.retrieve import DenseRetriever, Hit
from tests.cli import run_cli


def unit(*rows: list[float]) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_mmr_lambda_one_is_relevance_order() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        relevance = rng.random(30)
        vectors = unit(*rng.normal(size=(30, 8)))
        assert mmr_order(relevance, vectors, 10, lambda_=1.0) == np.argsort(-relevance, kind="stable")[:10].tolist()


def test_mmr_skips_a_near_duplicate_by_hand() -> None:
    # a and a2 are almost the same vector; b is orthogonal and a little less relevant
    vectors = unit([1, 0, 0], [0.99, 0.14, 0], [0, 1, 0])
    relevance = np.array([1.0, 0.95, 0.8])
    assert mmr_order(relevance, vectors, 3, lambda_=1.0) == [0, 1, 2]
    # step 2 at lambda 0.5: a2 scores 0.5*0.95 - 0.5*0.99 < 0; b scores 0.5*0.8 - 0 > 0
    assert mmr_order(relevance, vectors, 3, lambda_=0.5) == [0, 2, 1]
    with pytest.raises(ValueError):
        mmr_order(relevance, vectors, 2, lambda_=1.5)


def test_mmr_increases_diversity_on_real_embeddings(sample_docs, embedder) -> None:
    dense = DenseRetriever.from_documents(sample_docs, embedder)
    reranker = MMRReranker(vectors=dense.vectors_for, lambda_=0.3)
    assert isinstance(reranker, Reranker)
    gains = []
    for question in ("How do I calibrate the pH probe?", "What does the Wren-3 weigh?", "Who founded the company?"):
        candidates = dense.retrieve(question, 20)
        top = [h.doc_id for h in candidates[:5]]
        diverse = [h.doc_id for h in reranker.rerank(question, candidates, 5)]
        assert diverse[0] == top[0]  # the most relevant document is always kept first
        gains.append(diversity(dense.vectors_for(diverse)) - diversity(dense.vectors_for(top)))
        # lambda = 1 gives back the relevance order exactly
        same = MMRReranker(vectors=dense.vectors_for, lambda_=1.0).rerank(question, candidates, 5)
        assert [h.doc_id for h in same] == top
    assert all(g > 0 for g in gains), gains


def test_mmr_embedding_path_equals_index_path(sample_docs, embedder) -> None:
    dense = DenseRetriever.from_documents(sample_docs, embedder)
    candidates = dense.retrieve("battery life of the meter", 12)
    by_index = MMRReranker(vectors=dense.vectors_for, lambda_=0.5).rerank("q", candidates, 6)
    by_embedding = MMRReranker(embedder=embedder, lambda_=0.5).rerank("q", candidates, 6)
    assert [h.doc_id for h in by_index] == [h.doc_id for h in by_embedding]
    by_query = MMRReranker(embedder=embedder, lambda_=1.0, relevance="query").rerank(
        "battery life of the meter", candidates, 6
    )
    assert [h.doc_id for h in by_query] == [h.doc_id for h in candidates[:6]]  # dense scores are the query cosines


def test_reranking_retriever_over_hybrid(sample_docs, embedder) -> None:
    dense = DenseRetriever.from_documents(sample_docs, embedder)
    hybrid = HybridRetriever([dense, BM25Retriever.from_documents(sample_docs)], depth=20)
    keep = RerankingRetriever(hybrid, MMRReranker(vectors=dense.vectors_for, lambda_=1.0), depth=20)
    question = "What does error E17 mean?"
    assert [h.doc_id for h in keep.retrieve(question, 5)] == [h.doc_id for h in hybrid.retrieve(question, 5)]
    mixed = RerankingRetriever(hybrid, MMRReranker(vectors=dense.vectors_for, lambda_=0.3), depth=20)
    out = mixed.retrieve_many([question, "battery"], 5)
    assert len(out) == 2 and [h.rank for h in out[0]] == [1, 2, 3, 4, 5]
    assert out[0] == mixed.retrieve(question, 5)


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real BERT sequence classifier (1 layer, hidden size 16, random weights) with MiniLM's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from playbook_lib import settings

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
        num_labels=1,
    )
    BertForSequenceClassification(config).eval().save_pretrained(folder)
    AutoTokenizer.from_pretrained(settings.embedding_model_path()).save_pretrained(folder)
    return folder


def test_cross_encoder_scores_pairs_like_the_raw_model(tiny_cross_encoder: Path) -> None:
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    docs = [
        Document(f"d{i}", text)
        for i, text in enumerate(
            [
                "Probes are calibrated every 14 days.",
                "Shipping takes three days.",
                "The battery lasts 46 hours.",
                "Error E17 means the membrane is dry.",
                "The company was founded in 2017.",
            ]
        )
    ]
    hits = [Hit(i + 1, 1.0 - i / 10, d) for i, d in enumerate(docs)]
    query = "how long does the battery last"
    reranker = CrossEncoderReranker(tiny_cross_encoder, threads=1)
    assert isinstance(reranker, Reranker)
    ranked = reranker.rerank(query, hits, 3)

    tokenizer = AutoTokenizer.from_pretrained(tiny_cross_encoder)
    model = BertForSequenceClassification.from_pretrained(tiny_cross_encoder).eval()
    with torch.no_grad():
        batch = tokenizer(
            [query] * len(docs), [d.text for d in docs], padding=True, truncation=True, return_tensors="pt"
        )
        logits = model(**batch).logits[:, 0].numpy()
    # a one-label CrossEncoder applies a sigmoid: monotone, so the order is that of the raw logits
    expected = np.argsort(-logits, kind="stable")[:3]
    assert [h.doc_id for h in ranked] == [docs[i].id for i in expected]
    np.testing.assert_allclose([h.score for h in ranked], 1 / (1 + np.exp(-logits[expected])), atol=1e-5)
    assert [h.rank for h in ranked] == [1, 2, 3]
    assert reranker.rerank(query, hits, 3) == ranked  # deterministic


def test_cross_encoder_configuration_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_cross_encoder: Path
) -> None:
    monkeypatch.delenv("PLAYBOOK_CROSS_ENCODER", raising=False)
    with pytest.raises(UsageError, match="PLAYBOOK_CROSS_ENCODER"):
        CrossEncoderReranker()
    with pytest.raises(UsageError, match="not found"):
        CrossEncoderReranker(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="not a loadable cross-encoder"):
        CrossEncoderReranker(tmp_path / "empty").rerank("q", [Hit(1, 1.0, Document("a", "x"))], 1)
    monkeypatch.setenv("PLAYBOOK_CROSS_ENCODER", str(tiny_cross_encoder))
    assert isinstance(make_reranker("cross-encoder"), CrossEncoderReranker)


def test_make_reranker_names(embedder) -> None:
    assert make_reranker("none") is None
    assert isinstance(make_reranker("mmr", embedder=embedder), MMRReranker)
    with pytest.raises(UsageError, match="none, mmr, cross-encoder"):
        make_reranker("colbert")
    with pytest.raises(UsageError, match="candidate embeddings"):
        make_reranker("mmr")


def test_eval_with_rerank(tmp_path: Path, sample_docs) -> None:
    from playbook_lib import sample_data
    from playbook_lib.errors import ExitCode
    from playbook_lib.rag.corpus import load_labelled_queries
    from playbook_lib.rag.evaluate import evaluate_retriever
    from playbook_lib.rag.retrievers import build_retrievers
    from tests.code.test_keyword_hybrid import make_beir

    queries, qrels = load_labelled_queries(sample_data.path("heronsgate_queries.jsonl"))
    plain = build_retrievers(sample_docs, {"hybrid"}, threads=1)["hybrid"]
    same = build_retrievers(sample_docs, {"hybrid"}, threads=1, rerank="mmr", mmr_lambda=1.0)["hybrid"]
    assert isinstance(same, RerankingRetriever)
    assert evaluate_retriever(same, queries, qrels).metrics == evaluate_retriever(plain, queries, qrels).metrics

    env = {"PLAYBOOK_CROSS_ENCODER": None, "PLAYBOOK_THREADS": "1", "COLUMNS": "200"}
    folder = make_beir(tmp_path)
    cmd = ["rag", "eval", folder, "-m", "hybrid"]
    ok = run_cli(*cmd, "--rerank", "mmr", "--fusion", "weighted", env=env)
    assert ok.code == 0, ok.stderr
    assert "hybrid+mmr" in ok.stdout and "nDCG@10" in ok.stdout
    bad = run_cli(*cmd, "--rerank", "cross-encoder", env=env)
    assert bad.code == ExitCode.USAGE and "PLAYBOOK_CROSS_ENCODER" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
