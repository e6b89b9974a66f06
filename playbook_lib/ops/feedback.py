"""Feedback: an append-only JSONL log of answered questions and their reviews, promoted into a golden set.

Taught in the book's *Operation types* page of the Model–Data Operations chapter (human-in-the-loop correction).

Each :class:`FeedbackEntry` records what the system did (query, answer, cited and retrieved chunk ids, the index
and corpus versions it ran on, when) and what a person said about it (a rating, a corrected answer, the ids that
were actually relevant). :class:`FeedbackLog` only ever appends lines, so the log is an audit trail. The same log
serves as a request log: an entry needs no rating or answer, and ``extra`` carries what was measured while serving
(latencies, token counts, the model, scores); :func:`entries_frame` turns entries into a table for offline analysis.

:func:`promote` turns reviewed entries into golden items (query, relevant ids, reference answer), one per
distinct question; :func:`write_golden` writes them atomically in the labelled-query JSONL shape that
:func:`playbook_lib.rag.corpus.load_labelled_queries` reads, so :func:`playbook_lib.rag.evaluate.evaluate_retriever`
scores retrievers on them directly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playbook_lib.errors import DataError, EmptyDataError, UsageError
from playbook_lib.io.digest import content_hash
from playbook_lib.io.jsonl import check_data_file, iter_jsonl, json_type
from playbook_lib.io.outputs import write_atomic

if TYPE_CHECKING:
    import pandas as pd

    from playbook_lib.rag.pipeline import RagAnswer

#: Ratings at or above this count as "the answer was right" when promoting (scale 1-5).
DEFAULT_MIN_RATING = 4


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def normalise_query(text: str) -> str:
    """The form used to recognise the same question twice: case-folded, whitespace collapsed."""
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class FeedbackEntry:
    """One answered question and its review.

    ``rating`` is on a 1-5 scale (``None``: not rated); ``correction`` is a reviewer's corrected answer;
    ``relevant_ids`` are the chunk ids a reviewer marked as the right evidence (``None``: not marked).
    ``extra`` holds JSON values measured when the request was served (e.g. ``{"total_ms": 12.5}``); promotion
    ignores it.
    """

    query: str
    answer: str
    cited_ids: list[str] = field(default_factory=list)
    retrieved_ids: list[str] = field(default_factory=list)
    rating: int | None = None
    correction: str | None = None
    relevant_ids: list[str] | None = None
    index_version: str = ""
    corpus_version: str = ""
    timestamp: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.query.strip():
            raise UsageError("a feedback entry needs a non-empty query")
        if not isinstance(self.extra, dict) or not all(isinstance(key, str) for key in self.extra):
            raise UsageError(f"extra must be a mapping with string keys, got {self.extra!r}")
        try:
            json.dumps(self.extra, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"extra must hold JSON values only ({exc})") from None
        rating = self.rating
        if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
            raise UsageError(f"rating must be an integer from 1 to 5, got {self.rating!r}")

    @property
    def entry_id(self) -> str:
        """Content hash of the whole entry: the same feedback logged twice has the same id.

        An empty ``extra`` is left out of the hash, so entries logged before the field existed keep their ids.
        """
        data = asdict(self)
        if not data["extra"]:
            del data["extra"]
        return content_hash(json.dumps(data, sort_keys=True))

    @property
    def reviewed(self) -> bool:
        """Whether a person said anything about this answer."""
        return self.rating is not None or bool(self.correction) or self.relevant_ids is not None


_FIELDS = set(FeedbackEntry.__dataclass_fields__)


def _ids(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) or type(v) is int for v in value)


#: What each field of a log line may hold (beyond what :class:`FeedbackEntry` checks itself: a non-empty query, a
#: 1-5 rating, JSON ``extra``): a hand-edited or hostile line with a list where text is expected is a
#: ``file:line`` error, not a crash while promoting.
_LINE_TYPES: dict[str, tuple[str, Any]] = {
    "query": ("a string", lambda v: isinstance(v, str)),
    "answer": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "cited_ids": ("a list of ids (strings)", _ids),
    "retrieved_ids": ("a list of ids (strings)", _ids),
    "correction": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "relevant_ids": ("a list of ids (strings) or null", lambda v: v is None or _ids(v)),
    "index_version": ("a string", lambda v: isinstance(v, str)),
    "corpus_version": ("a string", lambda v: isinstance(v, str)),
    "timestamp": ("a string", lambda v: isinstance(v, str)),
}


class FeedbackLog:
    """An append-only JSONL file of :class:`FeedbackEntry` lines (created on first append)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def append(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Add one line (timestamped now if the entry has no timestamp), flushed to disk before returning."""
        if not entry.timestamp:
            entry = FeedbackEntry(**{**asdict(entry), "timestamp": _now()})
        line = json.dumps(asdict(entry), ensure_ascii=False, sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot append feedback ({exc.strerror or exc})") from None
        return entry

    def record(
        self,
        answer: RagAnswer,
        *,
        rating: int | None = None,
        correction: str | None = None,
        relevant_ids: Sequence[str] | None = None,
        index_version: str = "",
        corpus_version: str = "",
        extra: dict[str, Any] | None = None,
    ) -> FeedbackEntry:
        """Log a :class:`~playbook_lib.rag.pipeline.RagAnswer` with its review; cited ids are the valid citations."""
        return self.append(
            FeedbackEntry(
                query=answer.question,
                answer=answer.generation.text,
                cited_ids=list(answer.citations.valid),
                retrieved_ids=[h.doc_id for h in answer.hits],
                rating=rating,
                correction=correction,
                relevant_ids=list(relevant_ids) if relevant_ids is not None else None,
                index_version=index_version,
                corpus_version=corpus_version,
                extra=dict(extra or {}),
            )
        )

    def entries(self) -> list[FeedbackEntry]:
        """Every entry, in log order; a malformed line raises :class:`DataError` naming file:line.

        The log is configuration-like input for promotion, so a bad line stops the read rather than being skipped:
        invalid JSON, JSON nested too deeply or an integer too long (:mod:`playbook_lib.io.jsonl`), a line that is not
        an object, an unknown field, a field of the wrong type (a list where text is expected). Lone UTF-16
        surrogates become U+FFFD, so the golden set written from the entries always encodes. A log that is not a
        readable file (missing, a folder, a FIFO, no permission) is a :class:`DataError`, one with no entry an
        :class:`~playbook_lib.errors.EmptyDataError` (promoting it would write an empty golden set).
        """
        if not self.path.exists():
            raise DataError(f"{self.path}: feedback log not found")
        check_data_file(self.path, "feedback log")
        out: list[FeedbackEntry] = []
        for number, obj in iter_jsonl(self.path):
            if not isinstance(obj, dict) or not isinstance(obj.get("query"), str) or "answer" not in obj:
                raise DataError(f"{self.path}:{number}: a feedback line needs 'query' and 'answer'")
            unknown = set(obj) - _FIELDS
            if unknown:
                raise DataError(f"{self.path}:{number}: unknown feedback field {sorted(unknown)[0][:60]!r}")
            for name, (expected, ok) in _LINE_TYPES.items():
                if name in obj and not ok(obj[name]):
                    raise DataError(f"{self.path}:{number}: {name} must be {expected}, got {json_type(obj[name])}")
            try:
                entry = FeedbackEntry(**obj)
                entry.entry_id  # noqa: B018 - hashing walks ``extra``: one nested too deeply fails here, with file:line
                out.append(entry)
            except (UsageError, TypeError, ValueError, RecursionError) as exc:  # RecursionError: a deep ``extra``
                raise DataError(f"{self.path}:{number}: {' '.join(str(exc).split())[:300]}") from None
        if not out:
            raise EmptyDataError(f"{self.path}: the feedback log holds no entry")
        return out


def entries_frame(entries: Sequence[FeedbackEntry]) -> pd.DataFrame:
    """One row per entry: its fields (ids as lists) with each ``extra`` key as its own column, plus ``entry_id``.

    An ``extra`` key that clashes with a field name is prefixed ``extra.``.
    """
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    rows = []
    for entry in entries:
        row: dict[str, Any] = {"entry_id": entry.entry_id, **{k: v for k, v in asdict(entry).items() if k != "extra"}}
        row.update({(f"extra.{k}" if k in row else k): v for k, v in entry.extra.items()})
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class GoldenItem:
    """One golden evaluation question: what to ask, which ids answer it, and (when known) the reference answer."""

    id: str
    text: str
    relevant: list[str]
    answer: str | None
    feedback_ids: list[str]

    def to_json(self) -> dict[str, Any]:
        """The labelled-query line (``_id``, ``text``, ``relevant``, ``answer``) plus its feedback provenance."""
        row: dict[str, Any] = {
            "_id": self.id,
            "text": self.text,
            "relevant": self.relevant,
            "feedback_ids": self.feedback_ids,
        }
        if self.answer is not None:
            row["answer"] = self.answer
        return row


def _promotable(entry: FeedbackEntry, min_rating: int) -> bool:
    return bool(entry.correction) or bool(entry.relevant_ids) or (entry.rating or 0) >= min_rating


def _strength(entry: FeedbackEntry) -> tuple[int, str]:
    """Which entry speaks for a question: explicit corrections and relevance marks beat ratings; then the latest."""
    return (1 if entry.correction or entry.relevant_ids else 0, entry.timestamp)


def promote(entries: Iterable[FeedbackEntry], min_rating: int = DEFAULT_MIN_RATING) -> list[GoldenItem]:
    """Golden items from reviewed entries, one per distinct question (see :func:`normalise_query`).

    An entry is promoted when it has a correction, marked relevant ids, or a rating of at least ``min_rating``.
    Its reference answer is the correction, else the (well-rated) answer itself; its relevant ids are the marked
    ones, else, for a well-rated answer, the ids it validly cited. A corrected answer without marked ids gets no
    relevant ids (its citations supported a wrong answer), so retrieval metrics skip it. Poorly rated entries
    without a correction teach nothing reusable and are left out. When a question was reviewed several times,
    the strongest review wins (corrections or marks over ratings, then the most recent); the item lists every
    promoted entry it merged.
    """
    groups: dict[str, list[FeedbackEntry]] = {}
    for entry in entries:
        if _promotable(entry, min_rating):
            groups.setdefault(normalise_query(entry.query), []).append(entry)
    items: list[GoldenItem] = []
    for key, group in groups.items():
        best = max(group, key=_strength)
        good = (best.rating or 0) >= min_rating
        if best.relevant_ids:
            relevant = list(dict.fromkeys(best.relevant_ids))
        elif good and not best.correction:
            relevant = list(dict.fromkeys(best.cited_ids))
        else:
            relevant = []
        answer = best.correction or (best.answer if good else None)
        items.append(
            GoldenItem(
                id=f"fb-{content_hash(key)}",
                text=best.query.strip(),
                relevant=relevant,
                answer=answer,
                feedback_ids=sorted({e.entry_id for e in group}),
            )
        )
    return sorted(items, key=lambda item: item.id)


def write_golden(items: Sequence[GoldenItem], path: str | Path) -> Path:
    """Write ``items`` as labelled-query JSONL through a temporary file and a rename (never half a file)."""
    write_atomic(path, "".join(json.dumps(i.to_json(), ensure_ascii=False, sort_keys=True) + "\n" for i in items))
    return Path(path)
