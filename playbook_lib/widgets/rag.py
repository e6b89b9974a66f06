"""Explorers for the RAG pages: retrieval (*Minimal RAG*, ``notebooks/ops_06_minimal_rag.ipynb``), chunking
(*The RAG workflow*, ``notebooks/ops_05_rag_workflow.ipynb``) and prompt assembly (*The pipeline*,
``notebooks/ops_01_pipeline_overview.ipynb``)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from playbook_lib.rag.chunk import Chunk, ChunkSpec, Strategy, chunk_documents
from playbook_lib.rag.context import build_prompt
from playbook_lib.rag.retrieve import hits_frame
from playbook_lib.widgets.explorer import Explorer, choice, slider

if TYPE_CHECKING:
    from playbook_lib.rag.context import TokenCounter
    from playbook_lib.rag.corpus import Document
    from playbook_lib.rag.retrieve import Hit, Retriever


def hits_html(hits: Sequence[Hit], text_chars: int = 80) -> str:
    """The hits table (:func:`~playbook_lib.rag.retrieve.hits_frame`) as compact HTML: no whitespace between tags,
    texts cut at ``text_chars`` (an explorer carries one table per setting)."""
    table = hits_frame(hits, text_chars=text_chars).to_html(classes="dataframe", border=0)
    return re.sub(r">\s+<", "><", table)


def query_choices(query: str, more: Sequence[str] = (), limit: int = 6) -> list[str]:
    """``query`` then up to ``limit - 1`` of ``more``, without repeats or empty strings."""
    out: list[str] = []
    for q in (query, *more):
        if q and q not in out:
            out.append(q)
    return out[:limit]


def query_explorer(
    retriever: Retriever,
    query: str,
    k: int = 5,
    max_k: int = 10,
    queries: Sequence[str] = (),
    corpus: str = "",
) -> Explorer:
    """A query menu (``query`` and up to five of ``queries``) and a k slider; each setting shows the ranked hits.

    A static page cannot embed a new query, so the menu offers the queries the build ran; in a kernel,
    ``query_explorer(...).live()`` re-ranks on every change and ``retriever.retrieve(text, k)`` takes any text.
    ``corpus`` names the documents (e.g. ``"bundled"``) so that a test can rebuild the retriever and compare.
    """
    top = max(1, min(max_k, len(getattr(retriever, "documents", ())) or max_k))
    k = max(1, min(k, top))
    options = query_choices(query, queries)

    def render(query: str, k: int) -> str:
        return hits_html(retriever.retrieve(query, int(k)))

    return Explorer(
        render,
        [choice("query", options, options[0]), slider("k", list(range(1, top + 1)), k, fmt="{:d}")],
        kind="retrieval",
        caption="Pick a query and k: the hits the retriever ranked for it.",
        inputs={"corpus": corpus, "method": type(retriever).__name__},
    )


#: The chunking explorer's grid: chunk sizes and overlaps in the embedding model's tokens, and the strategies.
CHUNK_SIZES = (12, 16, 24, 32, 40, 48, 64)
CHUNK_OVERLAPS = (0, 4, 8)
CHUNK_STRATEGIES: tuple[Strategy, ...] = ("fixed", "sentence", "recursive")


def chunks_html(chunks: Sequence[Chunk], show: int = 3) -> str:
    """How many chunks, each one's token count, and the text of the first ``show`` of them, as compact HTML."""
    counts = ", ".join(str(c.n_tokens) for c in chunks)
    rows = "".join(
        f"<tr><td>{html.escape(c.id)}</td><td>{c.n_tokens}</td><td>{html.escape(c.text)}</td></tr>"
        for c in chunks[:show]
    )
    more = f"<p>… and {len(chunks) - show} more.</p>" if len(chunks) > show else ""
    return (
        f"<p><b>{len(chunks)} chunk(s)</b>; tokens per chunk: {counts or 'none'}</p>"
        f"<table class='dataframe'><thead><tr><th>chunk</th><th>tokens</th><th>text</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{more}"
    )


def chunking_explorer(
    document: Document,
    count_tokens: TokenCounter,
    *,
    size: int = 16,
    overlap: int = 4,
    strategy: Strategy = "fixed",
    sizes: Sequence[int] = CHUNK_SIZES,
    overlaps: Sequence[int] = CHUNK_OVERLAPS,
    strategies: Sequence[Strategy] = CHUNK_STRATEGIES,
    show: int = 3,
    tokenizer: str = "",
) -> Explorer:
    """Strategy, chunk size and overlap controls over one document; each setting shows its chunks.

    Every setting is chunked with :func:`~playbook_lib.rag.chunk.chunk_documents` when the explorer is made, the
    tokens counted by ``count_tokens`` (the embedding model's tokenizer, e.g. ``MiniLMEmbedder().count_tokens``).
    Every overlap must be below every size (:class:`~playbook_lib.rag.chunk.ChunkSpec`'s rule). ``tokenizer``
    names the counter (e.g. ``"MiniLMEmbedder"``) and travels with the document's text in the explorer's inputs, so
    that a test can recompute any setting.
    """
    if max(overlaps) >= min(sizes):
        raise ValueError(f"overlaps {list(overlaps)} must all be below the smallest size {min(sizes)}")

    def render(strategy: Strategy, size: int, overlap: int) -> str:
        spec = ChunkSpec(strategy, int(size), int(overlap))
        return chunks_html(chunk_documents([document], count_tokens, spec), show)

    return Explorer(
        render,
        [
            choice("strategy", list(strategies), strategy),
            slider("size", list(sizes), size, label="chunk size (tokens)", fmt="{:d}"),
            slider("overlap", list(overlaps), overlap, label="overlap (tokens)", fmt="{:d}"),
        ],
        kind="chunking",
        caption=f"Chunk document {document.id} ({count_tokens(document.text)} tokens): pick a strategy, a size "
        "and an overlap (overlap applies where text is cut into word windows: fixed, and sentences longer than "
        "the size).",
        inputs={"doc_id": document.id, "text": document.text, "tokenizer": tokenizer, "show": show},
    )


#: The prompt explorer's budgets, in the reading model's tokens.
PROMPT_BUDGETS = (60, 80, 120, 160, 200, 240, 320, 400)


def prompt_html(question: str, chunks: Sequence[Document], count_tokens: TokenCounter, budget: int) -> str:
    """The prompt :func:`~playbook_lib.rag.context.build_prompt` assembles from ``chunks`` within ``budget``
    tokens: its size, the chunk ids used, dropped and truncated, and its text, as compact HTML (a budget the
    question and template alone exceed is refused, as ``build_prompt`` refuses it)."""
    try:
        prompt = build_prompt(question, list(chunks), count_tokens, budget=budget)
    except ValueError as error:
        return f"<p data-pb-outcome='refused'>Refused: {html.escape(str(error))}</p>"
    used = ", ".join(prompt.used_ids) or "none"
    dropped = ", ".join(prompt.dropped_ids) or "none"
    return (
        f"<p data-pb-outcome='built'><b>{prompt.n_tokens} of {prompt.budget} tokens</b>; used {html.escape(used)}; "
        f"dropped {html.escape(dropped)}; truncated {html.escape(prompt.truncated_id or 'none')}</p>"
        f"<pre style='white-space:pre-wrap'>{html.escape(prompt.text)}</pre>"
    )


def prompt_explorer(
    question: str,
    chunks: Sequence[Document],
    count_tokens: TokenCounter,
    *,
    k: int = 3,
    budget: int = 320,
    budgets: Sequence[int] = PROMPT_BUDGETS,
    tokenizer: str = "",
) -> Explorer:
    """A k slider (the first 1 to ``len(chunks)`` of the ranked ``chunks``) and a token-budget slider; each setting
    shows the prompt :func:`prompt_html` assembles.

    ``tokenizer`` names ``count_tokens`` (``"MiniLMEmbedder"`` or a local generator's name); it travels with the
    question and the chunks in the explorer's inputs, so that a test can rebuild every setting's prompt.
    """
    if not chunks:
        raise ValueError("prompt_explorer needs at least one ranked chunk")
    grid = sorted({*budgets, budget})
    k = max(1, min(k, len(chunks)))

    def render(k: int, budget: int) -> str:
        return prompt_html(question, chunks[: int(k)], count_tokens, int(budget))

    return Explorer(
        render,
        [
            slider("k", list(range(1, len(chunks) + 1)), k, label="chunks retrieved (k)", fmt="{:d}"),
            slider("budget", grid, budget, label="prompt budget (tokens)", fmt="{:d}"),
        ],
        kind="prompt",
        caption="Pick k and the prompt's token budget: the prompt build_prompt assembles from the top k chunks.",
        inputs={
            "question": question,
            "chunks": [{"id": c.id, "text": c.text, "title": c.title} for c in chunks],
            "tokenizer": tokenizer,
        },
    )


__all__ = [
    "CHUNK_OVERLAPS",
    "CHUNK_SIZES",
    "CHUNK_STRATEGIES",
    "PROMPT_BUDGETS",
    "chunking_explorer",
    "chunks_html",
    "hits_html",
    "prompt_explorer",
    "prompt_html",
    "query_choices",
    "query_explorer",
]
