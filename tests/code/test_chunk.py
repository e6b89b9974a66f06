"""Chunking strategies: size bounds in tokens, whole words, overlap, stable ids."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_lib.errors import UsageError
from playbook_lib.rag.chunk import ChunkSpec, chunk_documents, chunk_text, show_chunks
from playbook_lib.rag.corpus import Document


def wc(text: str) -> int:
    return len(text.split())


words = st.text(alphabet="abcdefgh", min_size=1, max_size=6)
sentences = st.lists(words, min_size=1, max_size=25).map(lambda ws: " ".join(ws).capitalize() + ".")
paragraphs = st.lists(sentences, min_size=1, max_size=6).map(" ".join)
texts = st.lists(paragraphs, min_size=1, max_size=4).map("\n\n".join)


@settings(max_examples=150, deadline=None)
@given(
    text=texts,
    strategy=st.sampled_from(["fixed", "sentence", "recursive"]),
    size=st.integers(8, 40),
    overlap=st.integers(0, 7),
)
def test_every_strategy_respects_size_and_keeps_every_word(text: str, strategy: str, size: int, overlap: int) -> None:
    pieces = chunk_text(text, wc, ChunkSpec(strategy, size, overlap))  # type: ignore[arg-type]
    assert pieces and all(wc(p) <= size for p in pieces)
    all_words = set(text.split())
    assert set(" ".join(pieces).split()) == all_words  # nothing lost, nothing invented, no word cut
    if strategy != "fixed" or overlap == 0:
        assert sum(wc(p) for p in pieces) >= len(text.split())


def test_fixed_overlap_repeats_tail_words() -> None:
    text = " ".join(f"w{i}" for i in range(30))
    pieces = chunk_text(text, wc, ChunkSpec("fixed", 10, 3))
    assert pieces[0].split()[-3:] == pieces[1].split()[:3]
    assert pieces[-1].endswith("w29") and all(wc(p) <= 10 for p in pieces)


def test_recursive_prefers_paragraph_boundaries() -> None:
    text = "Alpha beta gamma delta epsilon.\n\nZeta eta theta iota kappa.\n\nLambda mu nu xi omicron."
    assert chunk_text(text, wc, ChunkSpec("recursive", 10, 0)) == [
        "Alpha beta gamma delta epsilon.\n\nZeta eta theta iota kappa.",
        "Lambda mu nu xi omicron.",
    ]


def test_documents_get_stable_chunk_ids(embedder) -> None:
    docs = [Document(id="a", text="One. Two. Three. " * 40, title="T"), Document(id="b", text="Short.")]
    spec = ChunkSpec("sentence", 32, 0)
    chunks = chunk_documents(docs, embedder.count_tokens, spec)
    assert chunks == chunk_documents(docs, embedder.count_tokens, spec)
    assert [c.id for c in chunks if c.doc_id == "b"] == ["b#0"]
    assert all(c.n_tokens <= 32 and c.n_tokens == embedder.count_tokens(c.text) for c in chunks)
    assert chunks[0].as_document().metadata["doc_id"] == "a"
    assert list(show_chunks(chunks).columns) == ["doc_id", "tokens", "text"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(("magic", 64, 0), "unknown chunking"), (("fixed", 4, 0), "too small"), (("fixed", 64, 64), "overlap")],
)
def test_bad_specs(args: tuple, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ChunkSpec(*args)
