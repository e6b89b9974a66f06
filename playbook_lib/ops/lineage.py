"""Lineage: trace every chunk (and so every vector) back to its document, the document's version, the chunker
settings and the embedder settings, and check the trace by rebuilding the chunk.

Taught in the book's *Design principles* page (``notebooks/ops_08_design_principles.ipynb``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from playbook_lib.ops.versioning import content_hash, dataset_version, settings_hash
from playbook_lib.rag.chunk import Chunk, ChunkSpec, chunk_text
from playbook_lib.rag.context import TokenCounter
from playbook_lib.rag.corpus import Document

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ChunkLineage:
    """Where one chunk came from and how it was made."""

    chunk_id: str
    chunk_hash: str
    doc_id: str
    doc_hash: str
    position: int
    corpus_version: str
    chunker: str
    embedder: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chunk_lineage(
    chunks: Sequence[Chunk], documents: Sequence[Document], spec: ChunkSpec, embedder_settings: Mapping[str, Any]
) -> list[ChunkLineage]:
    """One lineage record per chunk; the corpus version is :func:`~playbook_lib.ops.versioning.dataset_version`
    of the documents' content hashes, the chunker and embedder are hashes of their settings."""
    doc_hashes = {d.id: content_hash(d.full_text) for d in documents}
    version = dataset_version(doc_hashes.items())
    chunker = settings_hash({"strategy": spec.strategy, "size": spec.size, "overlap": spec.overlap})
    embedder = settings_hash(dict(embedder_settings))
    return [
        ChunkLineage(
            chunk_id=c.id,
            chunk_hash=content_hash(c.text),
            doc_id=c.doc_id,
            doc_hash=doc_hashes[c.doc_id],
            position=c.position,
            corpus_version=version,
            chunker=chunker,
            embedder=embedder,
        )
        for c in chunks
    ]


def lineage_frame(records: Sequence[ChunkLineage]) -> pd.DataFrame:
    """The lineage records as a table indexed by chunk id."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    return pd.DataFrame([r.as_dict() for r in records]).set_index("chunk_id")


def verify_lineage(
    record: ChunkLineage, documents: Mapping[str, Document], spec: ChunkSpec, count_tokens: TokenCounter
) -> str:
    """Re-derive the chunk from its source and say what, if anything, no longer matches.

    Returns ``"ok"``, ``"document missing"``, ``"document changed"`` (its content hash differs: the chunk is
    stale), ``"chunker changed"`` or ``"chunk differs"``.
    """
    doc = documents.get(record.doc_id)
    if doc is None:
        return "document missing"
    if content_hash(doc.full_text) != record.doc_hash:
        return "document changed"
    if settings_hash({"strategy": spec.strategy, "size": spec.size, "overlap": spec.overlap}) != record.chunker:
        return "chunker changed"
    pieces = chunk_text(doc.text, count_tokens, spec)
    if record.position >= len(pieces) or content_hash(pieces[record.position]) != record.chunk_hash:
        return "chunk differs"
    return "ok"
