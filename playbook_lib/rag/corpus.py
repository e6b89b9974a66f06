"""Load a document corpus: a JSONL file of documents, or a folder in the BEIR layout.

Taught in the book's *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``).

A corpus JSONL line is an object with a text field (``text``, or ``content``/``body``) and optionally an id
(``_id`` or ``id``; the line number otherwise) and a ``title``. A BEIR folder holds ``corpus.jsonl``,
``queries.jsonl`` and ``qrels/<split>.tsv``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playbook_lib.errors import DataError, EmptyDataError
from playbook_lib.jsonl import iter_jsonl

_TEXT_KEYS = ("text", "content", "body")
_ID_KEYS = ("_id", "id", "doc_id")


@dataclass(frozen=True)
class Document:
    """One retrievable document."""

    id: str
    text: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def full_text(self) -> str:
        """Title and text joined the way BEIR embeds them (``title + " " + text``)."""
        return f"{self.title} {self.text}".strip() if self.title else self.text


@dataclass(frozen=True)
class BeirDataset:
    """A BEIR-layout retrieval benchmark: documents, queries and graded judgements."""

    corpus: list[Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; raise :class:`DataError` with file:line."""
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a JSONL file")
    for number, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
        yield number, obj


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in obj:
            return obj[key]
    return None


def load_corpus(path: str | Path) -> list[Document]:
    """Read documents from a JSONL file, or from ``corpus.jsonl`` inside a BEIR folder.

    Raises :class:`~playbook_lib.errors.DataError` naming file and line for a missing file, bad JSON, non-UTF-8
    bytes, a line without text or a repeated id, and :class:`~playbook_lib.errors.EmptyDataError` when no
    document is found.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "corpus.jsonl"
    docs: list[Document] = []
    seen: dict[str, int] = {}
    for number, obj in _read_jsonl(path):
        text = _first(obj, _TEXT_KEYS)
        if not isinstance(text, str):
            raise DataError(f"{path}:{number}: no text field (expected one of {', '.join(_TEXT_KEYS)})")
        raw_id = _first(obj, _ID_KEYS)
        doc_id = str(raw_id) if raw_id is not None else str(number)
        if doc_id in seen:
            raise DataError(f"{path}:{number}: duplicate document id {doc_id!r} (first on line {seen[doc_id]})")
        seen[doc_id] = number
        title = obj.get("title") or ""
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        docs.append(Document(id=doc_id, text=text, title=str(title), metadata=metadata))
    if not docs:
        raise EmptyDataError(f"{path}: no documents found")
    return docs


def load_queries(path: str | Path) -> dict[str, str]:
    """Read a BEIR ``queries.jsonl`` into ``{query_id: text}``."""
    path = Path(path)
    queries: dict[str, str] = {}
    for number, obj in _read_jsonl(path):
        if "_id" not in obj or not isinstance(obj.get("text"), str):
            raise DataError(f"{path}:{number}: a query needs '_id' and 'text'")
        queries[str(obj["_id"])] = obj["text"]
    return queries


def load_labelled_queries(path: str | Path) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Read queries that carry their answers: ``{"_id", "text", "relevant": [doc ids]}`` per line.

    Returns ``(queries, qrels)`` in the shapes of :func:`load_queries` and :func:`load_qrels`.
    """
    path = Path(path)
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for number, obj in _read_jsonl(path):
        relevant = obj.get("relevant")
        if "_id" not in obj or not isinstance(obj.get("text"), str) or not isinstance(relevant, list):
            raise DataError(f"{path}:{number}: a labelled query needs '_id', 'text' and a 'relevant' list")
        queries[str(obj["_id"])] = obj["text"]
        qrels[str(obj["_id"])] = {str(d): 1 for d in relevant}
    return queries, qrels


def load_reference_answers(path: str | Path) -> dict[str, str]:
    """Read the ``answer`` field (the key fact a correct answer states) of labelled queries: ``{qid: fact}``."""
    path = Path(path)
    return {str(obj["_id"]): str(obj["answer"]) for _, obj in _read_jsonl(path) if "answer" in obj and "_id" in obj}


def load_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read a BEIR qrels TSV (``query-id  corpus-id  score`` with a header) into ``{qid: {doc_id: grade}}``."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if number == 1 and row and row[0] == "query-id":
                continue
            if not row:
                continue
            if len(row) != 3:
                raise DataError(f"{path}:{number}: expected 3 tab-separated columns, got {len(row)}")
            try:
                grade = int(row[2])
            except ValueError:
                raise DataError(f"{path}:{number}: score {row[2]!r} is not an integer") from None
            qrels.setdefault(row[0], {})[row[1]] = grade
    return qrels


def load_beir(folder: str | Path, split: str = "test") -> BeirDataset:
    """Load a BEIR folder: the corpus, the queries that have judgements in ``split``, and those judgements."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a BEIR folder (expected corpus.jsonl, queries.jsonl, qrels/)")
    qrels = load_qrels(folder / "qrels" / f"{split}.tsv")
    all_queries = load_queries(folder / "queries.jsonl")
    queries = {qid: all_queries[qid] for qid in qrels if qid in all_queries}
    return BeirDataset(corpus=load_corpus(folder / "corpus.jsonl"), queries=queries, qrels=qrels)


def subsample_beir(dataset: BeirDataset, n_queries: int, n_distractors: int, seed: int = 0) -> BeirDataset:
    """A smaller benchmark: ``n_queries`` judged queries, every document they judge, and ``n_distractors`` others.

    Queries and distractors are drawn with a fixed ``seed``, so the subset is the same on every machine.
    """
    import random

    rng = random.Random(seed)
    qids = sorted(q for q in dataset.qrels if q in dataset.queries)
    qids = sorted(rng.sample(qids, min(n_queries, len(qids))))
    judged = {d for q in qids for d in dataset.qrels[q]}
    others = sorted(d.id for d in dataset.corpus if d.id not in judged)
    keep = judged | set(rng.sample(others, min(n_distractors, len(others))))
    return BeirDataset(
        corpus=[d for d in dataset.corpus if d.id in keep],
        queries={q: dataset.queries[q] for q in qids},
        qrels={q: dict(dataset.qrels[q]) for q in qids},
    )
