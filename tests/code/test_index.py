"""FlatIndex: exact search must agree with brute-force NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.rag.index import FlatIndex


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_search_matches_numpy(seed: int) -> None:
    docs, queries = unit_rows(500, 32, seed), unit_rows(20, 32, seed + 100)
    index = FlatIndex(32)
    ids = [f"d{i}" for i in range(len(docs))]
    index.add(ids, docs)
    result = index.search(queries, k=10)
    scores = queries @ docs.T
    for q in range(len(queries)):
        expected = np.argsort(-scores[q], kind="stable")[:10]
        assert result.ids[q] == [ids[i] for i in expected]
        np.testing.assert_allclose(result.scores[q], scores[q, expected], rtol=1e-5, atol=1e-6)


def test_l2_and_inner_product_rank_unit_vectors_alike() -> None:
    docs, query = unit_rows(300, 16, 7), unit_rows(1, 16, 8)[0]
    by_ip = np.argsort(-(docs @ query), kind="stable")[:20]
    by_l2 = np.argsort(np.linalg.norm(docs - query, axis=1), kind="stable")[:20]
    assert by_ip.tolist() == by_l2.tolist()


def test_k_larger_than_index_and_vectors_roundtrip() -> None:
    docs = unit_rows(3, 8, 3)
    index = FlatIndex(8)
    index.add(["a", "b", "c"], docs)
    assert len(index) == 3 and index.ids == ["a", "b", "c"]
    assert len(index.search(docs[0], k=10).ids[0]) == 3
    np.testing.assert_allclose(index.vectors(), docs)


def test_bad_shapes_are_rejected() -> None:
    index = FlatIndex(8)
    with pytest.raises(ValueError, match="shape"):
        index.add(["a"], np.zeros((1, 9), np.float32))
    with pytest.raises(ValueError, match="ids for"):
        index.add(["a", "b"], np.zeros((1, 8), np.float32))
    with pytest.raises(ValueError, match="k must"):
        index.search(np.zeros(8, np.float32), k=0)
