"""Continuous refresh: re-embed only what changed, keyed by content hash, and keep lineage for every vector.

Taught in the book's *Design principles* page of the Model–Data Operations chapter.

:class:`EmbeddingCache` maps ``(embedder settings, content hash)`` to a vector, so an unchanged text is never
embedded twice. :class:`RefreshingIndex` holds a corpus' current documents; :meth:`RefreshingIndex.refresh` takes
the new snapshot, embeds the added and changed documents only, drops the deleted ones, and rebuilds the exact
index from cached vectors (cheap next to embedding). The result equals a full rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from playbook_lib.embeddings.cache import EmbeddingCache
from playbook_lib.embeddings.model import Embedder
from playbook_lib.errors import EmptyDataError
from playbook_lib.io.digest import content_hash, settings_hash
from playbook_lib.ops.versioning import dataset_version
from playbook_lib.rag.corpus import Document
from playbook_lib.rag.index import FlatIndex
from playbook_lib.rag.retrieve import Hit, hits_from_search


@dataclass(frozen=True)
class RefreshReport:
    """What one refresh did."""

    added: list[str]
    changed: list[str]
    deleted: list[str]
    unchanged: int
    embedded: int
    version_before: str
    version_after: str

    @property
    def touched_share(self) -> float:
        """Embedded texts as a share of the corpus after refresh."""
        total = len(self.added) + len(self.changed) + self.unchanged
        return self.embedded / total if total else 0.0


@dataclass(frozen=True)
class Lineage:
    """Where a vector came from: document, its content hash, the corpus version and the embedder settings."""

    doc_id: str
    content_hash: str
    corpus_version: str
    embedder: str


class RefreshingIndex:
    """An exact index over a corpus that refreshes incrementally.

    Args:
        embedder: any :class:`~playbook_lib.embeddings.model.Embedder`.
        embedder_settings: what identifies the embedder's output (model, normalisation...); part of the cache key.
        cache: an existing cache to reuse (e.g. loaded from disk).
    """

    def __init__(
        self, embedder: Embedder, embedder_settings: dict[str, Any] | None = None, cache: EmbeddingCache | None = None
    ) -> None:
        self.embedder = embedder
        self.embedder_settings = embedder_settings or {"embedder": type(embedder).__name__}
        key = settings_hash(self.embedder_settings)
        self.cache = cache if cache is not None else EmbeddingCache(key)
        self.documents: dict[str, Document] = {}
        self.hashes: dict[str, str] = {}
        self.index: FlatIndex | None = None
        self.version = dataset_version([])

    def _embed_missing(self, documents: Sequence[Document]) -> int:
        texts = [doc.full_text for doc in documents]
        return len(self.cache.add_missing([content_hash(t) for t in texts], texts, self.embedder))

    def refresh(self, snapshot: Sequence[Document]) -> RefreshReport:
        """Make the index match ``snapshot`` (the corpus as it is now); embed only new or changed texts."""
        if not snapshot:
            raise EmptyDataError("refresh needs at least one document")
        new_hashes = {d.id: content_hash(d.full_text) for d in snapshot}
        added = sorted(i for i in new_hashes if i not in self.hashes)
        changed = sorted(i for i in new_hashes if i in self.hashes and self.hashes[i] != new_hashes[i])
        deleted = sorted(i for i in self.hashes if i not in new_hashes)
        before = self.version
        embedded = self._embed_missing(snapshot)
        ids = [d.id for d in snapshot]
        index = FlatIndex(self.embedder.dim)
        index.add(ids, self.cache.stack([new_hashes[i] for i in ids], self.embedder.dim))
        self.index = index
        self.documents = {d.id: d for d in snapshot}
        self.hashes = new_hashes
        self.version = dataset_version(new_hashes.items())
        return RefreshReport(
            added=added,
            changed=changed,
            deleted=deleted,
            unchanged=len(new_hashes) - len(added) - len(changed),
            embedded=embedded,
            version_before=before,
            version_after=self.version,
        )

    def retrieve(self, query: str, k: int = 5) -> list[Hit]:
        """Exact search over the current snapshot."""
        if self.index is None:
            raise EmptyDataError("refresh the index with a corpus before retrieving")
        return hits_from_search(self.index.search(self.embedder.embed_query(query)[None, :], k), self.documents)[0]

    def lineage(self, doc_id: str) -> Lineage:
        """Trace the vector of ``doc_id`` back to its content, corpus version and embedder settings."""
        if doc_id not in self.hashes:
            raise KeyError(doc_id)
        return Lineage(
            doc_id=doc_id,
            content_hash=self.hashes[doc_id],
            corpus_version=self.version,
            embedder=self.cache.embedder_key,
        )
