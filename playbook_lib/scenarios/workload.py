"""The corpus and questions an operations page runs on: the bundled knowledge base, a JSONL file or a BEIR folder.

Used by every page of the Model–Data Operations chapter (``notebooks/ops_0*.ipynb``), so each can be pointed at
your own data with one parameter. A plain JSONL corpus has no judged questions; :func:`synthetic_queries` makes
known-item questions from its own sentences (labelled synthetic, and easier than real traffic: the *Data types*
page measures by how much).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from playbook_lib import sample_data
from playbook_lib.rag.corpus import (
    Document,
    load_beir,
    load_corpus,
    load_labelled_queries,
    load_reference_answers,
    subsample_beir,
)

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Workload:
    """Documents, questions, judgements (``{qid: {doc_id: grade}}``) and, where known, reference facts."""

    name: str
    documents: list[Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    facts: dict[str, str] = field(default_factory=dict)
    synthetic: bool = False

    def describe(self) -> str:
        """One line: name, sizes and where the questions come from."""
        kind = "synthetic known-item" if self.synthetic else "judged"
        return f"{self.name}: {len(self.documents)} documents, {len(self.queries)} {kind} questions"


def synthetic_queries(
    documents: Sequence[Document], n: int, seed: int = 0, min_words: int = 6
) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Known-item questions: one sentence (``min_words`` words or more) from each of ``n`` random documents.

    The document it came from is the only relevant one. Deterministic for a given ``seed``.
    """
    rng = random.Random(seed)
    pool = list(documents)
    rng.shuffle(pool)
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for doc in pool:
        if len(queries) >= n:
            break
        sentences = [s.strip() for s in _SENTENCE.split(doc.text) if len(s.split()) >= min_words]
        if not sentences:
            continue
        qid = f"syn-{len(queries) + 1:03d}"
        queries[qid] = rng.choice(sentences)
        qrels[qid] = {doc.id: 1}
    return queries, qrels


def load_workload(corpus: str | Path = "", n_queries: int = 50, n_distractors: int = 1000, seed: int = 0) -> Workload:
    """Load what a page runs on.

    Args:
        corpus: ``""`` for the bundled Heronsgate knowledge base (with its judged questions and reference facts),
            a BEIR folder (a fixed-seed subset: ``n_queries`` judged queries, their documents and
            ``n_distractors`` others), or a JSONL corpus (all documents, ``n_queries`` synthetic questions).
    """
    if not corpus:
        path = sample_data.path("heronsgate_queries.jsonl")
        queries, qrels = load_labelled_queries(path)
        return Workload(
            "heronsgate_kb",
            load_corpus(sample_data.path("heronsgate_kb.jsonl")),
            queries,
            qrels,
            load_reference_answers(path),
        )
    corpus = Path(corpus)
    if corpus.is_dir() and (corpus / "qrels").is_dir():
        bench = subsample_beir(load_beir(corpus), n_queries=n_queries, n_distractors=n_distractors, seed=seed)
        return Workload(f"{corpus.name} (BEIR subset)", bench.corpus, bench.queries, bench.qrels)
    documents = load_corpus(corpus)
    queries, qrels = synthetic_queries(documents, n_queries, seed)
    return Workload(corpus.stem, documents, queries, qrels, synthetic=True)
