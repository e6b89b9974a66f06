"""Versioning and incremental refresh: only changed documents are embedded, and the result equals a rebuild."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from playbook_lib.errors import EmptyDataError
from playbook_lib.ops.refresh import EmbeddingCache, RefreshingIndex
from playbook_lib.ops.versioning import content_hash, dataset_version, settings_hash
from playbook_lib.rag.corpus import Document


class CountingEmbedder:
    """A deterministic hashing embedder that records every text it embeds (the real one is tested in tests/data)."""

    dim = 16

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed_documents(self, texts):
        self.seen.extend(texts)
        rows = [np.random.default_rng(int(content_hash(t), 16) % 2**32).normal(size=self.dim) for t in texts]
        x = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def corpus(n: int) -> list[Document]:
    return [Document(id=f"d{i:03d}", text=f"document number {i} about topic {i % 7}") for i in range(n)]


def test_versions_are_content_addressed() -> None:
    a = [("x", content_hash("one")), ("y", content_hash("two"))]
    assert dataset_version(a) == dataset_version(list(reversed(a)))
    assert dataset_version(a) != dataset_version([("x", content_hash("one!")), ("y", content_hash("two"))])
    assert settings_hash({"a": 1, "b": 2}) == settings_hash({"b": 2, "a": 1})


def test_refresh_embeds_only_changes_and_equals_rebuild() -> None:
    docs = corpus(200)
    embedder = CountingEmbedder()
    live = RefreshingIndex(embedder)
    first = live.refresh(docs)
    assert first.embedded == 200 and len(first.added) == 200

    # change 1% (2 documents), delete 1, add 1
    snapshot = [replace(d, text=d.text + " (revised)") if d.id in {"d010", "d150"} else d for d in docs]
    snapshot = [d for d in snapshot if d.id != "d020"] + [Document(id="d999", text="a brand new document")]
    embedder.seen.clear()
    report = live.refresh(snapshot)
    assert report.changed == ["d010", "d150"] and report.deleted == ["d020"] and report.added == ["d999"]
    assert report.embedded == 3 and len(embedder.seen) == 3
    assert report.touched_share == pytest.approx(3 / 200)
    assert report.version_before != report.version_after

    rebuilt = RefreshingIndex(CountingEmbedder())
    rebuilt.refresh(snapshot)
    for query in ("document number 10", "topic 3", "brand new"):
        assert [h.doc_id for h in live.retrieve(query, 10)] == [h.doc_id for h in rebuilt.retrieve(query, 10)]
    assert live.version == rebuilt.version
    assert live.lineage("d010").content_hash == content_hash(snapshot[10].full_text)


def test_unchanged_refresh_embeds_nothing(tmp_path: Path) -> None:
    docs = corpus(20)
    live = RefreshingIndex(CountingEmbedder())
    live.refresh(docs)
    assert live.refresh(docs).embedded == 0
    live.cache.save(tmp_path / "cache.npz")
    reloaded = EmbeddingCache.load(tmp_path / "cache.npz", live.cache.embedder_key)
    assert len(reloaded) == 20
    assert len(EmbeddingCache.load(tmp_path / "cache.npz", "another-embedder")) == 0
    fresh = RefreshingIndex(CountingEmbedder(), cache=reloaded)
    assert fresh.refresh(docs).embedded == 0
    with pytest.raises(EmptyDataError):
        fresh.refresh([])
