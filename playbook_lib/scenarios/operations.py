"""Controlled changes to a corpus, for measuring what operations buy: raw exports, duplicates, edits, revised facts.

Taught in the book's *Why operations matter*, *Data types* and *Design principles* pages of the Model–Data
Operations chapter. Each function returns new :class:`~playbook_lib.rag.corpus.Document` lists and never changes
its input; all randomness is seeded. :func:`source_ids` and :func:`context_recall` score any granularity (pages,
documents, chunks) against document-level judgements.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from playbook_lib.rag.corpus import BeirDataset, Document
from playbook_lib.rag.evaluate import run_queries as run_queries  # re-exported: the operations pages use it here
from playbook_lib.rag.retrieve import Hit, Retriever

_NUMBER = re.compile(r"(?<![\d.])\d[\d,]*")


def merge_into_pages(documents: Sequence[Document], per_page: int) -> list[Document]:
    """Concatenate consecutive documents into pages of ``per_page`` (a raw export before any chunking).

    Each page's ``metadata["members"]`` lists the document ids it holds (a copy counts as its original), so
    retrieval can still be judged.
    """
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    pages = []
    for start in range(0, len(documents), per_page):
        group = documents[start : start + per_page]
        text = "\n\n".join(d.full_text for d in group)
        pages.append(
            Document(
                id=f"page-{start // per_page:03d}",
                text=text,
                title="",
                metadata={"members": [d.metadata.get("duplicate_of", d.id) for d in group]},
            )
        )
    return pages


def add_noisy_duplicates(documents: Sequence[Document], share: float, seed: int = 0) -> list[Document]:
    """The documents plus re-exported copies of ``share`` of them (case and spacing changed, a footer added).

    A copy's id is ``<id>~copy`` and its ``metadata["duplicate_of"]`` names the original, as a second ingest of
    the same source would produce.
    """
    rng = random.Random(seed)
    picked = rng.sample(list(documents), round(share * len(documents)))
    copies = [
        Document(
            id=f"{d.id}~copy",
            title=d.title.upper(),
            text="  ".join(d.text.split()) + " (exported copy)",
            metadata={**d.metadata, "duplicate_of": d.id},
        )
        for d in picked
    ]
    return [*documents, *copies]


def edit_share(
    documents: Sequence[Document],
    share: float,
    seed: int = 0,
    note: str = "Revised: this entry was updated after review.",
) -> tuple[list[Document], list[str]]:
    """Change the text of ``share`` of the documents (at least one) by appending ``note``; return them and the ids."""
    rng = random.Random(seed)
    n = max(1, round(share * len(documents)))
    changed = sorted(d.id for d in rng.sample(list(documents), n))
    chosen = set(changed)
    return [replace(d, text=f"{d.text} {note}") if d.id in chosen else d for d in documents], changed


def revise_number(fact: str, delta: int = 7) -> str | None:
    """The fact with each whole number (the integer part of a decimal) increased by ``delta`` ("14 days" -> "21 days",
    "5.3" -> "12.3"); ``None`` if it has no number."""
    if not _NUMBER.search(fact):
        return None

    def bump(match: re.Match[str]) -> str:
        raw = match.group(0).rstrip(",")
        value = int(raw.replace(",", "")) + delta
        text = f"{value:,}" if "," in raw else str(value)
        return text + match.group(0)[len(raw) :]

    return _NUMBER.sub(bump, fact)


def revise_facts(
    documents: Sequence[Document], facts: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]], delta: int = 7
) -> tuple[list[Document], dict[str, str]]:
    """Change each numeric reference fact in the document that states it; return the documents and the new facts.

    Only questions whose fact has a number and appears verbatim in a relevant document are revised, so every
    revision is checkable: an up-to-date answer states the new fact, a stale one the old.
    """
    by_id = {d.id: d for d in documents}
    new_facts: dict[str, str] = {}
    for qid, fact in facts.items():
        new = revise_number(fact, delta)
        holders = [d for d in qrels.get(qid, {}) if d in by_id and fact in by_id[d].text]
        if new is None or not holders:
            continue
        doc = by_id[holders[0]]
        by_id[doc.id] = replace(doc, text=doc.text.replace(fact, new))
        new_facts[qid] = new
    return [by_id[d.id] for d in documents], new_facts


def source_ids(hit: Hit) -> list[str]:
    """The document ids a hit carries: a page's members, a chunk's document, a copy's original, or its own id."""
    meta = hit.document.metadata
    if "members" in meta:
        return list(meta["members"])
    return [str(meta.get("duplicate_of") or meta.get("doc_id") or hit.doc_id)]


def document_ranking(hits: Sequence[Hit]) -> list[str]:
    """Document ids in the order their first page, chunk or copy was retrieved (for document-level metrics)."""
    return list(dict.fromkeys(s for h in hits for s in source_ids(h)))


def context_recall(hits: Sequence[Hit], judged: Mapping[str, int]) -> float:
    """Share of the relevant documents whose text reached the retrieved context (pages and chunks count)."""
    relevant = {d for d, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    found = {s for h in hits for s in source_ids(h)}
    return len(relevant & found) / len(relevant)


def bury_past_window(
    dataset: BeirDataset, n_queries: int = 6, fillers: int = 3, n_distractors: int = 40
) -> BeirDataset:
    """Hide each query's answer past an embedding model's window: a long document made of ``fillers`` unjudged
    documents followed by the query's first relevant one.

    Returns a small dataset: the first ``n_queries`` judged queries (sorted by id), one long document each (id
    ``long-<query id>``, the only relevant one), and ``n_distractors`` further unjudged documents. Used to show
    what whole-text vectors miss and chunk-level scoring finds (:mod:`playbook_lib.rag.passages`).
    """
    by_id = {d.id: d for d in dataset.corpus}
    judged = {d for rel in dataset.qrels.values() for d in rel}
    spare = [d for d in dataset.corpus if d.id not in judged]
    qids = [q for q in sorted(dataset.qrels) if q in dataset.queries and any(d in by_id for d in dataset.qrels[q])]
    qids = qids[:n_queries]
    if len(spare) < fillers * len(qids) + n_distractors:
        raise ValueError(
            f"{len(spare)} unjudged documents: too few for {len(qids)} queries x {fillers} fillers "
            f"+ {n_distractors} distractors"
        )
    documents: list[Document] = []
    for n, qid in enumerate(qids):
        target = next(by_id[d] for d in sorted(dataset.qrels[qid]) if d in by_id)
        padding = " ".join(f.full_text for f in spare[fillers * n : fillers * (n + 1)])
        documents.append(
            Document(id=f"long-{qid}", text=f"{padding} {target.full_text}", metadata={"answer_from": target.id})
        )
    documents += spare[fillers * len(qids) : fillers * len(qids) + n_distractors]
    return BeirDataset(
        corpus=documents, queries={q: dataset.queries[q] for q in qids}, qrels={q: {f"long-{q}": 1} for q in qids}
    )


def answer_ranks(retriever: Retriever, dataset: BeirDataset) -> list[int]:
    """Where ``retriever`` puts the answer: for each judged query of ``dataset`` (in ``qrels`` order), the 1-based
    rank of its first relevant document (grade above 0) when the whole corpus is ranked.

    Made for the small datasets of :func:`bury_past_window` (each query ranks every document). Raises ``ValueError``
    when a query's relevant documents are not in the ranking at all.
    """
    ranks = []
    for qid, judged in dataset.qrels.items():
        relevant = {d for d, g in judged.items() if g > 0}
        hits = retriever.retrieve(dataset.queries[qid], len(dataset.corpus))
        rank = next((h.rank for h in hits if h.doc_id in relevant), None)
        if rank is None:
            raise ValueError(f"query {qid!r}: none of its relevant documents was retrieved")
        ranks.append(rank)
    return ranks
