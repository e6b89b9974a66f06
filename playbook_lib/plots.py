"""Matplotlib figures used by the notebooks and reports. Each function returns its ``Figure``.

Taught alongside the pages that call them; see each function's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from playbook_lib.rag.retrieve import Hit


def plot_hits(hits: Sequence[Hit], all_scores: np.ndarray | None = None, title: str = "") -> Figure:
    """Bar chart of the hits' similarity scores; beside it, where the hits sit among all documents' scores.

    Used on the *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``).
    """
    import matplotlib.pyplot as plt

    ncols = 2 if all_scores is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 0.45 * max(len(hits), 4) + 1.2), squeeze=False)
    ax = axes[0, 0]
    labels = [f"#{h.rank} {h.doc_id}" for h in hits]
    ax.barh(labels[::-1], [h.score for h in hits][::-1], color="#3b7dd8")
    ax.set_xlabel("cosine similarity to the query")
    ax.set_title(title or "Top hits")
    for y, h in enumerate(reversed(hits)):
        ax.text(h.score, y, f" {h.score:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, max(1.0, max((h.score for h in hits), default=0) * 1.15))
    if all_scores is not None:
        ax2 = axes[0, 1]
        ax2.hist(all_scores, bins=min(50, max(10, len(all_scores) // 4)), color="#999999")
        for h in hits:
            ax2.axvline(h.score, color="#3b7dd8", linewidth=1)
        ax2.set_xlabel("cosine similarity, every document")
        ax2.set_ylabel("documents")
        ax2.set_title("Hits (blue) against the whole corpus")
    fig.tight_layout()
    return fig
