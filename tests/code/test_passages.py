"""Passage-aware dense retrieval: score combination against a plain loop, and the window effect on real text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_lib.errors import EmptyDataError, UsageError
from playbook_lib.rag.passages import COMBINES, PassageDenseRetriever, combine_scores, embed_unique


def combine_loop(doc_scores: np.ndarray, chunk_scores: np.ndarray, chunk_doc: np.ndarray, combine: str) -> np.ndarray:
    out = np.empty_like(doc_scores)
    for q in range(doc_scores.shape[0]):
        for d in range(doc_scores.shape[1]):
            mine = [chunk_scores[q, c] for c in range(len(chunk_doc)) if chunk_doc[c] == d]
            best = max(mine) if mine else doc_scores[q, d]
            out[q, d] = {"passages": best, "max": max(best, doc_scores[q, d]), "mean": (best + doc_scores[q, d]) / 2}[
                combine
            ]
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 6),
    st.lists(st.integers(0, 5), max_size=15),
    st.sampled_from(COMBINES),
    st.integers(0, 2**32 - 1),
)
def test_combine_scores_equals_plain_loop(n_queries, n_docs, owners, combine, seed) -> None:
    rng = np.random.default_rng(seed)
    chunk_doc = np.array([o % n_docs for o in owners], dtype=np.int64)  # unsorted, some documents without chunks
    doc_scores = rng.uniform(-1, 1, (n_queries, n_docs)).astype(np.float32)
    chunk_scores = rng.uniform(-1, 1, (n_queries, len(chunk_doc))).astype(np.float32)
    got = combine_scores(doc_scores, chunk_scores, chunk_doc, combine)  # type: ignore[arg-type]
    np.testing.assert_allclose(got, combine_loop(doc_scores, chunk_scores, chunk_doc, combine), rtol=1e-6)


def test_unknown_combination_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="choose one of mean, max, passages"):
        PassageDenseRetriever(combine="sum")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        combine_scores(np.zeros((1, 1)), np.zeros((1, 0)), np.zeros(0, dtype=np.int64), "avg")  # type: ignore[arg-type]


def test_empty_retriever_says_so(embedder) -> None:
    with pytest.raises(EmptyDataError, match="no documents"):
        PassageDenseRetriever(embedder).retrieve("anything")


def test_embed_unique_embeds_each_text_once() -> None:
    class Counting:
        dim = 2
        seen: list[str] = []

        def embed_documents(self, texts):
            self.seen.extend(texts)
            return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

        def embed_query(self, text):
            return self.embed_documents([text])[0]

    counting = Counting()
    vectors = embed_unique(counting, ["ab", "c", "ab", "c", "def"])
    assert counting.seen == ["ab", "c", "def"]
    assert vectors[:, 0].tolist() == [2, 1, 2, 1, 3]
