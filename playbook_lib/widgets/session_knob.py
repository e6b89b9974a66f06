"""The session-expiry explorer of the *Data types* page (``notebooks/ops_04_data_types.ipynb``).

Two sliders: ``session_ttl_s``, the silence after which :class:`~playbook_lib.ops.memory.SessionMemory` forgets a
session, and ``k``, the passages retrieved for the follow-up. Each of the page's conversations is played on a fake
clock: the user's question at 0 s, the assistant's answer a few seconds later, then the page's follow-up after that
conversation's silence (a fixed schedule of silences, from half a minute to one and a half hours, cycled over the
questions). At every setting each conversation's memory is replayed when the cell runs, and the page shows which
turns it still holds when the follow-up arrives (with their timestamps), the retrieval query it builds
(:meth:`~playbook_lib.ops.memory.SessionMemory.contextual_query`) and whether a relevant document is in the top
``k`` for the follow-up, without and with memory. Each distinct query is retrieved once, at the largest ``k``, and
cut. The published page moves between settings without a kernel (:mod:`playbook_lib.widgets.explorer`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from playbook_lib.ops.memory import SessionMemory, Turn
from playbook_lib.widgets.explorer import Explorer, slider

if TYPE_CHECKING:
    from playbook_lib.rag.retrieve import Hit, Retriever

#: The explorer's expiry settings in seconds (the page's default, 1800, is one of them).
SESSION_TTLS = (60, 300, 900, 1800, 3600, 7200)
#: Silences before the follow-up, in seconds, cycled over the page's conversations.
SILENCES = (30, 240, 600, 1200, 2400, 5400)
#: Seconds between the user's question and the assistant's answer.
ANSWER_AFTER_S = 5.0
#: The explorer's largest k.
SESSION_MAX_K = 5


@dataclass(frozen=True)
class Conversation:
    """One of the page's conversations: a question, then the follow-up after ``silence_s`` seconds."""

    qid: str
    question: str
    silence_s: float


def conversations(queries: Mapping[str, str], silences: Sequence[float] = SILENCES) -> list[Conversation]:
    """One conversation per question, in order, the ``silences`` cycled over them."""
    if not silences:
        raise ValueError("conversations needs at least one silence")
    return [Conversation(q, text, float(silences[i % len(silences)])) for i, (q, text) in enumerate(queries.items())]


def replay(
    conversation: Conversation, follow_up: str, ttl_s: float, answer: str = "(answer)"
) -> tuple[list[Turn], str]:
    """Play ``conversation`` on a fake clock with a memory that forgets after ``ttl_s`` s of silence; return the
    turns it holds when ``follow_up`` arrives and the retrieval query it then builds."""
    now = [0.0]
    memory = SessionMemory(f"user-{conversation.qid}", ttl_seconds=ttl_s, clock=lambda: now[0])
    memory.add("user", conversation.question)
    now[0] = ANSWER_AFTER_S
    memory.add("assistant", answer)
    now[0] = ANSWER_AFTER_S + conversation.silence_s
    return memory.turns, memory.contextual_query(follow_up)


def _found(hits: Sequence[Hit], judged: Mapping[str, int]) -> bool:
    return any(judged.get(h.doc_id, 0) > 0 for h in hits)


def _ago(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def session_html(
    ranked: Mapping[str, Sequence[Hit]],
    talks: Sequence[Conversation],
    qrels: Mapping[str, Mapping[str, int]],
    follow_up: str,
    ttl_s: float,
    k: int,
) -> str:
    """What the memory holds for each conversation at ``ttl_s`` and what the follow-up then retrieves in its top
    ``k``; ``ranked`` maps each retrieval query (the follow-up alone, and each question + follow-up) to its hits,
    best first (at least ``k`` of them, cut here)."""
    rows, kept_in, alone_ok, memory_ok = [], 0, 0, 0
    for talk in talks:
        turns, query = replay(talk, follow_up, ttl_s)
        judged = qrels.get(talk.qid, {})
        alone, remembered = _found(ranked[follow_up][:k], judged), _found(ranked[query][:k], judged)
        kept_in += bool(turns)
        alone_ok += alone
        memory_ok += remembered
        held = ", ".join(f"{t.role} @{t.at:g} s" for t in turns) or "none: expired"
        rows.append(
            f"<tr><td>{html.escape(talk.qid)}</td><td>{_ago(talk.silence_s)}</td><td>{held}</td>"
            f"<td>{html.escape(query)}</td><td>{'yes' if alone else 'no'}</td><td>{'yes' if remembered else 'no'}</td>"
            "</tr>"
        )
    n = len(talks)
    return (
        f"<p>session_ttl_s {ttl_s:g}: the memory still held the conversation in <b>{kept_in} of {n}</b> "
        f"conversations when the follow-up arrived; follow-up answered from a relevant document in the top {k}: "
        f"without memory <b>{alone_ok} of {n}</b>, with memory <b>{memory_ok} of {n}</b>.</p>"
        "<table class='dataframe'><thead><tr><th>conversation</th><th>silence before the follow-up</th>"
        "<th>turns held (time)</th><th>retrieval query</th><th>relevant in top k, alone</th>"
        f"<th>relevant in top k, with memory</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def session_explorer(
    retriever: Retriever,
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    follow_up: str,
    *,
    ttl_s: float = 1800,
    k: int = 3,
    ttls: Sequence[float] = SESSION_TTLS,
    silences: Sequence[float] = SILENCES,
    max_k: int = SESSION_MAX_K,
    corpus: str = "",
) -> Explorer:
    """Sliders for the session's expiry and k over the page's conversations; each setting shows
    :func:`session_html`.

    ``corpus`` names the retriever's documents (``"bundled"`` for the Heronsgate knowledge base) and travels with
    the conversations, judgements and follow-up in the explorer's inputs, so that a test can rebuild every setting.
    """
    talks = conversations(queries, silences)
    grid = sorted({*(float(t) for t in ttls), float(ttl_s)})
    top = max(max_k, k)
    asked = list(dict.fromkeys([follow_up, *(f"{t.question} {follow_up}" for t in talks)]))
    ranked = {q: retriever.retrieve(q, top) for q in asked}

    def render(session_ttl_s: float, k: int) -> str:
        return session_html(ranked, talks, qrels, follow_up, session_ttl_s, int(k))

    return Explorer(
        render,
        [
            slider("session_ttl_s", grid, float(ttl_s), label="session_ttl_s (forget after s of silence)", fmt="{:g}"),
            slider("k", list(range(1, top + 1)), k, label="passages retrieved (k)", fmt="{:d}"),
        ],
        kind="session-ttl",
        caption="Move the session's expiry and k: which turns the memory still holds when each follow-up "
        "arrives, and whether the follow-up then finds a relevant document.",
        inputs={
            "corpus": corpus,
            "method": type(retriever).__name__,
            "follow_up": follow_up,
            "conversations": [{"qid": t.qid, "question": t.question, "silence_s": t.silence_s} for t in talks],
            "qrels": {t.qid: dict(qrels.get(t.qid, {})) for t in talks},
        },
    )


__all__ = [
    "ANSWER_AFTER_S",
    "SESSION_MAX_K",
    "SESSION_TTLS",
    "SILENCES",
    "Conversation",
    "conversations",
    "replay",
    "session_explorer",
    "session_html",
]
