"""Interactive controls for the Model–Data Operations pages: switch retrievers behind one interface.

Used on the *Core components* page (``notebooks/ops_03_core_components.ipynb``). Controls only; retrieval lives in
``playbook_lib.rag``. Results render into an ``HTML`` widget, so the book embeds the build-time snapshot and
headless runs never wait on output capture.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from playbook_lib.rag.retrieve import hits_frame

if TYPE_CHECKING:
    import ipywidgets

    from playbook_lib.rag.retrieve import Retriever


def retriever_switch(retrievers: Mapping[str, Retriever], query: str, k: int = 5) -> ipywidgets.VBox:
    """A method dropdown, a query box and a k slider; every change redraws the hits of the chosen retriever."""
    import ipywidgets as w  # lazy: ipywidgets only in a notebook

    if not retrievers:
        raise ValueError("retriever_switch needs at least one retriever")
    method = w.Dropdown(options=list(retrievers), description="Method")
    box = w.Text(value=query, description="Query", layout=w.Layout(width="60%"), continuous_update=False)
    slider = w.IntSlider(value=k, min=1, max=20, description="k")
    out = w.HTML()

    def redraw(*_: object) -> None:
        hits = retrievers[method.value].retrieve(box.value, slider.value)
        out.value = hits_frame(hits).to_html(classes="dataframe")

    for control in (method, box, slider):
        control.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([method, slider]), box, out])
