"""Context construction: assemble retrieved chunks into a prompt that fits a token budget.

Taught in the book's *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``).

Chunks go in rank order and are kept or dropped whole: the first chunk that does not fit ends the context. Only
when not even the best chunk fits is it cut, and then after a whole word, never inside one. Tokens are counted
with the tokenizer of the model that will read the prompt (passed in as ``count_tokens``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from playbook_lib.rag.corpus import Document
from playbook_lib.rag.retrieve import Hit

#: The prompt shape of the chapter's minimal pipeline; ``{context}`` holds the chunks, blank-line separated.
DEFAULT_TEMPLATE = "Context: {context}\nQuestion: {question}\nAnswer:"

TokenCounter = Callable[[str], int]

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Prompt:
    """An assembled prompt and how it was made."""

    text: str
    n_tokens: int
    budget: int
    used_ids: list[str]
    dropped_ids: list[str] = field(default_factory=list)
    truncated_id: str | None = None


def _chunk_text(chunk: Hit | Document | str) -> tuple[str, str]:
    if isinstance(chunk, Hit):
        chunk = chunk.document
    if isinstance(chunk, Document):
        return chunk.id, chunk.full_text
    return "", chunk


def _render(template: str, question: str, pieces: list[str]) -> str:
    return template.format(context="\n\n".join(pieces), question=question)


def truncate_to_words(text: str, fits: Callable[[str], bool]) -> str:
    """Longest prefix of ``text`` that ends after a whole word and satisfies ``fits`` ("" if none does)."""
    ends = [m.end() for m in _WORD.finditer(text)]
    lo, hi = 0, len(ends)  # invariant: prefix of `lo` words fits (0 words always allowed)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(text[: ends[mid - 1]]):
            lo = mid
        else:
            hi = mid - 1
    return text[: ends[lo - 1]] if lo else ""


def build_prompt(
    question: str,
    chunks: Sequence[Hit | Document | str],
    count_tokens: TokenCounter,
    budget: int = 512,
    template: str = DEFAULT_TEMPLATE,
    cite: bool = True,
) -> Prompt:
    """Assemble ``template`` with as many whole ``chunks`` as fit in ``budget`` tokens.

    Args:
        question: the user's question.
        chunks: hits, documents or plain strings, best first.
        count_tokens: the reading model's token counter, e.g. ``MiniLMEmbedder().count_tokens``.
        budget: the most tokens the whole prompt may have.
        template: a format string with ``{context}`` and ``{question}``.
        cite: prefix each chunk with its id in brackets, so answers can cite it.

    Raises:
        ValueError: when the template and question alone exceed the budget.
    """
    empty = _render(template, question, [])
    if count_tokens(empty) > budget:
        raise ValueError(
            f"the question and template alone take {count_tokens(empty)} tokens, over the budget of {budget}"
        )
    pieces: list[str] = []
    used: list[str] = []
    truncated: str | None = None
    dropped: list[str] = []
    for position, chunk in enumerate(chunks):
        chunk_id, text = _chunk_text(chunk)
        prefix = f"[{chunk_id}] " if cite and chunk_id else ""
        candidate = _render(template, question, [*pieces, prefix + text])
        if count_tokens(candidate) <= budget:
            pieces.append(prefix + text)
            used.append(chunk_id)
            continue
        if not pieces:

            def fits(t: str, prefix: str = prefix) -> bool:  # called at once; prefix bound for clarity (B023)
                return count_tokens(_render(template, question, [prefix + t])) <= budget

            head = truncate_to_words(text, fits)
            if head:
                pieces.append(prefix + head)
                used.append(chunk_id)
                truncated = chunk_id
                position += 1
        dropped = [_chunk_text(c)[0] for c in chunks[position:]]
        break
    text = _render(template, question, pieces)
    return Prompt(
        text=text,
        n_tokens=count_tokens(text),
        budget=budget,
        used_ids=used,
        dropped_ids=dropped,
        truncated_id=truncated,
    )
