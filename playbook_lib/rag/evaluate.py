"""Retrieval metrics from graded judgements (qrels): nDCG@k, Recall@k, MRR.

Taught in the book's *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``). Definitions follow
``trec_eval``/BEIR: gain is the judged grade, discount ``1/log2(rank + 1)``, the ideal ranking sorts the judged
grades; queries without a positive judgement are skipped.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playbook_lib.rag.retrieve import Hit, Retriever

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Sequence[str]]


def ndcg_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """nDCG@k of one ranked id list against ``{doc_id: grade}``."""
    dcg = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents (grade > 0) found in the top ``k``."""
    relevant = {d for d, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], judged: Mapping[str, int], k: int | None = None) -> float:
    """1 / rank of the first relevant document (0 when none is in the top ``k``)."""
    for rank, doc in enumerate(ranked[:k] if k else ranked, start=1):
        if judged.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def evaluate_run(run: Run, qrels: Qrels, ks: Sequence[int] = (10, 100)) -> dict[str, float]:
    """Mean nDCG@k, Recall@k (for each ``k``) and MRR@max(k) over the queries of ``qrels`` with a relevant document.

    A query missing from ``run`` scores 0, so a retriever cannot look better by skipping hard queries.
    """
    scored = [q for q, judged in qrels.items() if any(g > 0 for g in judged.values())]
    if not scored:
        raise ValueError("no query has a relevant judgement")
    out: dict[str, float] = {}
    for k in ks:
        out[f"nDCG@{k}"] = sum(ndcg_at_k(run.get(q, []), qrels[q], k) for q in scored) / len(scored)
        out[f"Recall@{k}"] = sum(recall_at_k(run.get(q, []), qrels[q], k) for q in scored) / len(scored)
    out[f"MRR@{max(ks)}"] = sum(reciprocal_rank(run.get(q, []), qrels[q], max(ks)) for q in scored) / len(scored)
    return out


@dataclass(frozen=True)
class RetrievalReport:
    """Quality and speed of one retriever on one benchmark."""

    method: str
    metrics: dict[str, float]
    latency_ms_p50: float
    latency_ms_p95: float
    n_queries: int
    #: the ranked ids per query and each query's latency, for pooling reports or per-query analysis
    run: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    latencies_ms: list[float] = field(default_factory=list, repr=False, compare=False)

    def row(self) -> dict[str, float | str | int]:
        """One flat row for a table."""
        return {
            "method": self.method,
            **{k: round(v, 4) for k, v in self.metrics.items()},
            "p50 ms": round(self.latency_ms_p50, 2),
            "p95 ms": round(self.latency_ms_p95, 2),
            "queries": self.n_queries,
        }


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (``q`` in (0, 100]) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def report_from_run(
    method: str,
    run: Mapping[str, Sequence[str]],
    latencies_ms: Sequence[float],
    qrels: Qrels,
    ks: Sequence[int] = (10, 100),
) -> RetrievalReport:
    """Score a run and summarise its latencies, e.g. to pool the runs of several query subsets into one report."""
    judged = {q: qrels[q] for q in run if q in qrels}
    return RetrievalReport(
        method=method,
        metrics=evaluate_run(run, judged, ks),
        latency_ms_p50=statistics.median(latencies_ms),
        latency_ms_p95=percentile(latencies_ms, 95),
        n_queries=len(run),
        run={q: list(ids) for q, ids in run.items()},
        latencies_ms=list(latencies_ms),
    )


def evaluate_retriever(
    retriever: Retriever, queries: Mapping[str, str], qrels: Qrels, method: str = "", ks: Sequence[int] = (10, 100)
) -> RetrievalReport:
    """Run every query one at a time (as a user would), time each, and score the rankings against ``qrels``."""
    hits, latencies = run_queries(retriever, queries, max(ks))
    run = {qid: [h.doc_id for h in found] for qid, found in hits.items()}
    return report_from_run(method or type(retriever).__name__, run, latencies, qrels, ks)


def run_queries(retriever: Retriever, queries: Mapping[str, str], k: int) -> tuple[dict[str, list[Hit]], list[float]]:
    """Ask each question one at a time, as users do; return the hits per question id and each latency in ms."""
    hits: dict[str, list[Hit]] = {}
    latencies: list[float] = []
    for qid, text in queries.items():
        start = time.perf_counter()
        hits[qid] = retriever.retrieve(text, k)
        latencies.append(1000 * (time.perf_counter() - start))
    return hits, latencies
