"""The chunking explorer shows, for each strategy, size and overlap, the chunks the library makes."""

from __future__ import annotations

import pytest

from playbook_lib.rag.chunk import ChunkSpec, chunk_documents
from playbook_lib.widgets.rag import CHUNK_OVERLAPS, CHUNK_SIZES, chunking_explorer, chunks_html


def test_every_setting_shows_the_librarys_chunks(sample_docs, embedder) -> None:
    doc = next(d for d in sample_docs if d.id == "kb-020")
    explorer = chunking_explorer(doc, embedder.count_tokens, tokenizer="MiniLMEmbedder")
    assert len(explorer) == 3 * len(CHUNK_SIZES) * len(CHUNK_OVERLAPS)
    assert explorer.initial() == {"strategy": "fixed", "size": 16, "overlap": 4}
    assert explorer.inputs == {"doc_id": "kb-020", "text": doc.text, "tokenizer": "MiniLMEmbedder", "show": 3}
    for strategy in ("fixed", "sentence", "recursive"):
        for size in (12, 40, 64):
            for overlap in CHUNK_OVERLAPS:
                chunks = chunk_documents([doc], embedder.count_tokens, ChunkSpec(strategy, size, overlap))
                shown = explorer.output(strategy=strategy, size=size, overlap=overlap)
                assert shown == chunks_html(chunks)
                assert f"<b>{len(chunks)} chunk(s)</b>" in shown
    # small windows cut the document; a window longer than the document keeps it whole
    small = explorer.output(strategy="fixed", size=12, overlap=0)
    assert "<b>1 chunk(s)</b>" not in small and "kb-020#1" in small
    assert "<b>1 chunk(s)</b>" in explorer.output(strategy="fixed", size=64, overlap=0)
    # overlap repeats words between fixed windows, so the same size makes more chunks
    assert explorer.output(strategy="fixed", size=12, overlap=8) != small


def test_chunks_html_counts_every_chunk_and_shows_the_first(sample_docs, embedder) -> None:
    doc = next(d for d in sample_docs if d.id == "kb-004")
    chunks = chunk_documents([doc], embedder.count_tokens, ChunkSpec("fixed", 12, 0))
    assert len(chunks) > 2
    shown = chunks_html(chunks, show=2)
    assert shown.count("<tr>") == 3  # header + 2 chunks
    assert ", ".join(str(c.n_tokens) for c in chunks) in shown
    assert f"and {len(chunks) - 2} more" in shown
    assert "none" in chunks_html([])


def test_overlaps_must_be_below_every_size(sample_docs, embedder) -> None:
    with pytest.raises(ValueError, match="below the smallest size"):
        chunking_explorer(sample_docs[0], embedder.count_tokens, sizes=(8, 16), overlaps=(0, 8), size=8, overlap=0)


def test_prompt_explorer_shows_build_prompts_prompt_for_each_k_and_budget(sample_docs, embedder) -> None:
    from playbook_lib.rag.context import build_prompt
    from playbook_lib.widgets.rag import prompt_explorer, prompt_html

    ranked = sample_docs[:5]
    question = "What does error E17 mean?"
    explorer = prompt_explorer(question, ranked, embedder.count_tokens, k=3, budget=200, tokenizer="MiniLMEmbedder")
    assert len(explorer) == 5 * len(explorer.controls[1].values) and 200 in explorer.controls[1].values
    assert explorer.inputs["chunks"][0] == {"id": ranked[0].id, "text": ranked[0].text, "title": ranked[0].title}
    for k in (1, 3, 5):
        for budget in (80, 200, 400):
            prompt = build_prompt(question, ranked[:k], embedder.count_tokens, budget=budget)
            shown = explorer.output(k=k, budget=budget)
            assert shown == prompt_html(question, ranked[:k], embedder.count_tokens, budget)
            assert f"<b>{prompt.n_tokens} of {budget} tokens</b>" in shown
            assert f"used {', '.join(prompt.used_ids) or 'none'};" in shown
    # a tight budget drops chunks that a loose one keeps; more k adds chunks only while the budget allows
    assert "dropped none" not in explorer.output(k=5, budget=80)
    assert "dropped none" in explorer.output(k=5, budget=400)
    assert explorer.output(k=1, budget=400) != explorer.output(k=5, budget=400)
    # a budget under the question and template alone is refused, as build_prompt refuses it
    assert "data-pb-outcome='refused'" in prompt_html(question, ranked, embedder.count_tokens, 5)
