"""The whole data-operations pipeline in one run, before and after a knowledge-base change, with its lineage.

Taught in the book's *Intuition summary* page of the Model–Data Operations chapter
(``notebooks/ops_10_intuition_summary.ipynb``). :func:`run_summary` ingests a versioned corpus, chunks it, embeds
and indexes the chunks (:class:`~playbook_lib.ops.refresh.RefreshingIndex`), then changes some of the facts the
judged questions ask about (:func:`~playbook_lib.scenarios.operations.revise_facts` on a seeded share of the
documents) and asks every question twice: of the *stale* index (built before the change, never refreshed) and of
the *refreshed* one. It times the incremental refresh against a full rebuild. :func:`judge_summary` turns the
per-question rows and the timings into the three verdicts the chapter's summary names:

- **unreliable**: the share of questions whose top-``k`` context states the current fact, refreshed minus stale;
- **outdated**: on the changed questions, the share whose top-``k`` context states the old fact, stale minus
  refreshed;
- **slow**: full rebuild seconds minus refresh seconds (paired over repeats), with the re-embedded share beside it.

All three are judged with :mod:`playbook_lib.experiments.verdict` on paired intervals.
"""

from __future__ import annotations

import html
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from playbook_lib.embeddings.model import Embedder
from playbook_lib.experiments.verdict import Claim, Interval, Verdict, difference_interval
from playbook_lib.ops.lineage import ChunkLineage, chunk_lineage, verify_lineage
from playbook_lib.ops.refresh import RefreshingIndex
from playbook_lib.rag.chunk import ChunkSpec, chunk_documents
from playbook_lib.rag.context import TokenCounter
from playbook_lib.rag.corpus import Document
from playbook_lib.rag.pipeline import contains_fact
from playbook_lib.rag.retrieve import Hit, embed_queries, hits_from_search
from playbook_lib.scenarios.operations import revise_facts, revise_number

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_SPEC = ChunkSpec("recursive", 40, 8)
"""The chunking :func:`run_summary` uses unless told: the Heronsgate articles are 30-50 tokens, so some split."""


@dataclass(frozen=True)
class SummaryRun:
    """One run of :func:`run_summary`.

    Attributes:
        questions: one row per question: ``seed, qid, changed, old_fact, fact, stale_current, fresh_current,
            stale_old, fresh_old, stale_verified, fresh_verified`` (the ``*_verified`` columns are the share of the
            top-``k`` passages whose lineage still verifies against the current corpus).
        timings: one row per repeat: ``seed, refresh_s, rebuild_s, refresh_embedded, rebuild_embedded, chunks``.
        lineage: the lineage record of the top refreshed passage of the first changed question of the first seed.
        lineage_status: :func:`~playbook_lib.ops.lineage.verify_lineage` of that record against the changed
            corpus (``"ok"``) and against the corpus before the change.
        versions: corpus version before and after the first seed's change.
    """

    questions: pd.DataFrame
    timings: pd.DataFrame
    lineage: ChunkLineage
    lineage_status: dict[str, str]
    versions: tuple[str, str]


def _context(hits: Sequence[Hit]) -> str:
    return " ".join(h.document.full_text for h in hits)


def _verified(
    hits: Sequence[Hit], records: Mapping[str, ChunkLineage], docs: Mapping[str, Document], spec: ChunkSpec, count: Any
) -> float:
    ok = [verify_lineage(records[h.doc_id], docs, spec, count) == "ok" for h in hits]
    return float(np.mean(ok)) if ok else 0.0


def _changed_facts(
    documents: Sequence[Document],
    facts: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    share: float,
    seed: int,
) -> tuple[list[Document], dict[str, str]]:
    """Revise the facts of a seeded set of ``share x len(documents)`` questions (at least one) among those whose
    fact has a number stated verbatim in a relevant document (the ones :func:`revise_facts` can change)."""
    texts = {d.id: d.text for d in documents}
    candidates = sorted(
        q
        for q, fact in facts.items()
        if revise_number(fact) is not None and any(fact in texts.get(d, "") for d in qrels.get(q, {}))
    )
    if not candidates:
        raise ValueError("no question's fact could be changed: the facts must have numbers stated in their documents")
    n = max(1, min(len(candidates), round(share * len(documents))))
    picked = random.Random(seed).sample(candidates, n)
    return revise_facts(documents, {q: facts[q] for q in picked}, qrels)


def run_summary(
    documents: Sequence[Document],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    facts: Mapping[str, str],
    embedder: Embedder,
    count_tokens: TokenCounter,
    embedder_settings: Mapping[str, Any] | None = None,
    spec: ChunkSpec = DEFAULT_SPEC,
    change_share: float = 0.2,
    k: int = 3,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> SummaryRun:
    """Ingest, version, chunk, embed, index and retrieve; change facts; ask stale and refreshed indexes; time both.

    Each seed changes a different set of facts (``change_share`` of the documents). The refresh re-embeds only the
    chunks of changed documents; the rebuild embeds every chunk into a new index (both timed on the same seed).
    """
    import pandas as pd  # lazy: pandas (~0.3 s) only where the run's tables are built

    if not seeds:
        raise ValueError("need at least one seed")
    settings = dict(embedder_settings or {"embedder": type(embedder).__name__})
    qids = [q for q in sorted(queries) if q in facts]
    rows: list[dict[str, Any]] = []
    timing: list[dict[str, Any]] = []
    first: tuple[ChunkLineage, dict[str, str], tuple[str, str]] | None = None
    for seed in seeds:
        chunks = chunk_documents(documents, count_tokens, spec)
        records = {r.chunk_id: r for r in chunk_lineage(chunks, documents, spec, settings)}
        live = RefreshingIndex(embedder, settings)
        live.refresh([c.as_document() for c in chunks])
        stale = {q: live.retrieve(queries[q], k) for q in qids}
        changed_docs, new_facts = _changed_facts(documents, facts, qrels, change_share, seed)
        new_chunks = chunk_documents(changed_docs, count_tokens, spec)
        start = time.perf_counter()
        report = live.refresh([c.as_document() for c in new_chunks])
        refresh_s = time.perf_counter() - start
        start = time.perf_counter()
        rebuilt = RefreshingIndex(embedder, settings)
        full = rebuilt.refresh([c.as_document() for c in new_chunks])
        rebuild_s = time.perf_counter() - start
        timing.append(
            {
                "seed": seed,
                "refresh_s": refresh_s,
                "rebuild_s": rebuild_s,
                "refresh_embedded": report.embedded,
                "rebuild_embedded": full.embedded,
                "chunks": len(new_chunks),
            }
        )
        new_records = {r.chunk_id: r for r in chunk_lineage(new_chunks, changed_docs, spec, settings)}
        now = {d.id: d for d in changed_docs}
        for q in qids:
            fresh = live.retrieve(queries[q], k)
            fact = new_facts.get(q, facts[q])
            rows.append(
                {
                    "seed": seed,
                    "qid": q,
                    "changed": q in new_facts,
                    "old_fact": facts[q],
                    "fact": fact,
                    **_fact_columns(_context(stale[q]), _context(fresh), fact, facts[q], q in new_facts),
                    "stale_verified": _verified(stale[q], records, now, spec, count_tokens),
                    "fresh_verified": _verified(fresh, new_records, now, spec, count_tokens),
                }
            )
        if first is None:
            q = sorted(new_facts)[0]
            record = new_records[live.retrieve(queries[q], 1)[0].doc_id]
            status = {
                "against the changed corpus": verify_lineage(record, now, spec, count_tokens),
                "against the corpus before the change": verify_lineage(
                    record, {d.id: d for d in documents}, spec, count_tokens
                ),
            }
            first = (record, status, (report.version_before, report.version_after))
    if first is None:  # unreachable: seeds is not empty and every seed changes at least one fact
        raise ValueError("need at least one seed")
    return SummaryRun(pd.DataFrame(rows), pd.DataFrame(timing), *first)


def _fact_columns(stale: str, fresh: str, fact: str, old: str, changed: bool) -> dict[str, bool]:
    """Whether the stale and the refreshed contexts state the current ``fact`` and, for a changed question, the
    ``old`` one: the retrieval-level columns of :func:`run_summary` and :func:`context_grid`."""
    return {
        "stale_current": contains_fact(stale, fact),
        "fresh_current": contains_fact(fresh, fact),
        "stale_old": changed and contains_fact(stale, old),
        "fresh_old": changed and contains_fact(fresh, old),
    }


#: The two retrieval-level claims of :func:`judge_summary` (the third, *slow*, is a timing).
CONTEXT_CLAIMS: dict[str, Claim] = {
    "unreliable": Claim("share with the current fact in context, refreshed - stale"),
    "outdated": Claim("share of changed questions answered from the old fact, stale - refreshed"),
}


@dataclass(frozen=True)
class SummaryVerdicts:
    """The three claims of the chapter's summary, each with its interval and verdict."""

    intervals: dict[str, Interval]
    claims: dict[str, Claim]
    verdicts: dict[str, Verdict]
    embedded_share: float

    def markdown(self) -> str:
        """One Markdown line per claim."""
        lines = [f"- **{name}**: {self.claims[name].sentence(self.intervals[name])}" for name in self.claims]
        lines.append(f"- the refresh re-embedded {self.embedded_share:.0%} of the chunks a rebuild embeds")
        return "\n".join(lines)


def _context_intervals(questions: pd.DataFrame) -> dict[str, Interval]:
    """The paired intervals of :data:`CONTEXT_CLAIMS` over (seed, question) rows: *unreliable* on all of them,
    *outdated* on the changed ones."""
    changed = questions[questions["changed"]]
    return {
        "unreliable": difference_interval(
            questions["fresh_current"].astype(float), questions["stale_current"].astype(float)
        ),
        "outdated": difference_interval(changed["stale_old"].astype(float), changed["fresh_old"].astype(float)),
    }


def judge_summary(run: SummaryRun) -> SummaryVerdicts:
    """Verdicts on a :class:`SummaryRun` (module docstring): paired intervals over (seed, question) rows for
    *unreliable* (all questions) and *outdated* (changed questions), over repeats for *slow*; all claimed above 0."""
    t = run.timings
    intervals = {**_context_intervals(run.questions), "slow": difference_interval(t["rebuild_s"], t["refresh_s"])}
    claims = {**CONTEXT_CLAIMS, "slow": Claim("seconds, full rebuild - incremental refresh")}
    return SummaryVerdicts(
        intervals=intervals,
        claims=claims,
        verdicts={name: claims[name].judge(iv) for name, iv in intervals.items()},
        embedded_share=float(t["refresh_embedded"].sum() / t["rebuild_embedded"].sum()),
    )


def context_grid(
    documents: Sequence[Document],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    facts: Mapping[str, str],
    embedder: Embedder,
    count_tokens: TokenCounter,
    embedder_settings: Mapping[str, Any] | None = None,
    spec: ChunkSpec = DEFAULT_SPEC,
    shares: Sequence[float] = (0.05, 0.1, 0.2, 0.35, 0.5),
    ks: Sequence[int] = (1, 3, 5, 10),
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> pd.DataFrame:
    """The retrieval-level rows of :func:`run_summary` (``stale_current, fresh_current, stale_old, fresh_old``,
    no timings) at every ``change_share`` in ``shares`` and ``k`` in ``ks``: one row per ``change_share, k, seed,
    qid``. The same facts change for a share and seed as in :func:`run_summary`, and the ranking is the same exact
    search; one embedding cache serves every setting (so only the changed chunks are embedded again), and each
    question is embedded once."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where the grid's table is built

    if not seeds or not shares or not ks:
        raise ValueError("need at least one seed, one share and one k")
    settings = dict(embedder_settings or {"embedder": type(embedder).__name__})
    qids = [q for q in sorted(queries) if q in facts]
    vectors = embed_queries(embedder, [queries[q] for q in qids])
    chunks = [c.as_document() for c in chunk_documents(documents, count_tokens, spec)]
    live = RefreshingIndex(embedder, settings)
    live.refresh(chunks)

    def search(index: RefreshingIndex) -> dict[int, list[list[Hit]]]:
        if index.index is None:  # unreachable: refreshed with a non-empty corpus above
            raise ValueError("the index is empty")
        return {int(k): hits_from_search(index.index.search(vectors, int(k)), index.documents) for k in ks}

    stale = search(live)
    rows: list[dict[str, Any]] = []
    for share in shares:
        for seed in seeds:
            changed_docs, new_facts = _changed_facts(documents, facts, qrels, float(share), seed)
            fresh_index = RefreshingIndex(embedder, settings, cache=live.cache)
            fresh_index.refresh([c.as_document() for c in chunk_documents(changed_docs, count_tokens, spec)])
            fresh = search(fresh_index)
            for i, q in enumerate(qids):
                fact, changed = new_facts.get(q, facts[q]), q in new_facts
                for k in ks:
                    contexts = _context(stale[int(k)][i]), _context(fresh[int(k)][i])
                    rows.append(
                        {
                            "change_share": float(share),
                            "k": int(k),
                            "seed": seed,
                            "qid": q,
                            "changed": changed,
                            **_fact_columns(*contexts, fact, facts[q], changed),
                        }
                    )
    return pd.DataFrame(rows)


def context_html(grid: pd.DataFrame, change_share: float, k: int) -> str:
    """HTML for one setting of the page's explorer over a :func:`context_grid`: the shares of (seed, question)
    pairs whose top-``k`` context states the current fact and, on the changed questions, the old fact, stale and
    refreshed, then the *unreliable* and *outdated* claims of :func:`judge_summary` (:data:`CONTEXT_CLAIMS`) on
    their paired 95 % intervals at that setting."""
    q = grid[(grid["change_share"] == float(change_share)) & (grid["k"] == int(k))]
    if q.empty:
        raise ValueError(f"the grid has no rows at change_share {change_share} and k {k}")
    changed = q[q["changed"]]
    intervals = _context_intervals(q)
    cells = [
        ("current fact in context (all pairs)", q["stale_current"].mean(), q["fresh_current"].mean()),
        ("old fact in context (changed pairs)", changed["stale_old"].mean(), changed["fresh_old"].mean()),
    ]
    body = "".join(f"<tr><td>{html.escape(a)}</td><td>{b:.3f}</td><td>{c:.3f}</td></tr>" for a, b, c in cells)
    head = (
        f"<p data-pb-setting-share='{float(change_share):g}'>{float(change_share):.0%} of the documents changed, "
        f"k={int(k)} passages retrieved: {len(q)} (seed, question) pairs over {q['seed'].nunique()} seeds, "
        f"{len(changed)} of them changed</p>"
    )
    table = (
        "<table><thead><tr><th>share of pairs</th><th>stale index</th><th>refreshed index</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )
    items = "".join(
        f"<li><strong>{name}</strong>: {html.escape(claim.sentence(intervals[name]))}</li>"
        for name, claim in CONTEXT_CLAIMS.items()
    )
    return head + table + f"<ul>{items}</ul>"
