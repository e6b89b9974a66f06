"""User and session memory: recent turns of one conversation, bounded, expiring, and erasable on request.

Taught in the book's *Data types* page (``notebooks/ops_04_data_types.ipynb``). A follow-up question ("how long
does *its* battery last?") cannot be retrieved alone; :meth:`SessionMemory.contextual_query` adds the previous
user turns so retrieval sees what "its" refers to.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from playbook_lib.rag.context import TokenCounter


@dataclass(frozen=True)
class Turn:
    """One message of a session."""

    role: str
    text: str
    at: float


class SessionMemory:
    """The last ``max_turns`` turns of one session, forgotten after ``ttl_seconds`` of inactivity.

    Args:
        clock: returns the current time in seconds (injectable, so expiry can be shown without waiting).
    """

    def __init__(
        self, session_id: str, max_turns: int = 8, ttl_seconds: float = 1800.0, clock: Callable[[], float] = time.time
    ) -> None:
        if max_turns < 1:
            raise ValueError("max_turns must be at least 1")
        self.session_id = session_id
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._turns: deque[Turn] = deque(maxlen=max_turns)

    def _expire(self) -> None:
        if self._turns and self.clock() - self._turns[-1].at > self.ttl_seconds:
            self._turns.clear()

    @property
    def turns(self) -> list[Turn]:
        """The remembered turns, oldest first (empty once the session has expired)."""
        self._expire()
        return list(self._turns)

    def add(self, role: str, text: str) -> None:
        """Remember a turn (``role`` is ``"user"`` or ``"assistant"``); the oldest falls out beyond ``max_turns``."""
        if role not in ("user", "assistant"):
            raise ValueError(f"unknown role {role!r}; use 'user' or 'assistant'")
        self._expire()
        self._turns.append(Turn(role, text, self.clock()))

    def forget(self) -> int:
        """Erase the session (a user's deletion request); returns how many turns were dropped."""
        n = len(self._turns)
        self._turns.clear()
        return n

    def contextual_query(self, question: str, n_user_turns: int = 1) -> str:
        """The question preceded by the last ``n_user_turns`` user turns, for retrieval of follow-ups."""
        previous = [t.text for t in self.turns if t.role == "user"][-n_user_turns:] if n_user_turns else []
        return " ".join([*previous, question])

    def window(self, count_tokens: TokenCounter, budget: int) -> list[Turn]:
        """The most recent turns whose texts fit together in ``budget`` tokens, oldest first."""
        kept: list[Turn] = []
        used = 0
        for turn in reversed(self.turns):
            cost = count_tokens(turn.text)
            if used + cost > budget:
                break
            kept.append(turn)
            used += cost
        return kept[::-1]
