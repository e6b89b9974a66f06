"""Every chunk traces back to its document, version, chunker and embedder; the trace detects staleness."""

from __future__ import annotations

from dataclasses import replace

from playbook_lib.ops.lineage import chunk_lineage, lineage_frame, verify_lineage
from playbook_lib.rag.chunk import ChunkSpec, chunk_documents

SETTINGS = {"model": "all-MiniLM-L6-v2", "normalize": True}


def test_lineage_verifies_and_detects_every_kind_of_drift(sample_docs, embedder) -> None:
    spec = ChunkSpec("fixed", size=24, overlap=4)
    chunks = chunk_documents(sample_docs, embedder.count_tokens, spec)
    records = chunk_lineage(chunks, sample_docs, spec, SETTINGS)
    assert len(records) == len(chunks) and len({r.corpus_version for r in records}) == 1
    docs = {d.id: d for d in sample_docs}
    assert all(verify_lineage(r, docs, spec, embedder.count_tokens) == "ok" for r in records)
    r = next(r for r in records if r.position == 1)
    assert (
        verify_lineage(
            r,
            {**docs, r.doc_id: replace(docs[r.doc_id], text=docs[r.doc_id].text + " New.")},
            spec,
            embedder.count_tokens,
        )
        == "document changed"
    )
    assert verify_lineage(r, {}, spec, embedder.count_tokens) == "document missing"
    assert verify_lineage(r, docs, ChunkSpec("fixed", size=32, overlap=4), embedder.count_tokens) == "chunker changed"
    frame = lineage_frame(records)
    assert frame.loc[r.chunk_id, "doc_id"] == r.doc_id


def test_settings_change_the_recorded_hashes(sample_docs, embedder) -> None:
    spec = ChunkSpec("sentence", size=40, overlap=0)
    chunks = chunk_documents(sample_docs[:3], embedder.count_tokens, spec)
    a = chunk_lineage(chunks, sample_docs[:3], spec, SETTINGS)[0]
    b = chunk_lineage(chunks, sample_docs[:3], spec, {**SETTINGS, "normalize": False})[0]
    c = chunk_lineage(chunks, sample_docs[:3], ChunkSpec("sentence", size=41, overlap=0), SETTINGS)[0]
    assert a.embedder != b.embedder and a.chunker == b.chunker and a.chunker != c.chunker
    assert a.corpus_version == b.corpus_version
