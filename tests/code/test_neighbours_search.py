"""Nearest-neighbour search for the embedding checks: exact below the pair limit, FAISS IVF beyond it with its
recall measured against exact search; every query gets k neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.checks import neighbours
from playbook_lib.checks.neighbours import Search, nearest, search


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def clustered() -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, 32))
    return unit(centres[rng.integers(0, 50, 6000)] + 0.3 * rng.normal(size=(6000, 32)))


def test_exact_search_is_brute_force(clustered: np.ndarray) -> None:
    queries = clustered[:100]
    sims, positions, record = search(clustered, queries, 3)
    truth = np.argsort(-(queries @ clustered.T), axis=1)[:, :3]
    assert record == Search("exact") and record.describe() == "exact"
    assert (positions == truth).mean() > 0.99 and np.allclose(sims[:, 0], 1.0, atol=1e-5)


def test_approximate_search_reports_its_recall(clustered: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(neighbours, "EXACT_PAIRS", 1000)
    sims, positions, record = search(clustered, clustered, 5)
    assert (
        record.method == "ivf"
        and record.nlist == int(min(4 * np.sqrt(6000), 6000 / 39))
        and record.nprobe >= neighbours.NPROBE
    )
    assert record.recall_queries == neighbours.RECALL_QUERIES and 0.9 <= record.recall <= 1.0
    assert positions.shape == (6000, 5) and (positions >= 0).all()  # short probes fall back to exact search
    truth = np.argsort(-(clustered @ clustered.T), axis=1)[:, :5]
    measured = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(positions, truth)])
    assert abs(measured - record.recall) < 0.05  # the sampled recall estimates the whole run's
    assert "recall" in record.describe() and "IVF" in record.describe()
    exact = search(clustered, clustered[:10], 5, exact=True)[2]
    assert exact.method == "exact"


def test_small_or_empty_inputs() -> None:
    corpus = unit(np.eye(4, 8) + 0.01)
    sims, positions = nearest(corpus, corpus[:2], k=10)
    assert positions.shape == (2, 4) and positions[0, 0] == 0
    empty = nearest(corpus, np.zeros((0, 8), np.float32), k=3)
    assert empty[0].shape == (0, 0)


def test_more_cells_are_probed_until_the_recall_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vectors with no cluster structure defeat inverted lists: 16 probed cells find far fewer than 95 % of the
    exact neighbours, so the search probes more, up to an eighth of the cells, and says what it reached."""
    rng = np.random.default_rng(1)
    flat = unit(rng.normal(size=(40000, 32)))
    monkeypatch.setattr(neighbours, "EXACT_PAIRS", 1000)
    _, _, record = search(flat, flat[:500], 5)
    assert record.nprobe > neighbours.NPROBE and record.nprobe <= max(neighbours.NPROBE, record.nlist // 8)
    assert record.recall >= neighbours.TARGET_RECALL or record.nprobe * 2 > record.nlist // 8
    monkeypatch.setattr(neighbours, "TARGET_RECALL", 0.0)
    assert search(flat, flat[:500], 5)[2].nprobe == neighbours.NPROBE  # no more cells than the target needs
