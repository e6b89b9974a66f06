"""Load a document corpus: a JSONL file of documents, or a folder in the BEIR layout.

Taught in the book's *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``).

A corpus JSONL line is an object with a text field (``text``, or ``content``/``body``) and optionally an id
(``_id`` or ``id``; the line number otherwise) and a ``title``. A BEIR folder holds ``corpus.jsonl``,
``queries.jsonl`` and ``qrels/<split>.tsv``.

A corpus is configuration-like input: a bad line stops the load with one line naming ``file:line``
(:class:`~playbook_lib.errors.DataError`, exit code 4) rather than being skipped, so a retrieval result never rests
on a silently shortened corpus. Hostile lines (JSON nested too deeply, an integer too long, a list where text or an
id is expected) are such bad lines; lone UTF-16 surrogates become U+FFFD (:mod:`playbook_lib.io.jsonl`). A corpus whose
documents are all empty, and a BEIR folder whose qrels judge no query of ``queries.jsonl``, are empty data.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playbook_lib.errors import DataError, EmptyDataError
from playbook_lib.io.jsonl import iter_jsonl, json_type, read_bytes

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
    """Yield ``(line_number, object)`` for each non-blank line; raise :class:`DataError` with file:line (a missing
    file, a folder, a FIFO, no permission, non-UTF-8 bytes, an unreadable or non-object line)."""
    for number, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {json_type(obj)}")
        yield number, obj


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in obj:
            return obj[key]
    return None


def _id(value: Any, where: str, what: str = "id") -> str:
    """An id as text: a string or an integer (not a bool, a float, a list or an object, which would print as an
    id nobody can match)."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    raise DataError(f"{where}: {what} must be a string or an integer, got {json_type(value)}")


def load_corpus(path: str | Path) -> list[Document]:
    """Read documents from a JSONL file, or from ``corpus.jsonl`` inside a BEIR folder.

    Raises :class:`~playbook_lib.errors.DataError` naming file and line for a missing file, bad JSON, non-UTF-8
    bytes, a line without text, an id or title of the wrong type or a repeated id, and
    :class:`~playbook_lib.errors.EmptyDataError` when no document is found or every document is empty (there is
    nothing to rank).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "corpus.jsonl"
    docs: list[Document] = []
    seen: dict[str, int] = {}
    for number, obj in _read_jsonl(path):
        text = _first(obj, _TEXT_KEYS)
        if text is None:
            raise DataError(f"{path}:{number}: no text field (expected one of {', '.join(_TEXT_KEYS)})")
        if not isinstance(text, str):
            key = next(k for k in _TEXT_KEYS if k in obj)
            raise DataError(f"{path}:{number}: {key} must be a string, got {json_type(text)}")
        raw_id = _first(obj, _ID_KEYS)
        doc_id = _id(raw_id, f"{path}:{number}", "document id") if raw_id is not None else str(number)
        if doc_id in seen:
            raise DataError(f"{path}:{number}: duplicate document id {doc_id!r} (first on line {seen[doc_id]})")
        seen[doc_id] = number
        title = obj.get("title") or ""
        if isinstance(title, (list, dict)):
            raise DataError(f"{path}:{number}: title must be a string, got {json_type(title)}")
        raw_metadata = obj.get("metadata")
        metadata = raw_metadata if isinstance(raw_metadata, dict) else {}
        docs.append(Document(id=doc_id, text=text, title=str(title), metadata=metadata))
    if not docs:
        raise EmptyDataError(f"{path}: no documents found")
    if not any(d.full_text.strip() for d in docs):
        raise EmptyDataError(f"{path}: all {len(docs)} documents are empty (no text to retrieve)")
    return docs


def load_queries(path: str | Path) -> dict[str, str]:
    """Read a BEIR ``queries.jsonl`` into ``{query_id: text}``."""
    path = Path(path)
    queries: dict[str, str] = {}
    for number, obj in _read_jsonl(path):
        if "_id" not in obj or not isinstance(obj.get("text"), str):
            raise DataError(f"{path}:{number}: a query needs '_id' and 'text'")
        queries[_id(obj["_id"], f"{path}:{number}", "query id")] = obj["text"]
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
        qid = _id(obj["_id"], f"{path}:{number}", "query id")
        queries[qid] = obj["text"]
        qrels[qid] = {_id(d, f"{path}:{number}", "relevant id"): 1 for d in relevant}
    return queries, qrels


def load_reference_answers(path: str | Path) -> dict[str, str]:
    """Read the ``answer`` field (the key fact a correct answer states) of labelled queries: ``{qid: fact}``."""
    path = Path(path)
    return {str(obj["_id"]): str(obj["answer"]) for _, obj in _read_jsonl(path) if "answer" in obj and "_id" in obj}


def load_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read a BEIR qrels TSV (``query-id  corpus-id  score`` with a header) into ``{qid: {doc_id: grade}}``."""
    path = Path(path)
    data = read_bytes(path, "qrels file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    qrels: dict[str, dict[str, int]] = {}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a field past the csv module's limit, a stray quote at the end
            raise DataError(f"{path}:{reader.line_num}: unreadable qrels line ({exc})") from None
        number = reader.line_num
        if number == 1 and row and row[0] == "query-id":
            continue
        if not row:
            continue
        if len(row) != 3:
            raise DataError(f"{path}:{number}: expected 3 tab-separated columns, got {len(row)}")
        if not row[0].strip() or not row[1].strip():
            raise DataError(f"{path}:{number}: empty query or corpus id")
        try:
            grade = int(row[2])
        except ValueError:
            raise DataError(f"{path}:{number}: score {row[2][:40]!r} is not an integer") from None
        qrels.setdefault(row[0], {})[row[1]] = grade
    return qrels


def load_beir(folder: str | Path, split: str = "test") -> BeirDataset:
    """Load a BEIR folder: the corpus, the queries that have judgements in ``split``, and those judgements.

    Raises :class:`~playbook_lib.errors.EmptyDataError` when no query can be scored: the qrels file judges
    nothing, or none of the queries it judges is in ``queries.jsonl`` (a score over no query would read 0).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a BEIR folder (expected corpus.jsonl, queries.jsonl, qrels/)")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    qrels = load_qrels(qrels_path)
    if not qrels:
        raise EmptyDataError(f"{qrels_path}: no judgements (no query to score)")
    all_queries = load_queries(folder / "queries.jsonl")
    queries = {qid: all_queries[qid] for qid in qrels if qid in all_queries}
    if not queries:
        raise EmptyDataError(
            f"{qrels_path}: none of the {len(qrels)} judged queries is in "
            f"{folder / 'queries.jsonl'} (no query to score)"
        )
    if not any(score > 0 for qid in queries for score in qrels[qid].values()):
        raise EmptyDataError(
            f"{qrels_path}: no judgement of a known query has a score above 0 (no relevant "
            "document to find, so no query to score)"
        )
    return BeirDataset(corpus=load_corpus(folder / "corpus.jsonl"), queries=queries, qrels=qrels)


def subsample_beir(dataset: BeirDataset, n_queries: int, n_distractors: int, seed: int = 0) -> BeirDataset:
    """A smaller benchmark: ``n_queries`` judged queries, every document they judge, and ``n_distractors`` others.

    Queries and distractors are drawn with a fixed ``seed``, so the subset is the same on every machine.
    """
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
