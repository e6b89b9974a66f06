"""Approximate nearest-neighbour search, measured: recall against exact search and time per query, swept over the
knob that trades one for the other (IVF ``nprobe``, HNSW ``efSearch``).

Taught in the book's *Design principles* page (``notebooks/ops_08_design_principles.ipynb``). When a corpus is
too small for approximate search to matter, :func:`clustered_vectors` makes a larger, structured stand-in.
:class:`AnnBench` measures one setting at a time, counting the distances each query computed as well (the
deterministic part of a setting's cost), for the page's knob control (:mod:`playbook_lib.widgets.ann_knob`).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


def default_nlist(n: int) -> int:
    """IVF cells for ``n`` vectors: about ``4 * sqrt(n)``, capped at ``n / 39`` (FAISS wants 39 training points per
    cell), at least one."""
    return max(1, min(int(4 * np.sqrt(n)), n // 39))


def vectors_fingerprint(*arrays: np.ndarray) -> str:
    """A short hash of the arrays' shapes and float32 bytes: the same vectors give the same fingerprint."""
    digest = hashlib.sha256()
    for array in arrays:
        data = np.ascontiguousarray(array, dtype=np.float32)
        digest.update(repr(data.shape).encode())
        digest.update(data.tobytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def one_faiss_thread() -> Iterator[None]:
    """Run FAISS on one thread inside the block (restoring the previous count after it).

    An HNSW graph built by several threads depends on their interleaving; built on one, the same vectors always give
    the same graph, so a setting's recall and distance count can be recomputed exactly elsewhere.
    """
    import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


@dataclass(frozen=True)
class AnnPoint:
    """One index at one knob setting, measured on a batch of queries.

    ``hits`` of the exact top-``k`` neighbours were found, out of ``trials`` (``k`` per query); ``distances`` is the
    mean number of vectors each query was compared with (IVF: its ``nlist`` centroids plus the vectors of the
    ``nprobe`` cells it scanned; HNSW: the graph nodes it scored; exact: every vector): the deterministic part of
    the cost. ``ms`` is the time per query on the machine that measured it (one thread, best of the repeats).
    """

    index: str
    knob: str
    value: int
    hits: int
    trials: int
    distances: float
    ms: float

    @property
    def recall(self) -> float:
        """Share of the exact top-``k`` found (recall@k against exact search)."""
        return self.hits / self.trials if self.trials else float("nan")


class AnnBench:
    """Exact, IVF and HNSW indexes over ``vectors``, built once on one FAISS thread, measured one setting at a time.

    ``nlist`` defaults to :func:`default_nlist` and the HNSW parameters to :func:`ann_sweep`'s, so a point agrees
    with that sweep's row for the same knob value. Building and searching on one thread makes ``hits`` and
    ``distances`` reproducible: the same vectors and parameters give the same numbers on any run.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        queries: np.ndarray,
        k: int = 10,
        nlist: int | None = None,
        hnsw_m: int = 16,
        ef_construction: int = 40,
    ) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        n, dim = vectors.shape
        if k < 1 or k > n:
            raise ValueError(f"k={k} must be between 1 and the number of vectors ({n})")
        self.n, self.k = n, k
        self.nlist = nlist or default_nlist(n)
        self.hnsw_m, self.ef_construction = hnsw_m, ef_construction
        ids = [str(i) for i in range(n)]
        with one_faiss_thread():
            self.exact = FlatIndex(dim)
            self.exact.add(ids, vectors)
            self.ivf = IVFIndex(dim, nlist=self.nlist, nprobe=1)
            self.ivf.add(ids, vectors)
            self.hnsw = HNSWIndex(dim, m=hnsw_m, ef_construction=ef_construction, ef_search=k)
            self.hnsw.add(ids, vectors)
            self.truth = [set(row) for row in self.exact.search(self.queries, k).ids]

    @property
    def params(self) -> dict[str, int]:
        """What the indexes were built with (with the vector and query counts)."""
        return {
            "n": self.n,
            "queries": len(self.queries),
            "k": self.k,
            "nlist": self.nlist,
            "hnsw_m": self.hnsw_m,
            "ef_construction": self.ef_construction,
        }

    def _measure(self, index: FlatIndex, label: str, knob: str, value: int, repeats: int) -> AnnPoint:
        import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

        with one_faiss_thread():
            # faiss' stub omits the search statistics (the extension module has them)
            cvar: Any = faiss.cvar
            stats = cvar.indexIVF_stats if index is self.ivf else cvar.hnsw_stats
            stats.reset()
            found = index.search(self.queries, self.k).ids
            if index is self.exact:
                distances = float(self.n)
            elif index is self.ivf:
                distances = self.nlist + stats.ndis / len(self.queries)
            else:
                distances = stats.ndis / len(self.queries)
            ms = _ms_per_query(index, self.queries, self.k, max(1, repeats))
        hits = sum(len(t & set(f)) for t, f in zip(self.truth, found, strict=True))
        return AnnPoint(label, knob, value, hits, sum(len(t) for t in self.truth), distances, ms)

    def exact_point(self, repeats: int = 3) -> AnnPoint:
        """Exact search: every vector scored, recall 1 by definition."""
        return self._measure(self.exact, "exact (flat)", "-", 0, repeats)

    def ivf_point(self, nprobe: int, repeats: int = 3) -> AnnPoint:
        """IVF scanning ``nprobe`` of its ``nlist`` cells (``nprobe = nlist`` scans them all: exact)."""
        if not 1 <= nprobe <= self.nlist:
            raise ValueError(f"nprobe={nprobe} must be between 1 and nlist={self.nlist}")
        self.ivf.nprobe = nprobe
        return self._measure(self.ivf, f"IVF (nlist={self.nlist})", "nprobe", nprobe, repeats)

    def hnsw_point(self, ef_search: int, repeats: int = 3) -> AnnPoint:
        """HNSW keeping ``ef_search`` candidates per query (FAISS uses at least ``k``)."""
        if ef_search < 1:
            raise ValueError(f"efSearch={ef_search} must be at least 1")
        self.hnsw.ef_search = ef_search
        return self._measure(self.hnsw, f"HNSW (M={self.hnsw_m})", "efSearch", ef_search, repeats)


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
    nlist = nlist or default_nlist(n)

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
