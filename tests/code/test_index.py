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


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around 40 centres: closer to real embeddings than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    x = centres[rng.integers(0, 40, n)] + 0.35 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize(
    ("kind", "params", "floor"), [("hnsw", {"ef_search": 64}, 0.9), ("ivf", {"nlist": 32, "nprobe": 8}, 0.8)]
)
def test_approximate_recall_against_exact(kind: str, params: dict, floor: float) -> None:
    from playbook_lib.rag.index import make_index, recall_against_exact

    docs, queries = clustered(4000, 32, 0), clustered(200, 32, 1)
    ids = [str(i) for i in range(len(docs))]
    exact, approx = FlatIndex(32), make_index(kind, 32, **params)
    exact.add(ids, docs)
    approx.add(ids, docs)
    recall = recall_against_exact(approx, exact, queries, k=10)
    assert floor <= recall <= 1.0
    assert recall_against_exact(exact, exact, queries, k=10) == 1.0


def test_ivf_recall_grows_with_nprobe() -> None:
    from playbook_lib.rag.index import IVFIndex, recall_against_exact

    docs, queries = clustered(4000, 32, 2), clustered(200, 32, 3)
    ids = [str(i) for i in range(len(docs))]
    exact = FlatIndex(32)
    exact.add(ids, docs)
    recalls = []
    for nprobe in (1, 4, 32):
        ivf = IVFIndex(32, nlist=32, nprobe=nprobe)
        ivf.add(ids, docs)
        recalls.append(recall_against_exact(ivf, exact, queries, k=10))
    assert recalls[0] < recalls[1] <= recalls[2] and recalls[2] == pytest.approx(1.0)


def test_knobs_set_after_building_reach_the_search() -> None:
    from playbook_lib.rag.index import HNSWIndex, IVFIndex, recall_against_exact

    docs, queries = clustered(4000, 32, 2), clustered(200, 32, 3)
    ids = [str(i) for i in range(len(docs))]
    exact = FlatIndex(32)
    exact.add(ids, docs)
    ivf = IVFIndex(32, nlist=32, nprobe=1)
    ivf.add(ids, docs)
    low = recall_against_exact(ivf, exact, queries, k=10)
    ivf.nprobe = 32  # one assignment: the parameters and the search both see it
    assert ivf.params["nprobe"] == 32 and recall_against_exact(ivf, exact, queries, k=10) > low
    hnsw = HNSWIndex(32, m=4, ef_construction=16, ef_search=1)
    hnsw.add(ids, docs)
    low = recall_against_exact(hnsw, exact, queries, k=10)
    hnsw.ef_search = 128
    assert hnsw.params["ef_search"] == 128 and recall_against_exact(hnsw, exact, queries, k=10) > low


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_save_and_load_roundtrip(tmp_path, kind: str) -> None:
    from playbook_lib.rag.index import load_index, make_index, save_index

    docs = clustered(300, 16, 4)
    index = make_index(kind, 16, **({"nlist": 8} if kind == "ivf" else {}))
    index.add([f"d{i}" for i in range(300)], docs)
    save_index(index, tmp_path / "idx", extra={"embedder": "test"})
    loaded, manifest = load_index(tmp_path / "idx")
    assert manifest["kind"] == kind and manifest["embedder"] == "test" and loaded.params == index.params
    a, b = index.search(docs[:5], 5), loaded.search(docs[:5], 5)
    assert a.ids == b.ids
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == ["index.faiss", "manifest.json"]


def test_load_errors_and_unknown_kind(tmp_path) -> None:
    from playbook_lib.errors import DataError, UsageError
    from playbook_lib.rag.index import load_index, make_index

    with pytest.raises(DataError, match="not a saved index"):
        load_index(tmp_path)
    with pytest.raises(UsageError, match="flat, ivf, hnsw"):
        make_index("annoy", 8)
