"""Session memory: bounded, expiring, erasable, and it makes follow-up questions retrievable."""

from __future__ import annotations

import pytest

from playbook_lib.ops.memory import SessionMemory
from playbook_lib.rag.retrieve import DenseRetriever


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bounded_expiring_and_forgettable() -> None:
    clock = Clock()
    memory = SessionMemory("s1", max_turns=3, ttl_seconds=60, clock=clock)
    for i in range(5):
        memory.add("user", f"q{i}")
    assert [t.text for t in memory.turns] == ["q2", "q3", "q4"]
    clock.now = 61
    assert memory.turns == []  # expired after a minute of silence
    memory.add("user", "again")
    assert memory.forget() == 1 and memory.turns == []
    with pytest.raises(ValueError):
        memory.add("system", "x")


def test_window_fits_the_budget() -> None:
    memory = SessionMemory("s")
    for text in ["one two three", "four five", "six"]:
        memory.add("user", text)
    words = lambda s: len(s.split())  # noqa: E731
    assert [t.text for t in memory.window(words, 3)] == ["four five", "six"]
    assert memory.window(words, 0) == []


def test_follow_up_is_retrieved_only_with_memory(sample_docs, embedder) -> None:
    retriever = DenseRetriever.from_documents(sample_docs, embedder)
    memory = SessionMemory("s")
    memory.add("user", "Tell me about the Wren-3 Lite.")
    follow_up = "How long does its battery last on one charge?"
    assert memory.contextual_query(follow_up) == "Tell me about the Wren-3 Lite. " + follow_up
    with_memory = retriever.retrieve(memory.contextual_query(follow_up), 1)[0].doc_id
    assert with_memory == "kb-003"  # the Lite's article (60 hours)
