"""Interactive retrieval explorer for the *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playbook_lib.rag.retrieve import hits_frame

if TYPE_CHECKING:
    import ipywidgets

    from playbook_lib.rag.retrieve import DenseRetriever


def query_explorer(retriever: DenseRetriever, query: str, k: int = 5, max_k: int = 20) -> ipywidgets.VBox:
    """A query box and a k slider; on every change, the ranked hits table is redrawn.

    Executed once with the given ``query`` and ``k``, so a static render (the book) shows that snapshot. The table
    is an ``HTML`` widget rather than an ``Output`` widget: its content lives in the widget state, so the snapshot
    embeds it, and headless execution never waits on output capture.
    """
    import ipywidgets as w  # lazy: ipywidgets only in a notebook

    box = w.Text(value=query, description="Query", layout=w.Layout(width="80%"), continuous_update=False)
    slider = w.IntSlider(value=k, min=1, max=max(1, min(max_k, len(retriever.documents))), description="k")
    out = w.HTML()

    def redraw(*_: object) -> None:
        out.value = hits_frame(retriever.retrieve(box.value, slider.value)).to_html(classes="dataframe")

    box.observe(redraw, names="value")
    slider.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([box, slider]), out])
