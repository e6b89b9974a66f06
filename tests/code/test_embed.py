"""The packaged all-MiniLM-L6-v2 embedder, loaded for real from site-packages (never a download)."""

from __future__ import annotations

import numpy as np

from playbook_lib.embeddings.model import Embedder, MiniLMEmbedder
from playbook_lib.rag.retrieve import DenseRetriever


def test_protocol_and_shapes(embedder: MiniLMEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    vectors = embedder.embed_documents(["a cat sat on the mat", "stock markets fell sharply"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32 and embedder.dim == 384
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embedder.embed_query("a cat sat on the mat"), vectors[0], atol=1e-5)
    assert embedder.embed_documents([]).shape == (0, 384)


def test_meaning_not_spelling(embedder: MiniLMEmbedder) -> None:
    a, b, c = embedder.embed_documents(
        ["How do I reset my password?", "I forgot my login credentials", "The recipe needs two eggs"]
    )
    assert a @ b > a @ c + 0.2


def test_token_counter_matches_tokenizer(embedder: MiniLMEmbedder) -> None:
    assert embedder.count_tokens("hello world") == 2
    assert embedder.count_tokens("") == 0
    assert embedder.max_tokens == 256


def test_sample_questions_find_their_article(embedder: MiniLMEmbedder, sample_docs) -> None:
    from playbook_lib import sample_data
    from playbook_lib.rag.corpus import load_labelled_queries

    queries, qrels = load_labelled_queries(sample_data.path("heronsgate_queries.jsonl"))
    retriever = DenseRetriever.from_documents(sample_docs, embedder)
    runs = retriever.retrieve_many(list(queries.values()), k=3)
    found = sum(any(h.doc_id in qrels[q] for h in hits) for q, hits in zip(queries, runs))
    # measured: 12 of 12 in the top 3; a broken embedder or index finds about 1 by chance (3/36 per query)
    assert found >= 10


def test_int8_quantization_option(embedder: MiniLMEmbedder, sample_docs) -> None:
    import pytest
    import torch

    from playbook_lib import sample_data
    from playbook_lib.errors import UsageError
    from playbook_lib.rag.corpus import load_labelled_queries

    int8 = MiniLMEmbedder(show_progress=False, quantize="int8", threads=1)
    quantized = [m for m in int8.model.modules() if "quantized" in type(m).__module__]
    assert quantized and not any(type(m) is torch.nn.Linear for m in int8.model.modules())
    texts = [d.full_text for d in sample_docs]
    a, b = embedder.embed_documents(texts), int8.embed_documents(texts)
    cosines = (a * b).sum(axis=1)
    assert not np.allclose(a, b, atol=1e-4)  # the vectors really changed
    # measured on SciFact abstracts: min 0.970, mean 0.982 (per-tensor scales would give 0.88 / 0.92)
    assert cosines.min() > 0.93 and cosines.mean() > 0.97, (cosines.min(), cosines.mean())
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    queries, qrels = load_labelled_queries(sample_data.path("heronsgate_queries.jsonl"))
    runs = DenseRetriever.from_documents(sample_docs, int8).retrieve_many(list(queries.values()), k=3)
    assert sum(any(h.doc_id in qrels[q] for h in hits) for q, hits in zip(queries, runs)) >= 10
    assert int8.config["quantize"] == "int8" and embedder.config["quantize"] is None
    with pytest.raises(UsageError, match="unknown quantization"):
        MiniLMEmbedder(quantize="int4")


def test_retriever_from_stored_vectors(embedder: MiniLMEmbedder, sample_docs) -> None:
    built = DenseRetriever.from_documents(sample_docs, embedder)
    again = DenseRetriever.from_vectors(sample_docs, built.index.vectors(), embedder)
    question = "What does error E17 mean?"
    assert again.retrieve(question, 5) == built.retrieve(question, 5)
    np.testing.assert_allclose(
        again.vectors_for(["kb-020", "kb-001"]),
        embedder.embed_documents([d.full_text for d in sample_docs if d.id in ("kb-020", "kb-001")])[::-1],
        atol=1e-5,
    )


def test_using_torch_threads_sets_and_restores(monkeypatch) -> None:
    import torch

    from playbook_lib import settings

    outer = torch.get_num_threads()
    torch.set_num_threads(2)  # a known starting point, whatever the worker was given
    try:
        with settings.using_torch_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        monkeypatch.setenv("PLAYBOOK_THREADS", "1")
        with settings.using_torch_threads(None):  # None: PLAYBOOK_THREADS decides
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(outer)
