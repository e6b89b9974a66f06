"""The duplicate-share explorer of the *Why operations matter* page (``notebooks/ops_02_why_ops_matter.ipynb``).

Two sliders: ``duplicate_share``, the share of documents exported twice into the careless corpus
(:func:`~playbook_lib.scenarios.operations.add_noisy_duplicates`), and ``k``, the passages retrieved per question.
At every share on the grid, when the cell runs, the careless corpus is built, curated
(:func:`~playbook_lib.ops.curate.curate`), both are indexed densely and every question is asked once at the largest
``k``; each ``k`` then cuts those rankings. Each setting shows what the page measures for deduplication: passages
and copies indexed, distinct sources and repeated documents in the top ``k``, and context recall@k
(:func:`~playbook_lib.scenarios.operations.context_recall`), careless beside curated. The published page moves
between settings without a kernel (:mod:`playbook_lib.widgets.explorer`).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from playbook_lib.ops.curate import curate
from playbook_lib.rag.retrieve import DenseRetriever
from playbook_lib.scenarios.operations import add_noisy_duplicates, context_recall, source_ids
from playbook_lib.widgets.explorer import Explorer, slider

if TYPE_CHECKING:
    from playbook_lib.embeddings.model import Embedder
    from playbook_lib.rag.corpus import Document
    from playbook_lib.rag.retrieve import Hit

#: The explorer's duplicate shares (the page's default, 0.3, is one of them).
DUPLICATE_SHARES = (0.0, 0.15, 0.3, 0.45, 0.6)
#: The explorer's largest k.
DUPLICATES_MAX_K = 5


@dataclass(frozen=True)
class CorpusRun:
    """One indexed corpus and its rankings: how many passages (and copies) it indexed, each question's hits."""

    name: str
    passages: int
    copies: int
    hits: dict[str, list[Hit]]


def duplicate_runs(
    documents: Sequence[Document],
    queries: Mapping[str, str],
    embedder: Embedder,
    share: float,
    k: int,
    seed: int = 0,
    vectors: dict[str, np.ndarray] | None = None,
) -> tuple[CorpusRun, CorpusRun, int]:
    """The careless corpus (``documents`` plus copies of ``share`` of them) and its curated version, each indexed
    densely with ``embedder`` and asked every question for its top ``k``; and how many documents curation removed.

    ``vectors`` (text -> vector, filled here) lets several shares embed each distinct passage text once.
    """
    noisy = add_noisy_duplicates(documents, share, seed=seed)
    curated = curate(noisy)
    runs = []
    for name, passages in (("careless", noisy), ("curated", curated.kept)):
        if vectors is None:
            retriever = DenseRetriever.from_documents(passages, embedder)
        else:
            texts = [p.full_text for p in passages]
            missing = list(dict.fromkeys(t for t in texts if t not in vectors))
            if missing:
                vectors.update(zip(missing, embedder.embed_documents(missing), strict=True))
            retriever = DenseRetriever.from_vectors(passages, np.stack([vectors[t] for t in texts]), embedder)
        ranked = retriever.retrieve_many(list(queries.values()), k)
        copies = sum("duplicate_of" in p.metadata for p in passages)
        runs.append(CorpusRun(name, len(passages), copies, dict(zip(queries, ranked, strict=True))))
    return runs[0], runs[1], curated.n_removed


def _repeated(hits: Sequence[Hit]) -> float:
    """Share of the hits whose document an earlier hit already put in the context."""
    seen: set[str] = set()
    repeats = 0
    for h in hits:
        ids = set(source_ids(h))
        repeats += ids <= seen
        seen |= ids
    return repeats / len(hits) if hits else 0.0


def duplicates_html(
    careless: CorpusRun,
    curated: CorpusRun,
    qrels: Mapping[str, Mapping[str, int]],
    removed: int,
    share: float,
    k: int,
) -> str:
    """The deduplication measures at ``k`` (each run's hits cut to their top ``k``), careless beside curated."""
    cells = []
    for run in (careless, curated):
        top = {q: hs[:k] for q, hs in run.hits.items()}
        distinct = statistics.mean(len({s for h in hs for s in source_ids(h)}) for hs in top.values())
        repeated = statistics.mean(_repeated(hs) for hs in top.values())
        recall = statistics.mean(context_recall(hs, qrels.get(q, {})) for q, hs in top.items())
        cells.append(
            f"<tr data-pb-row='{run.name}'><th>{run.name}</th><td>{run.passages}</td><td>{run.copies}</td>"
            f"<td>{distinct:.2f}</td><td>{repeated:.1%}</td><td>{recall:.3f}</td></tr>"
        )
    copies = careless.copies
    return (
        f"<p>duplicate_share {share:g}: the careless corpus indexes {careless.passages} passages, {copies} of them "
        f"second exports; curation removed {removed}. Over {len(careless.hits)} questions, top {k}:</p>"
        "<table class='dataframe'><thead><tr><th>corpus</th><th>passages indexed</th><th>copies indexed</th>"
        f"<th>distinct sources in top {k}</th><th>top-{k} slots repeating a document</th>"
        f"<th>context recall@{k}</th></tr></thead><tbody>{''.join(cells)}</tbody></table>"
        "<p>A copy in the top k takes a slot a distinct document would fill; curation gives it back.</p>"
    )


def duplicates_explorer(
    documents: Sequence[Document],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    embedder: Embedder,
    *,
    share: float = 0.3,
    k: int = 3,
    shares: Sequence[float] = DUPLICATE_SHARES,
    max_k: int = DUPLICATES_MAX_K,
    corpus: str = "",
) -> Explorer:
    """Sliders for the duplicate share and k; each setting shows :func:`duplicates_html` for the page's corpus.

    Every share is indexed and asked once, at ``max_k``, when the explorer is made (the page's ``share`` and ``k``
    join the grids). ``corpus`` names the documents (``"bundled"`` for the Heronsgate knowledge base) and travels
    with the questions and judgements in the explorer's inputs, so that a test can rebuild every setting.
    """
    grid = sorted({*shares, share})
    top = max(max_k, k)
    cache: dict[str, np.ndarray] = {}
    runs = {s: duplicate_runs(documents, queries, embedder, s, top, vectors=cache) for s in grid}

    def render(duplicate_share: float, k: int) -> str:
        careless, curated, removed = runs[duplicate_share]
        return duplicates_html(careless, curated, qrels, removed, duplicate_share, int(k))

    return Explorer(
        render,
        [
            slider("duplicate_share", grid, share, label="duplicate share", fmt="{:.2f}"),
            slider("k", list(range(1, top + 1)), k, label="passages retrieved (k)", fmt="{:d}"),
        ],
        kind="duplicates",
        caption="Move the share of documents exported twice and k: what the copies cost the top-k context, "
        "before and after curation.",
        inputs={"corpus": corpus, "queries": dict(queries), "qrels": {q: dict(qrels.get(q, {})) for q in queries}},
    )


__all__ = [
    "DUPLICATES_MAX_K",
    "DUPLICATE_SHARES",
    "CorpusRun",
    "duplicate_runs",
    "duplicates_explorer",
    "duplicates_html",
]
