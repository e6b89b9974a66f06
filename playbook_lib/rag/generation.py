"""What every generator shares: the :class:`Generator` protocol, the :class:`Generation` it returns, and the
system prompt given with every RAG prompt. The implementations are in :mod:`playbook_lib.rag.generate` and
:mod:`playbook_lib.rag.bedrock`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

#: The instruction given to chat models with every RAG prompt. Kept short on purpose: SmolLM2-135M answers with
#: a bare citation and no content when also asked to cite (seen here); citations are checked afterwards instead.
SYSTEM_PROMPT = "Answer the question using only the context."


@dataclass(frozen=True)
class Generation:
    """A model's answer and what it cost."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float


@runtime_checkable
class Generator(Protocol):
    """Anything that turns a prompt into text."""

    name: str

    def generate(self, prompt: str, max_tokens: int = 128, temperature: float = 0.0, seed: int = 0) -> Generation: ...
