"""Vector indexes: exact inner-product search over FAISS, with string ids.

Taught in the book's *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``). Exact search comes first; the
approximate indexes of the *Design principles* page are measured against it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from playbook_lib.errors import DataError, UsageError
from playbook_lib.io.outputs import write_atomic

IndexKind = Literal["flat", "ivf", "hnsw"]


@dataclass(frozen=True)
class SearchResult:
    """Results of a batch of queries: ``ids[i]`` and ``scores[i]`` are query ``i``'s hits, best first."""

    ids: list[list[str]]
    scores: np.ndarray


class FlatIndex:
    """Exact (brute-force) inner-product index on FAISS ``IndexFlatIP``.

    With normalised vectors the inner product is the cosine similarity. Ids are arbitrary strings.
    """

    kind: IndexKind = "flat"
    #: id -> insertion position, built on first use by :meth:`positions` (rebuilt when ids were added since).
    _positions: dict[str, int]

    def __init__(self, dim: int) -> None:
        import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

        self.dim = dim
        self._index: Any = faiss.IndexFlatIP(dim)
        self._ids: list[str] = []

    @property
    def params(self) -> dict[str, int]:
        """The construction parameters, as recorded in a saved manifest."""
        return {}

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        """Ids in insertion order."""
        return list(self._ids)

    def vectors(self) -> np.ndarray:
        """All stored vectors, in insertion order (a copy), for teaching and inspection."""
        if not self._ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._index.reconstruct_n(0, len(self._ids))

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add ``vectors`` (shape ``(len(ids), dim)``) under ``ids``."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        if len(ids) != vectors.shape[0]:
            raise ValueError(f"{len(ids)} ids for {vectors.shape[0]} vectors")
        self._index.add(vectors)
        self._ids.extend(str(i) for i in ids)

    def _search_params(self, selector: Any) -> Any:
        import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

        # faiss' stub declares a bare __init__; its class_wrappers accept the fields as keyword arguments
        return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]

    def positions(self, ids: Sequence[str]) -> np.ndarray:
        """Insertion positions (FAISS' internal ids) of ``ids``; unknown ids are left out."""
        if getattr(self, "_positions", None) is None or len(self._positions) != len(self._ids):
            self._positions = {doc_id: p for p, doc_id in enumerate(self._ids)}
        return np.array([self._positions[i] for i in ids if i in self._positions], dtype=np.int64)

    def vectors_for(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of ``ids`` (all must be indexed), in the order given."""
        positions = self.positions(ids)
        if len(positions) != len(ids):
            missing = [i for i in ids if i not in self._positions]
            raise KeyError(f"ids not in the index: {missing[:5]}")
        if not len(positions):
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._index.reconstruct(int(p)) for p in positions])

    def search(self, queries: np.ndarray, k: int, allowed: Sequence[str] | None = None) -> SearchResult:
        """Return the ``k`` best ids and scores for each query row (fewer when the index is smaller).

        ``allowed`` restricts the search to those ids before ranking (pre-filtering), so ``k`` results come back
        whenever ``k`` allowed ids exist.
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        params = None
        if allowed is not None:
            import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

            selected = self.positions(allowed)
            k = min(k, len(selected))
            params = self._search_params(faiss.IDSelectorBatch(selected))
        k = min(k, len(self._ids))
        if k == 0:
            return SearchResult(ids=[[] for _ in range(len(queries))], scores=np.zeros((len(queries), 0), np.float32))
        scores, positions = self._index.search(queries, k, params=params) if params else self._index.search(queries, k)
        ids = [[self._ids[p] for p in row if p >= 0] for row in positions]
        return SearchResult(ids=ids, scores=scores)


class IVFIndex(FlatIndex):
    """Approximate search by inverted lists (FAISS ``IndexIVFFlat``, inner product).

    Vectors are clustered into ``nlist`` cells by k-means on the first :meth:`add`; a query scans only the
    ``nprobe`` nearest cells. Faster than exact search on large collections, at a recall cost measured by
    :func:`recall_against_exact` (taught on the *Design principles* page of the Model–Data Operations chapter).
    """

    kind: IndexKind = "ivf"

    def __init__(self, dim: int, nlist: int = 64, nprobe: int = 8) -> None:
        import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

        self.dim = dim
        self.nlist = nlist
        self._quantizer = faiss.IndexFlatIP(dim)
        self._index = faiss.IndexIVFFlat(self._quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        self.nprobe = nprobe
        self._ids = []

    @property
    def nprobe(self) -> int:
        """Cells scanned per query: the knob that trades speed for recall (kept in the FAISS index itself)."""
        return int(self._index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._index.nprobe = value

    @property
    def params(self) -> dict[str, int]:
        return {"nlist": self.nlist, "nprobe": self.nprobe}

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not self._index.is_trained:
            if len(vectors) < self.nlist:
                raise ValueError(f"IVF with nlist={self.nlist} needs at least {self.nlist} vectors to train")
            self._index.train(vectors)
        super().add(ids, vectors)

    def _search_params(self, selector: Any) -> Any:
        import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

        # faiss' stub declares a bare __init__; its class_wrappers accept the fields as keyword arguments
        return faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe)  # type: ignore[call-arg]

    def vectors(self) -> np.ndarray:
        raise NotImplementedError("IVF lists do not keep insertion order; keep an exact index for inspection")


class HNSWIndex(FlatIndex):
    """Approximate search on a navigable small-world graph (FAISS ``IndexHNSWFlat``, inner product).

    ``m`` links per node, ``ef_construction`` and ``ef_search`` candidate-list sizes: larger is slower and more
    accurate. Recall against exact search is measured by :func:`recall_against_exact`.
    """

    kind: IndexKind = "hnsw"

    def __init__(self, dim: int, m: int = 32, ef_construction: int = 80, ef_search: int = 64) -> None:
        import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

        self.dim = dim
        self.m = m
        self.ef_construction = ef_construction
        self._index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        self._index.hnsw.efConstruction = ef_construction
        self.ef_search = ef_search
        self._ids = []

    @property
    def ef_search(self) -> int:
        """Candidate-list size per query: the knob that trades speed for recall (kept in the FAISS index itself)."""
        return int(self._index.hnsw.efSearch)

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self._index.hnsw.efSearch = value

    def _search_params(self, selector: Any) -> Any:
        import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

        # faiss' stub omits SearchParametersHNSW (the extension module has it, keyword fields as above)
        return faiss.SearchParametersHNSW(sel=selector, efSearch=self.ef_search)  # type: ignore[attr-defined]

    @property
    def params(self) -> dict[str, int]:
        return {"m": self.m, "ef_construction": self.ef_construction, "ef_search": self.ef_search}


_KINDS: dict[str, type[FlatIndex]] = {"flat": FlatIndex, "ivf": IVFIndex, "hnsw": HNSWIndex}


def make_index(kind: str, dim: int, **params: int) -> FlatIndex:
    """Build an empty index of ``kind`` (``flat``, ``ivf`` or ``hnsw``) with its parameters."""
    if kind not in _KINDS:
        raise UsageError(f"unknown index kind {kind!r}; choose one of {', '.join(_KINDS)}")
    return _KINDS[kind](dim, **params)


def recall_against_exact(approx: FlatIndex, exact: FlatIndex, queries: np.ndarray, k: int = 10) -> float:
    """Share of the exact top-``k`` neighbours that the approximate index also returns, averaged over queries."""
    truth = exact.search(queries, k).ids
    found = approx.search(queries, k).ids
    return float(np.mean([len(set(t) & set(f)) / len(t) for t, f in zip(truth, found) if t]))


def save_index(index: FlatIndex, folder: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``index.faiss`` and ``manifest.json`` (kind, parameters, dim, ids, ``extra``) into ``folder``.

    Files are written to temporaries and renamed, so a crash never leaves a half-written index behind.
    """
    import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": 1,
        "kind": index.kind,
        "params": index.params,
        "dim": index.dim,
        "count": len(index),
        "ids": index.ids,
        **(extra or {}),
    }
    write_atomic(folder / "index.faiss", faiss.serialize_index(index._index).tobytes(), what="the index")
    write_atomic(folder / "manifest.json", json.dumps(manifest, indent=1), what="the index manifest")
    return folder


def load_index(folder: str | Path) -> tuple[FlatIndex, dict[str, Any]]:
    """Read an index saved by :func:`save_index`; returns the index and its manifest."""
    import faiss  # lazy: faiss is heavy, kept out of `import playbook_lib`

    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        raw = faiss.read_index(str(folder / "index.faiss"))
    except FileNotFoundError as exc:
        raise DataError(f"{folder}: not a saved index ({Path(exc.filename).name} missing)") from None
    except (json.JSONDecodeError, RuntimeError) as exc:
        raise DataError(f"{folder}: corrupt saved index ({str(exc).splitlines()[0]})") from None
    index = make_index(manifest["kind"], manifest["dim"], **manifest["params"])
    index._index = raw
    if manifest["kind"] == "hnsw":
        index.ef_search = manifest["params"]["ef_search"]  # type: ignore[attr-defined]
    elif manifest["kind"] == "ivf":
        index.nprobe = manifest["params"]["nprobe"]  # type: ignore[attr-defined]
    index._ids = [str(i) for i in manifest["ids"]]
    if raw.ntotal != len(index._ids):
        raise DataError(f"{folder}: index holds {raw.ntotal} vectors but the manifest lists {len(index._ids)} ids")
    return index, manifest
