"""The ANN knob explorer shows, for each nprobe and efSearch, what the ANN module measures at that setting."""

from __future__ import annotations

import re

import numpy as np
import pytest

from playbook_lib.rag.ann import AnnBench, ann_sweep, clustered_vectors, one_faiss_thread, vectors_fingerprint
from playbook_lib.rag.index import FlatIndex, HNSWIndex, IVFIndex, recall_against_exact
from playbook_lib.widgets.ann_knob import ann_explorer

ROW = re.compile(
    r"<tr data-pb-row='(\w+)'><td>[^<]*</td><td>([^<]*)</td><td>([\d.]+)</td><td>([\d,]+) of ([\d,]+)</td>"
    r"<td>([\d,.]+) \("
)


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def rows(output: str) -> dict[str, tuple[str, float, int, int, float]]:
    """``{row key: (setting, recall, hits, trials, vectors compared per query)}`` as the output shows them."""
    found = {
        key: (setting, float(recall), _int(hits), _int(trials), float(d.replace(",", "")))
        for key, setting, recall, hits, trials, d in ROW.findall(output)
    }
    assert list(found) == ["exact", "ivf", "hnsw"], output[:400]
    return found


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    x = clustered_vectors(1300, dim=32, n_clusters=20, spread=1.6, seed=4)
    return x[:1200], x[1200:]


@pytest.fixture(scope="module")
def explorer(data):
    vectors, queries = data
    return ann_explorer(vectors, queries, k=10, repeats=1, source={"generated": "clustered_vectors(1300, seed=4)"})


def test_grid_ends_at_the_exhaustive_nprobe_and_each_control_changes_the_output(explorer) -> None:
    nprobes, efs = explorer.controls[0].values, explorer.controls[1].values
    assert explorer.inputs["nlist"] == 30 == nprobes[-1] and nprobes == (1, 2, 4, 8, 16, 30)  # 1200 // 39 cells
    assert efs == (10, 16, 32, 64, 128, 256)  # efSearch 8 < k is searched as k by FAISS, so it is shown as 10
    assert explorer.initial() == {"nprobe": 4, "ef_search": 32}
    ivf = [rows(explorer.output(nprobe=p, ef_search=32))["ivf"] for p in nprobes]
    hnsw = [rows(explorer.output(nprobe=4, ef_search=e))["hnsw"] for e in efs]
    assert len({r[0] for r in ivf}) == len(nprobes) and len({r[0] for r in hnsw}) == len(efs)
    assert ivf[0][1] < ivf[-1][1] == 1.0 and ivf[-1][2] == ivf[-1][3] == 10 * 100  # nprobe = nlist is exact
    assert [r[4] for r in ivf] == sorted(r[4] for r in ivf) and ivf[-1][4] == 30 + 1200  # every centroid, vector
    assert hnsw[0][1] < hnsw[-1][1] and [r[4] for r in hnsw] == sorted(r[4] for r in hnsw)
    # moving one knob leaves the other index's row alone; the exact row never moves
    assert rows(explorer.output(nprobe=1, ef_search=64))["hnsw"] == hnsw[3]
    assert {rows(explorer.output(nprobe=p, ef_search=e))["exact"] for p in nprobes for e in efs} == {
        ("all vectors", 1.0, 1000, 1000, 1200.0)
    }
    assert "machine that built this page" in explorer.output(nprobe=1, ef_search=10)


def test_recall_agrees_with_the_ann_module(data, explorer) -> None:
    vectors, queries = data
    ids = [str(i) for i in range(len(vectors))]
    with one_faiss_thread():
        exact = FlatIndex(32)
        exact.add(ids, vectors)
        ivf, hnsw = IVFIndex(32, nlist=30), HNSWIndex(32, m=16, ef_construction=40)
        ivf.add(ids, vectors)
        hnsw.add(ids, vectors)
        sweep = ann_sweep(vectors, queries, k=10, nprobes=(1, 8, 30), ef_searches=(10, 64), repeats=1)
    for nprobe in (1, 8, 30):
        ivf.nprobe = nprobe
        shown = rows(explorer.output(nprobe=nprobe, ef_search=32))["ivf"]
        assert shown[1] == round(recall_against_exact(ivf, exact, queries, 10), 4)
        assert shown[2] == sweep.loc[(sweep["knob"] == "nprobe") & (sweep["value"] == nprobe), "hits"].item()
    for ef in (10, 64):
        hnsw.ef_search = ef
        shown = rows(explorer.output(nprobe=4, ef_search=ef))["hnsw"]
        assert shown[1] == round(recall_against_exact(hnsw, exact, queries, 10), 4)
        assert shown[2] == sweep.loc[(sweep["knob"] == "efSearch") & (sweep["value"] == ef), "hits"].item()


def test_ivf_vectors_compared_are_the_centroids_plus_the_probed_cells(data, explorer) -> None:
    vectors, queries = data
    bench = AnnBench(vectors, queries, k=10)
    invlists = bench.ivf._index.invlists
    sizes = np.array([invlists.list_size(c) for c in range(bench.nlist)])
    _, cells = bench.ivf._quantizer.search(queries, 8)
    expected = bench.nlist + sizes[cells].sum(axis=1).mean()
    assert bench.ivf_point(8, repeats=1).distances == pytest.approx(expected)
    assert rows(explorer.output(nprobe=8, ef_search=32))["ivf"][4] == round(expected, 1)


def test_the_same_vectors_give_the_same_numbers_and_the_inputs_say_which(data, explorer) -> None:
    vectors, queries = data
    again = AnnBench(vectors, queries, k=10)
    for ef in (10, 32):
        shown = rows(explorer.output(nprobe=2, ef_search=ef))
        point = again.hnsw_point(ef, repeats=1)
        assert shown["hnsw"][1:] == (round(point.recall, 4), point.hits, point.trials, round(point.distances, 1))
    assert explorer.kind == "ann"
    assert (
        explorer.inputs["fingerprint"]
        == vectors_fingerprint(vectors, queries)
        != vectors_fingerprint(vectors[::-1], queries)
    )
    assert explorer.inputs["source"] == {"generated": "clustered_vectors(1300, seed=4)"}
    assert {"n": 1200, "queries": 100, "k": 10, "hnsw_m": 16, "ef_construction": 40}.items() <= explorer.inputs.items()


def test_settings_outside_the_index_are_refused(data) -> None:
    vectors, queries = data
    bench = AnnBench(vectors, queries, k=5, nlist=16)
    with pytest.raises(ValueError, match="nprobe=17"):
        bench.ivf_point(17)
    with pytest.raises(ValueError, match="efSearch=0"):
        bench.hnsw_point(0)
    with pytest.raises(ValueError, match="k=2000"):
        AnnBench(vectors, queries, k=2000)
