"""Approximate nearest-neighbour search, measured: recall against exact search and time per query, swept over the
knob that trades one for the other (IVF ``nprobe``, HNSW ``efSearch``).

Taught in the book's *Design principles* page (``notebooks/ops_08_design_principles.ipynb``). When a corpus is
too small for approximate search to matter, :func:`clustered_vectors` makes a larger, structured stand-in.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from playbook_lib.rag.index import FlatIndex, HNSWIndex, IVFIndex, recall_against_exact

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def clustered_vectors(n: int, dim: int = 384, n_clusters: int = 50, spread: float = 1.4, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors drawn around ``n_clusters`` random centres (Gaussian noise of total length about
    ``spread``).

    Real embeddings cluster by topic; uniformly random vectors do not, and make every index look bad.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((n, dim)).astype(np.float32) * (spread / np.sqrt(dim))
    points = centres[rng.integers(0, n_clusters, n)] + noise
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def _ms_per_query(index: FlatIndex, queries: np.ndarray, k: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        index.search(queries, k)
        best = min(best, time.perf_counter() - start)
    return 1000 * best / len(queries)


def _paired_rounds(exact: FlatIndex, index: FlatIndex, queries: np.ndarray, k: int, rounds: int) -> np.ndarray:
    """``rounds`` paired timings, exact then approximate back to back (order alternating by round, so drift in the
    machine's load hits both alike): one ``log(exact time / index time)`` per round."""
    logs = []
    for r in range(max(1, rounds)):
        order = (exact, index) if r % 2 == 0 else (index, exact)
        seconds = {}
        for which in order:
            start = time.perf_counter()
            which.search(queries, k)
            seconds[id(which)] = time.perf_counter() - start
        logs.append(np.log(seconds[id(exact)] / max(seconds[id(index)], 1e-12)))
    return np.asarray(logs)


def ann_sweep(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int = 10,
    nlist: int | None = None,
    nprobes: Sequence[int] = (1, 2, 4, 8, 16, 32),
    hnsw_m: int = 16,
    ef_construction: int = 40,
    ef_searches: Sequence[int] = (8, 16, 32, 64, 128),
    repeats: int = 3,
) -> pd.DataFrame:
    """Build exact, IVF and HNSW indexes over ``vectors`` and measure each setting on ``queries``.

    Returns one row per (index, setting): ``recall@k`` against exact search (``hits`` of the exact top-``k``
    found, out of ``trials`` = ``k`` times the queries, for an interval), ``ms/query`` (best of ``repeats``
    batched runs) and ``speedup`` over exact search: the geometric mean over ``repeats`` paired rounds (exact and
    approximate timed back to back), with ``log_speedup_sd`` and ``rounds`` so that a verdict can put an interval
    on it (:func:`playbook_lib.experiments.ann_claim.ann_recall_verdicts`). ``nlist`` defaults to about
    ``4 * sqrt(n)``, capped at ``n / 39`` (FAISS wants 39 training points per list); ``nprobe`` values
    above ``nlist`` are dropped.
    """
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    n, dim = vectors.shape
    ids = [str(i) for i in range(n)]
    exact = FlatIndex(dim)
    exact.add(ids, vectors)
    exact_ms = _ms_per_query(exact, queries, k, repeats)
    rows = [
        {
            "index": "exact (flat)",
            "knob": "-",
            "value": 0,
            f"recall@{k}": 1.0,
            "hits": k * len(queries),
            "trials": k * len(queries),
            "ms/query": exact_ms,
            "speedup": 1.0,
            "log_speedup_sd": 0.0,
            "rounds": repeats,
            "build s": 0.0,
        }
    ]
    nlist = nlist or max(1, min(int(4 * np.sqrt(n)), n // 39))

    def sweep(label: str, index: FlatIndex, attr: str, knob: str, values: Sequence[int]) -> None:
        start = time.perf_counter()
        index.add(ids, vectors)
        build = time.perf_counter() - start
        for value in values:
            setattr(index, attr, value)
            ms = _ms_per_query(index, queries, k, repeats)
            recall = recall_against_exact(index, exact, queries, k)
            logs = _paired_rounds(exact, index, queries, k, repeats)
            rows.append(
                {
                    "index": label,
                    "knob": knob,
                    "value": value,
                    f"recall@{k}": recall,
                    "hits": int(round(recall * k * len(queries))),
                    "trials": k * len(queries),
                    "ms/query": ms,
                    "speedup": float(np.exp(logs.mean())),
                    "log_speedup_sd": float(logs.std(ddof=1)) if logs.size > 1 else float("nan"),
                    "rounds": int(logs.size),
                    "build s": build,
                }
            )

    sweep(
        f"IVF (nlist={nlist})",
        IVFIndex(dim, nlist=nlist, nprobe=1),
        "nprobe",
        "nprobe",
        [p for p in nprobes if p <= nlist],
    )
    sweep(
        f"HNSW (M={hnsw_m})",
        HNSWIndex(dim, m=hnsw_m, ef_construction=ef_construction, ef_search=ef_searches[0]),
        "ef_search",
        "efSearch",
        ef_searches,
    )
    frame = pd.DataFrame(rows)
    return frame.round({f"recall@{k}": 4, "ms/query": 4, "build s": 2})


def plot_ann_sweep(frame: pd.DataFrame, title: str = "") -> Figure:
    """Recall against time per query, one line per index type, each point labelled with its knob value."""
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    recall = next(c for c in frame.columns if c.startswith("recall@"))
    # sized for a book page (about 800 px wide): labels at 9-11 pt stay legible at that width
    fig, ax = plt.subplots(figsize=(8, 5))
    for n, (name, group) in enumerate(frame.groupby("index", sort=False)):
        style = "s" if group["knob"].iloc[0] == "-" else "o-"
        ax.plot(group["ms/query"], group[recall], style, label=name)
        # labels of alternate lines go below and above their points, so that crossing lines do not overprint
        offset = (4, -13) if n % 2 else (-4, 6)
        for _, row in group.iterrows():
            if row["knob"] != "-":
                ax.annotate(
                    f"{row['knob']}={row['value']}",
                    (row["ms/query"], row[recall]),
                    fontsize=9,
                    textcoords="offset points",
                    xytext=offset,
                    ha="left" if n % 2 else "right",
                )
    ax.set_xscale("log")
    ax.set_xlabel("time per query (ms, log scale)", fontsize=11)
    ax.set_ylabel(f"{recall} against exact search", fontsize=11)
    ax.tick_params(labelsize=10)
    ax.set_ylim(min(0.0, float(frame[recall].min())) - 0.02, 1.08)  # room for the labels above the points
    ax.set_title(title or "Approximate search: recall bought with time", fontsize=12)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=10, loc="lower right")
    fig.tight_layout()
    return fig
