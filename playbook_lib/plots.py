"""Matplotlib figures used by the notebooks and reports. Each function returns its ``Figure``.

Taught alongside the pages that call them; see each function's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from playbook_lib.models.scaling import optimal_by_loss, optimal_by_rule, parametric_loss

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from playbook_lib.rag.retrieve import Hit


def plot_hits(hits: Sequence[Hit], all_scores: np.ndarray | None = None, title: str = "") -> Figure:
    """Bar chart of the hits' similarity scores; beside it, where the hits sit among all documents' scores.

    Used on the *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``).
    """
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

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


def plot_attention(tokens: Sequence[str], weights: np.ndarray, title: str = "") -> Figure:
    """Heatmap of an attention matrix: row i is how token i's query spreads its weight over the keys.

    Used on the *Transformers, attention and scaling* page (``notebooks/dm_04_scaling.ipynb``).
    """
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    n = len(tokens)
    size = min(9.0, 2.5 + 0.38 * n)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=float(np.max(weights)))
    ax.set_xticks(range(n), tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(n), tokens, fontsize=8)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title or "Attention weights")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def plot_iso_compute(budgets: Sequence[float], n_points: int = 200) -> Figure:
    """The Chinchilla parametric loss along iso-compute curves (C = 6ND), one per budget, with each optimum marked.

    Used on the *Transformers, attention and scaling* page (``notebooks/dm_04_scaling.ipynb``).
    """
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    fig, ax = plt.subplots(figsize=(8, 4.8))
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(budgets)))
    for c, color in zip(budgets, colors):
        best = optimal_by_loss(c)
        ns = np.logspace(np.log10(best.params) - 1.5, np.log10(best.params) + 1.5, n_points)
        losses = [parametric_loss(n, c / (6 * n)) for n in ns]
        ax.plot(ns, losses, color=color, label=f"C = {c:.3g} FLOPs")
        ax.plot(best.params, parametric_loss(best.params, best.tokens), "o", color=color, markersize=7)
        rule = optimal_by_rule(c)
        ax.plot(rule.params, parametric_loss(rule.params, rule.tokens), "x", color=color, markersize=8)
    ax.set_xscale("log")
    ax.set_xlabel("parameters N (tokens D = C / 6N)")
    ax.set_ylabel("parametric loss L(N, D), nats/token")
    ax.set_title("Iso-compute curves: o = loss-fit optimum, x = 20 tokens/param rule")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_routing_sweep(frame: pd.DataFrame, title: str = "") -> Figure:
    """Expected cost and success rate of a cheap-then-strong routing plan as the escalation threshold moves.

    ``frame`` is a DataFrame with columns ``threshold``, ``expected_cost``, ``expected_success`` and optional
    ``cheap_only``/``strong_only`` baselines in ``frame.attrs``. Used on the *Model selection* page
    (``notebooks/dm_07_model_selection.ipynb``).
    """
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    df = frame
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    sc = ax.scatter(df["expected_cost"], df["expected_success"], c=df["threshold"], cmap="plasma", s=28, zorder=3)
    ax.plot(df["expected_cost"], df["expected_success"], color="#999999", linewidth=1, zorder=2)
    for name, base in getattr(df, "attrs", {}).get("baselines", {}).items():
        ax.plot(base["expected_cost"], base["expected_success"], "s", markersize=9, label=name.replace("_", " "))
    ax.set_xlabel("expected cost per task (USD)")
    ax.set_ylabel("expected success rate")
    ax.set_title(title or "Routing plan as the escalation threshold moves")
    fig.colorbar(sc, ax=ax, label="escalation threshold (confidence)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
