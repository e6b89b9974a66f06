"""Refresh with the real embedder on real text: 1% of 200 SciFact abstracts change; only those are re-embedded,
and every query's ranking equals that of a full rebuild."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from playbook_lib.ops.refresh import RefreshingIndex
from playbook_lib.rag.corpus import load_corpus


class Counting:
    def __init__(self, inner) -> None:
        self.inner, self.count = inner, 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_documents(self, texts):
        self.count += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_refresh_equals_rebuild(shared_data, embedder) -> None:
    docs = load_corpus(shared_data / "scifact" / "corpus.jsonl")[:200]
    counting = Counting(embedder)
    live = RefreshingIndex(counting, {"model": "all-MiniLM-L6-v2"})
    live.refresh(docs)
    changed = {docs[17].id, docs[123].id}
    snapshot = [replace(d, text="Retracted. " + d.text) if d.id in changed else d for d in docs]
    counting.count = 0
    report = live.refresh(snapshot)
    assert set(report.changed) == changed and report.embedded == 2 == counting.count

    rebuilt = RefreshingIndex(embedder, {"model": "all-MiniLM-L6-v2"})
    rebuilt.refresh(snapshot)
    for d in snapshot[::20]:
        a, b = live.retrieve(d.title, 10), rebuilt.retrieve(d.title, 10)
        assert [h.doc_id for h in a] == [h.doc_id for h in b]
        np.testing.assert_allclose([h.score for h in a], [h.score for h in b], atol=1e-5)
