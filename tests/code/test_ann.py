"""The ANN sweep measures recall against exact search: it rises with nprobe/efSearch and reaches 1.0."""

from __future__ import annotations

import numpy as np

from playbook_lib.rag.ann import ann_sweep, clustered_vectors, plot_ann_sweep


def test_clustered_vectors_are_unit_and_clustered() -> None:
    x = clustered_vectors(2000, dim=32, n_clusters=10, seed=0)
    assert x.shape == (2000, 32) and np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    sims = x[:200] @ x[:200].T
    assert np.percentile(sims, 99) > 0.3 > np.percentile(sims, 50)  # near neighbours exist, most pairs are far


def test_sweep_recall_rises_with_the_knob() -> None:
    x = clustered_vectors(3000, dim=32, n_clusters=20, seed=1)
    frame = ann_sweep(x[:2900], x[2900:], k=10, nprobes=(1, 4, 76), ef_searches=(4, 256), repeats=1)
    ivf = frame[frame["knob"] == "nprobe"]
    hnsw = frame[frame["knob"] == "efSearch"]
    assert list(ivf["value"]) == [1, 4] or list(ivf["value"]) == [1, 4, 76]
    assert ivf["recall@10"].is_monotonic_increasing and ivf["recall@10"].iloc[0] < 1.0
    assert hnsw["recall@10"].iloc[-1] >= 0.99 and hnsw["recall@10"].iloc[0] < hnsw["recall@10"].iloc[-1]
    assert frame.loc[0, "index"] == "exact (flat)" and frame.loc[0, "recall@10"] == 1.0
    assert plot_ann_sweep(frame).axes[0].get_xscale() == "log"


def test_nprobe_equal_to_nlist_is_exact() -> None:
    x = clustered_vectors(1000, dim=16, n_clusters=5, seed=2)
    frame = ann_sweep(x[:950], x[950:], k=5, nlist=8, nprobes=(8, 9), ef_searches=(16,), repeats=1)
    ivf = frame[frame["knob"] == "nprobe"]
    assert list(ivf["value"]) == [8] and ivf["recall@5"].iloc[0] == 1.0  # 9 > nlist is dropped
