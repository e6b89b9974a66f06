"""Interactive controls for the Model–Data Operations pages: switch retrievers behind one interface.

Used on the *Core components* page (``notebooks/ops_03_core_components.ipynb``). Controls only; retrieval lives in
``playbook_lib.rag``. Every setting (retriever, query, k) is ranked when the explorer is made, so the published page
switches between them without a kernel (:mod:`playbook_lib.widgets.explorer`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from playbook_lib.rag.evaluate import evaluate_run
from playbook_lib.widgets.explorer import Explorer, choice, slider
from playbook_lib.widgets.rag import hits_html, query_choices

if TYPE_CHECKING:
    from playbook_lib.rag.retrieve import Retriever


def retriever_switch(
    retrievers: Mapping[str, Retriever],
    query: str,
    k: int = 5,
    queries: Sequence[str] = (),
    max_k: int = 5,
    corpus: str = "",
) -> Explorer:
    """A method menu, a query menu (``query`` and up to five of ``queries``) and a k slider over the hits."""
    if not retrievers:
        raise ValueError("retriever_switch needs at least one retriever")
    options = query_choices(query, queries)
    k = max(1, min(k, max_k))

    def render(method: str, query: str, k: int) -> str:
        return hits_html(retrievers[method].retrieve(query, int(k)))

    return Explorer(
        render,
        [
            choice("method", list(retrievers)),
            choice("query", options, options[0]),
            slider("k", list(range(1, max_k + 1)), k, fmt="{:d}"),
        ],
        kind="retrieval",
        caption="Pick a retriever, a query and k: the hits each one ranks, behind the same interface.",
        inputs={"corpus": corpus, "methods": {name: type(r).__name__ for name, r in retrievers.items()}},
    )


#: The metrics the fusion explorer shows, as :func:`playbook_lib.rag.evaluate.evaluate_run` names them.
FUSION_METRICS = ("nDCG@10", "Recall@10", "MRR@10")
#: The fusion explorer's dense weights: 0 (keyword only) to 1 (dense only) in steps of 0.1.
FUSION_WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))


def fusion_html(run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], weight: float) -> str:
    """An HTML table of a weighted-fusion run's ranking metrics (nDCG@10, recall@10, MRR@10) at ``weight``."""
    metrics = evaluate_run(run, {q: dict(qrels[q]) for q in run if q in qrels}, (10,))
    cells = "".join(f"<td>{metrics[m]:.4f}</td>" for m in FUSION_METRICS if m in metrics)
    heads = "".join(f"<th>{m}</th>" for m in FUSION_METRICS if m in metrics)
    return (
        f"<table class='dataframe'><thead><tr><th>dense weight</th><th>BM25 weight</th>{heads}</tr></thead>"
        f"<tbody><tr><td>{weight:.2f}</td><td>{1 - weight:.2f}</td>{cells}</tr></tbody></table>"
    )


def fusion_explorer(
    dense: Retriever,
    keyword: Retriever,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    weight: float = 0.5,
    weights: Sequence[float] = FUSION_WEIGHTS,
    corpus: str = "",
) -> Explorer:
    """A slider for the dense retriever's weight in a weighted (normalised score) fusion with a keyword one; each
    weight's ranking quality over ``queries`` (0 = keyword only, 1 = dense only)."""
    from playbook_lib.rag.hybrid import HybridRetriever  # lazy: the switch above does not need it

    def render(weight: float) -> str:
        fused = HybridRetriever([dense, keyword], method="weighted", weights=[weight, 1 - weight])
        run = {qid: [h.doc_id for h in fused.retrieve(text, 10)] for qid, text in queries.items()}
        return fusion_html(run, qrels, weight)

    return Explorer(
        render,
        [slider("weight", sorted({*weights, weight}), weight, label="dense weight", fmt="{:.2f}")],
        kind="fusion",
        caption=f"Move the fusion weight: ranking quality over {len(queries)} judged questions.",
        inputs={
            "corpus": corpus,
            "queries": dict(queries),
            "qrels": {q: dict(qrels[q]) for q in queries if q in qrels},
            "keyword": {"stem": getattr(keyword, "stem", None)},
        },
    )


__all__ = ["FUSION_METRICS", "FUSION_WEIGHTS", "fusion_explorer", "fusion_html", "retriever_switch"]
