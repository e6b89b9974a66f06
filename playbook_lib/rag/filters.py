"""Metadata filters: restrict retrieval to documents whose metadata match, before or after the search.

Taught in the book's *Core components* page of the Model–Data Operations chapter.

A filter is a mapping from a field to a condition::

    {"source": "manual.md"}                      # equality
    {"source": ["manual.md", "faq.md"]}          # membership
    {"year": {">=": 2020, "<": 2024}}            # comparisons, all must hold
    {"lang": {"!=": "de"}, "tags": {"in": [...]}}

Fields are read from ``Document.metadata``; ``id`` and ``title`` fall back to the document's own attributes. A
document without the field, or whose value cannot be compared with the condition (``"n/a" >= 2020``), does not
match. Operators: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``.

:class:`FilteredRetriever` applies a filter ``"before"`` the search (the retriever ranks only matching documents;
dense, BM25 and hybrid retrievers support it) or ``"after"`` it (any retriever: over-fetch, drop non-matching hits,
and fetch deeper until ``k`` remain or the corpus is exhausted).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from playbook_lib.errors import UsageError
from playbook_lib.rag.corpus import Document
from playbook_lib.rag.retrieve import Hit, Retriever

Filters = Mapping[str, Any]
Predicate = Callable[[Document], bool]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda value, options: value in options,
    "not in": lambda value, options: value not in options,
}
_MISSING = object()


def _field(document: Document, name: str) -> Any:
    if name in document.metadata:
        return document.metadata[name]
    if name in ("id", "title"):
        return getattr(document, name)
    return _MISSING


def _condition(field: str, spec: Any) -> list[tuple[Callable[[Any, Any], bool], Any]]:
    if isinstance(spec, Mapping):
        if not spec:
            raise UsageError(f"filter on {field!r}: empty condition")
        unknown = [op for op in spec if op not in _OPS]
        if unknown:
            raise UsageError(f"filter on {field!r}: unknown operator {unknown[0]!r}; use one of {', '.join(_OPS)}")
        for op, value in spec.items():
            if op in ("in", "not in") and (isinstance(value, str) or not isinstance(value, (list, tuple, set))):
                raise UsageError(f"filter on {field!r}: {op!r} needs a list of values")
        return [(_OPS[op], value) for op, value in spec.items()]
    if isinstance(spec, (list, tuple, set, frozenset)):
        return [(_OPS["in"], spec)]
    return [(_OPS["=="], spec)]


def compile_filter(filters: Filters) -> Predicate:
    """Turn a filter mapping into a document predicate; raises :class:`UsageError` for a malformed filter."""
    if not isinstance(filters, Mapping):
        raise UsageError(f"filters must be a mapping of field -> condition, got {type(filters).__name__}")
    checks = [(field, _condition(field, spec)) for field, spec in filters.items()]

    def matches(document: Document) -> bool:
        for field, conditions in checks:
            value = _field(document, field)
            if value is _MISSING:
                return False
            for test, expected in conditions:
                try:
                    if not test(value, expected):
                        return False
                except TypeError:  # e.g. "n/a" >= 2020: an incomparable value does not satisfy the condition
                    return False
        return True

    return matches


def filter_hits(hits: Sequence[Hit], predicate: Predicate) -> list[Hit]:
    """The hits whose documents match, renumbered from rank 1, scores kept."""
    kept = [h for h in hits if predicate(h.document)]
    return [Hit(rank=r + 1, score=h.score, document=h.document) for r, h in enumerate(kept)]


class FilteredRetriever:
    """A retriever restricted to documents matching ``filters``.

    Args:
        retriever: the retriever to restrict.
        filters: see the module docstring.
        documents: every document the retriever holds (needed for ``where="before"``, to list the matching ids).
        where: ``"before"`` ranks only matching documents (needs a retriever with ``retrieve_within``: dense, BM25,
            hybrid); ``"after"`` filters the ranking, fetching ``overfetch × k`` candidates first and going deeper
            (×4 each round) until ``k`` match or the retriever runs out.
        overfetch: the first round's depth as a multiple of ``k``.
    """

    def __init__(
        self,
        retriever: Retriever,
        filters: Filters,
        documents: Sequence[Document] | None = None,
        where: Literal["before", "after"] = "after",
        overfetch: int = 4,
    ) -> None:
        if where not in ("before", "after"):
            raise UsageError(f"unknown filter placement {where!r}; use 'before' or 'after'")
        if overfetch < 1:
            raise UsageError("overfetch must be at least 1")
        self.retriever = retriever
        self.predicate = compile_filter(filters)
        self.where = where
        self.overfetch = overfetch
        self.allowed: list[str] | None = None
        #: how many candidates the last "after" search fetched (to see the over-fetch at work)
        self.last_depth = 0
        if where == "before":
            if not hasattr(retriever, "retrieve_within"):
                raise UsageError(f"{type(retriever).__name__} cannot search a subset; use where='after'")
            if documents is None:
                raise UsageError("where='before' needs the documents, to list the ids that match")
            self.allowed = [d.id for d in documents if self.predicate(d)]

    def retrieve(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best matching documents (fewer only when fewer match)."""
        if self.allowed is not None:
            if not self.allowed:
                return []
            return self.retriever.retrieve_within(query, k, self.allowed)  # type: ignore[attr-defined]
        depth = max(k, k * self.overfetch)
        while True:
            hits = self.retriever.retrieve(query, depth)
            self.last_depth = depth
            kept = filter_hits(hits, self.predicate)
            if len(kept) >= k or len(hits) < depth:
                return kept[:k]
            depth *= 4
