"""Prompt construction: never over budget, whole chunks, never cut inside a word."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_lib.rag.context import DEFAULT_TEMPLATE, build_prompt, truncate_to_words
from playbook_lib.rag.corpus import Document


def whitespace_tokens(text: str) -> int:
    return len(text.split())


words = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
chunk_texts = st.lists(st.lists(words, min_size=1, max_size=40).map(" ".join), min_size=0, max_size=8)


@settings(max_examples=200, deadline=None)
@given(chunks=chunk_texts, budget=st.integers(min_value=8, max_value=200))
def test_prompt_never_exceeds_budget_and_keeps_whole_words(chunks: list[str], budget: int) -> None:
    docs = [Document(id=f"d{i}", text=t) for i, t in enumerate(chunks)]
    prompt = build_prompt("what is it", docs, count_tokens=whitespace_tokens, budget=budget)
    assert prompt.n_tokens <= budget
    assert prompt.n_tokens == whitespace_tokens(prompt.text)
    # chunks are a rank-order prefix; only the first may be truncated, and then only after a whole word
    assert prompt.used_ids == [d.id for d in docs[: len(prompt.used_ids)]]
    assert prompt.dropped_ids == [d.id for d in docs[len(prompt.used_ids) :]] or prompt.truncated_id
    for doc in docs[: len(prompt.used_ids)]:
        if doc.id == prompt.truncated_id:
            body = re.search(rf"\[{doc.id}\] (.*?)(\n\n|\nQuestion:)", prompt.text, re.S).group(1)
            assert doc.text.startswith(body) and (len(body) == len(doc.text) or doc.text[len(body)] == " ")
        else:
            assert f"[{doc.id}] {doc.text}" in prompt.text


def test_real_tokenizer_budget(embedder, sample_docs) -> None:
    for budget in (40, 60, 100, 160, 300, 1000):
        prompt = build_prompt("How long does the battery last?", sample_docs[:8], embedder.count_tokens, budget)
        assert embedder.count_tokens(prompt.text) == prompt.n_tokens <= budget
        assert prompt.text.startswith("Context: ") and prompt.text.endswith("Answer:")


def test_all_chunks_fit_when_budget_is_large() -> None:
    docs = [Document(id="a", text="one two"), Document(id="b", text="three")]
    prompt = build_prompt("q", docs, whitespace_tokens, budget=100)
    assert prompt.used_ids == ["a", "b"] and prompt.dropped_ids == [] and prompt.truncated_id is None
    assert prompt.text == DEFAULT_TEMPLATE.format(context="[a] one two\n\n[b] three", question="q")


def test_first_chunk_truncated_at_word_boundary() -> None:
    docs = [Document(id="a", text="alpha beta gamma delta epsilon"), Document(id="b", text="zeta")]
    # "Context: [a] alpha beta\nQuestion: q\nAnswer:" is 7 whitespace tokens
    prompt = build_prompt("q", docs, whitespace_tokens, budget=7)
    assert prompt.truncated_id == "a" and prompt.dropped_ids == ["b"]
    assert "[a] alpha beta\n" in prompt.text


def test_question_over_budget_raises() -> None:
    with pytest.raises(ValueError, match="over the budget"):
        build_prompt("a very long question indeed", [], whitespace_tokens, budget=3)


def test_truncate_to_words_keeps_original_spacing() -> None:
    text = "one  two\nthree four"
    assert truncate_to_words(text, lambda t: len(t) <= 12) == "one  two"
    assert truncate_to_words(text, lambda t: False) == ""
    assert truncate_to_words(text, lambda t: True) == text
