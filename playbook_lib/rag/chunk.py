"""Chunking: split documents into retrievable pieces, sized in the embedding model's tokens.

Taught in the book's *Core components* page of the Model–Data Operations chapter. Three strategies:

``fixed``
    windows of ``size`` tokens with ``overlap`` tokens repeated between neighbours, cut only between words.
``sentence``
    whole sentences packed greedily up to ``size`` tokens (a longer sentence becomes its own chunk and is split
    by ``fixed``).
``recursive``
    split on paragraphs, then lines, then sentences, then words, only as deep as needed to fit ``size``.

Every chunk keeps its document's id and a chunk id ``<doc_id>#<n>``; :func:`show_chunks` tabulates them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from playbook_lib.errors import UsageError
from playbook_lib.rag.context import TokenCounter
from playbook_lib.rag.corpus import Document

if TYPE_CHECKING:
    import pandas as pd

Strategy = Literal["fixed", "sentence", "recursive"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_WORD = re.compile(r"\S+")
_SEPARATORS = ("\n\n", "\n", "sentence", " ")


@dataclass(frozen=True)
class ChunkSpec:
    """How chunks were made: recorded in lineage so a chunk can be traced and rebuilt."""

    strategy: Strategy = "recursive"
    size: int = 128
    overlap: int = 16

    def __post_init__(self) -> None:
        if self.strategy not in ("fixed", "sentence", "recursive"):
            raise UsageError(f"unknown chunking strategy {self.strategy!r}; choose fixed, sentence or recursive")
        if self.size < 8:
            raise UsageError(f"chunk size {self.size} is too small (at least 8 tokens)")
        if not 0 <= self.overlap < self.size:
            raise UsageError(f"overlap {self.overlap} must be between 0 and size - 1 ({self.size - 1})")


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, with where it came from."""

    id: str
    doc_id: str
    position: int
    text: str
    n_tokens: int
    title: str = ""
    metadata: dict = field(default_factory=dict, compare=False, hash=False)

    def as_document(self) -> Document:
        """The chunk as a retrievable :class:`Document` (its id is the chunk id)."""
        return Document(
            id=self.id,
            text=self.text,
            title=self.title,
            metadata={**self.metadata, "doc_id": self.doc_id, "position": self.position},
        )


def _fixed(text: str, count: TokenCounter, size: int, overlap: int) -> list[str]:
    """Windows of whole words of at most ``size`` tokens, neighbours sharing about ``overlap`` tokens."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if not words:
        return []
    lengths = [max(1, count(text[s:e])) for s, e in words]
    pieces: list[str] = []
    start = 0
    while start < len(words):
        end, used = start, 0
        while end < len(words) and (used + lengths[end] <= size or end == start):
            used += lengths[end]
            end += 1
        pieces.append(text[words[start][0] : words[end - 1][1]])
        if end == len(words):
            break
        back, shared = end, 0
        while back > start + 1 and shared + lengths[back - 1] <= overlap:
            back -= 1
            shared += lengths[back]
        start = back
    return pieces


def _split(text: str, separator: str) -> list[str]:
    parts = _SENTENCE_END.split(text) if separator == "sentence" else text.split(separator)
    return [p.strip() for p in parts if p.strip()]


def _pack(parts: Iterable[str], count: TokenCounter, size: int, joiner: str = " ") -> list[str]:
    """Greedily join consecutive parts while the result fits in ``size`` tokens."""
    out: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{joiner}{part}" if current else part
        if current and count(candidate) > size:
            out.append(current)
            current = part
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def _recursive(text: str, count: TokenCounter, size: int, overlap: int, depth: int = 0) -> list[str]:
    if count(text) <= size:
        return [text.strip()] if text.strip() else []
    if depth >= len(_SEPARATORS) - 1:
        return _fixed(text, count, size, overlap)
    separator = _SEPARATORS[depth]
    joiner = separator if separator in ("\n\n", "\n") else " "
    pieces: list[str] = []
    for part in _pack(_split(text, separator), count, size, joiner):
        pieces.extend(_recursive(part, count, size, overlap, depth + 1) if count(part) > size else [part])
    return pieces


def chunk_text(text: str, count_tokens: TokenCounter, spec: ChunkSpec = ChunkSpec()) -> list[str]:
    """Split ``text`` by ``spec``; no piece is longer than ``spec.size`` tokens unless a single word is."""
    if spec.strategy == "fixed":
        return _fixed(text, count_tokens, spec.size, spec.overlap)
    if spec.strategy == "sentence":
        pieces: list[str] = []
        for part in _pack(_split(text, "sentence"), count_tokens, spec.size):
            pieces.extend(
                _fixed(part, count_tokens, spec.size, spec.overlap) if count_tokens(part) > spec.size else [part]
            )
        return pieces
    return _recursive(text, count_tokens, spec.size, spec.overlap)


def chunk_documents(
    documents: Sequence[Document], count_tokens: TokenCounter, spec: ChunkSpec = ChunkSpec()
) -> list[Chunk]:
    """Chunk every document; chunk ids are ``<doc_id>#<position>`` and stable for unchanged input."""
    chunks: list[Chunk] = []
    for doc in documents:
        for position, piece in enumerate(chunk_text(doc.text, count_tokens, spec)):
            chunks.append(
                Chunk(
                    id=f"{doc.id}#{position}",
                    doc_id=doc.id,
                    position=position,
                    text=piece,
                    n_tokens=count_tokens(piece),
                    title=doc.title,
                    metadata=doc.metadata,
                )
            )
    return chunks


def show_chunks(chunks: Sequence[Chunk], text_chars: int = 100) -> pd.DataFrame:
    """A table of chunks (id, document, tokens, start of text) for notebooks."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    return pd.DataFrame(
        {
            "chunk_id": [c.id for c in chunks],
            "doc_id": [c.doc_id for c in chunks],
            "tokens": [c.n_tokens for c in chunks],
            "text": [c.text if len(c.text) <= text_chars else c.text[: text_chars - 1] + "…" for c in chunks],
        }
    ).set_index("chunk_id")
