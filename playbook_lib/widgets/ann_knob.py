"""The approximate-search knob as a control that works without a kernel: IVF ``nprobe`` and HNSW ``efSearch``.

Used on the *Design principles* page (``notebooks/ops_08_design_principles.ipynb``). Every setting on the grid is
measured by :class:`playbook_lib.rag.ann.AnnBench` when the explorer is made (recall@k against exact search, the
exact neighbours found, the vectors each query was compared with, the time per query), so moving a slider on the
published page shows that setting's measurement (:mod:`playbook_lib.widgets.explorer`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np

from playbook_lib.rag.ann import AnnBench, AnnPoint, vectors_fingerprint
from playbook_lib.widgets.explorer import Explorer, slider

#: The knob values offered by default (``nprobe`` values above ``nlist`` are dropped and ``nlist`` itself added;
#: ``efSearch`` values below ``k`` are raised to ``k``, as FAISS does).
NPROBES = (1, 2, 4, 8, 16, 32, 64)
EF_SEARCHES = (8, 16, 32, 64, 128, 256)

#: The rows' keys in the output (``data-pb-row``), in order.
ROWS = ("exact", "ivf", "hnsw")


def ann_points_html(points: Sequence[AnnPoint], n: int, k: int) -> str:
    """A compact HTML table of measured settings: recall@k, exact neighbours found, vectors compared per query (and
    as a share of all ``n``), time per query; one row per point, keyed ``data-pb-row`` by :data:`ROWS` in order."""
    rows = []
    for key, p in zip(ROWS, points, strict=False):
        setting = "all vectors" if p.knob == "-" else f"{p.knob}={p.value}"
        rows.append(
            f"<tr data-pb-row='{key}'><td>{html.escape(p.index)}</td><td>{html.escape(setting)}</td>"
            f"<td>{p.recall:.4f}</td><td>{p.hits:,} of {p.trials:,}</td>"
            f"<td>{p.distances:,.1f} ({p.distances / n:.1%})</td><td>{p.ms:.4f}</td></tr>"
        )
    return (
        "<table class='dataframe'><thead><tr><th>index</th><th>setting</th>"
        f"<th>recall@{k}</th><th>exact top-{k} found</th><th>vectors compared per query (of {n:,})</th>"
        f"<th>ms per query*</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "<p style='font-size:0.85em'>* measured on the machine that built this page (one thread, best of the "
        "repeats): it varies from run to run. Recall, neighbours found and vectors compared do not.</p>"
    )


def _grid(values: Sequence[int], low: int, high: int | None = None) -> list[int]:
    clipped = {max(low, int(v)) for v in values if high is None or v <= high}
    return sorted(clipped | ({high} if high is not None else set()))


def ann_explorer(
    vectors: np.ndarray,
    queries: np.ndarray,
    *,
    k: int = 10,
    nprobes: Sequence[int] = NPROBES,
    ef_searches: Sequence[int] = EF_SEARCHES,
    nprobe: int = 4,
    ef_search: int = 32,
    nlist: int | None = None,
    hnsw_m: int = 16,
    ef_construction: int = 40,
    repeats: int = 3,
    source: Mapping[str, object] | None = None,
) -> Explorer:
    """An ``nprobe`` slider (IVF) and an ``efSearch`` slider (HNSW) over ``vectors`` searched with ``queries``.

    Each setting shows exact search, IVF at that ``nprobe`` and HNSW at that ``efSearch``, measured against exact
    search by :class:`~playbook_lib.rag.ann.AnnBench` (built once, on one thread, with :func:`ann_sweep`'s default
    parameters). The ``nprobe`` grid always ends at ``nlist``, the exhaustive setting. ``nprobe`` and
    ``ef_search`` are the initial values (moved to the nearest grid value). ``source`` says where the vectors came
    from (e.g. the corpus path, the counts, the embedder); it travels in the explorer's inputs with the indexes'
    parameters and a fingerprint of the vectors, so that a test can rebuild the vectors and recompute any setting.
    """
    bench = AnnBench(vectors, queries, k=k, nlist=nlist, hnsw_m=hnsw_m, ef_construction=ef_construction)
    probe_grid = _grid(nprobes, 1, bench.nlist)
    ef_grid = _grid(ef_searches, k)
    exact = bench.exact_point(repeats)
    ivf = {p: bench.ivf_point(p, repeats) for p in probe_grid}
    hnsw = {e: bench.hnsw_point(e, repeats) for e in ef_grid}

    def nearest(grid: list[int], value: int) -> int:
        return min(grid, key=lambda v: (abs(np.log(v / max(value, 1))), v))

    def render(nprobe: int, ef_search: int) -> str:
        return ann_points_html([exact, ivf[int(nprobe)], hnsw[int(ef_search)]], bench.n, k)

    return Explorer(
        render,
        [
            slider("nprobe", probe_grid, nearest(probe_grid, nprobe), label="IVF nprobe", fmt="{:d}"),
            slider("ef_search", ef_grid, nearest(ef_grid, ef_search), label="HNSW efSearch", fmt="{:d}"),
        ],
        kind="ann",
        caption=f"Move the knobs: recall@{k} against exact search and the cost of each setting, measured on "
        f"{bench.n:,} vectors and {len(bench.queries):,} queries when this page was built.",
        inputs={
            "source": dict(source or {}),
            "fingerprint": vectors_fingerprint(vectors, queries),
            **bench.params,
        },
    )


__all__ = ["EF_SEARCHES", "NPROBES", "ROWS", "ann_explorer", "ann_points_html"]
