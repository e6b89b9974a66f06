"""The session-expiry explorer replays each conversation's memory at each expiry and shows what it keeps."""

from __future__ import annotations

import pytest

from playbook_lib.ops.memory import SessionMemory
from playbook_lib.rag.retrieve import DenseRetriever

FOLLOW_UP = "Can you tell me more about that?"


def test_replay_keeps_the_turns_until_the_silence_passes_the_expiry() -> None:
    from playbook_lib.widgets.session_knob import Conversation, replay

    talk = Conversation("q1", "What does error E17 mean?", 600.0)
    turns, query = replay(talk, FOLLOW_UP, 900)
    assert [(t.role, t.at) for t in turns] == [("user", 0.0), ("assistant", 5.0)]
    assert query == f"What does error E17 mean? {FOLLOW_UP}"
    assert replay(talk, FOLLOW_UP, 300) == ([], FOLLOW_UP)
    # the same as SessionMemory used directly
    now = [0.0]
    memory = SessionMemory("x", ttl_seconds=300, clock=lambda: now[0])
    memory.add("user", talk.question)
    now[0] = 605.0
    assert memory.turns == []


def test_each_setting_is_the_library_called_directly(sample_docs, embedder) -> None:
    from playbook_lib.scenarios.workload import load_workload
    from playbook_lib.widgets.session_knob import SILENCES, conversations, session_explorer, session_html

    work = load_workload("")
    retriever = DenseRetriever.from_documents(sample_docs, embedder)
    explorer = session_explorer(retriever, work.queries, work.qrels, FOLLOW_UP, corpus="bundled")
    assert explorer.initial() == {"session_ttl_s": 1800.0, "k": 3}
    talks = conversations(work.queries)
    assert [t.silence_s for t in talks[:6]] == list(SILENCES)
    for ttl, k in ((60.0, 3), (1800.0, 1), (7200.0, 5)):
        asked = [FOLLOW_UP, *(f"{t.question} {FOLLOW_UP}" for t in talks)]
        ranked = {q: retriever.retrieve(q, k) for q in asked}  # at k, not cut from the largest k
        assert explorer.output(session_ttl_s=ttl, k=k) == session_html(ranked, talks, work.qrels, FOLLOW_UP, ttl, k)


@pytest.mark.parametrize(("ttl", "held"), [(60.0, 2), (900.0, 6), (7200.0, 12)])
def test_the_expiry_changes_what_is_kept(sample_docs, embedder, ttl, held) -> None:
    from playbook_lib.scenarios.workload import load_workload
    from playbook_lib.widgets.session_knob import session_explorer

    work = load_workload("")
    retriever = DenseRetriever.from_documents(sample_docs, embedder)
    explorer = session_explorer(retriever, work.queries, work.qrels, FOLLOW_UP)
    shown = explorer.output(session_ttl_s=ttl, k=3)
    assert f"held the conversation in <b>{held} of 12</b>" in shown
    assert shown.count("none: expired") == 12 - held
    assert explorer.output(session_ttl_s=ttl, k=1) != shown or held == 0
