"""Retrieval explorer for the *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from playbook_lib.rag.retrieve import hits_frame
from playbook_lib.widgets.explorer import Explorer, choice, slider

if TYPE_CHECKING:
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


__all__ = ["hits_html", "query_choices", "query_explorer"]
