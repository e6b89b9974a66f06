"""Figures of the experiment pages. Each function returns its ``Figure``; the data comes from
:mod:`playbook_lib.experiments.runs` (and the other experiment modules) as a pandas frame.

Used on the pages of the *Experiments: every heuristic measured* part (``book/experiments.md``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from playbook_lib.experiments.runs import PowerLawFit

_COLOURS = ["#3b7dd8", "#e07b39", "#4caf50", "#c0392b", "#8e44ad", "#7f8c8d"]


def plot_quality_grid(
    summary: pd.DataFrame, curated: tuple[float, float, float] | None = None, title: str = ""
) -> Figure:
    """Accuracy against training rows, one line (mean ± std over seeds) per label-noise level.

    ``summary`` has ``label_noise``, ``train_rows``, ``mean``, ``std``; ``curated`` = ``(rows, mean, std)`` marks
    the small curated set. Used on ``notebooks/exp_01_quality_vs_quantity.ipynb``.
    """
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for colour, (level, group) in zip(_COLOURS, summary.groupby("label_noise")):
        group = group.sort_values("train_rows")
        ax.errorbar(
            group["train_rows"],
            group["mean"],
            yerr=group["std"],
            marker="o",
            capsize=3,
            color=colour,
            label=f"{level:.0%} labels flipped" + (" (+ duplicates, off-topic)" if level > 0 else " (clean)"),
        )
    if curated is not None:
        ax.errorbar(
            [curated[0]],
            [curated[1]],
            yerr=[curated[2]],
            marker="*",
            markersize=16,
            color="black",
            linestyle="none",
            capsize=3,
            label="small curated set",
        )
    ax.set_xscale("log")
    ax.set_xlabel("training rows (log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title or "Quality against quantity")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_learning_curve(
    summary: pd.DataFrame,
    fit: PowerLawFit | None = None,
    fit_upto: float | None = None,
    baseline: float | None = None,
    title: str = "",
) -> Figure:
    """Measured accuracy (mean ± std over seeds) against training rows, the power law fitted on the rows up to
    ``fit_upto`` (dashed beyond it: the extrapolation) and a zero-shot ``baseline`` line.

    ``summary`` has ``train_rows``, ``mean``, ``std``. Used on ``notebooks/exp_02_learning_curve.ipynb``.
    """
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    fig, ax = plt.subplots(figsize=(7, 4.2))
    s = summary.sort_values("train_rows")
    ax.errorbar(
        s["train_rows"],
        s["mean"],
        yerr=s["std"],
        marker="o",
        capsize=3,
        color=_COLOURS[0],
        linestyle="none",
        label="measured (mean ± std over seeds)",
    )
    if fit is not None:
        grid = np.geomspace(float(s["train_rows"].min()), float(s["train_rows"].max()), 200)
        inside = grid <= (fit_upto if fit_upto is not None else grid.max())
        ax.plot(grid[inside], fit.predict(grid[inside]), color=_COLOURS[1], label="power law fitted here")
        ax.plot(grid[~inside], fit.predict(grid[~inside]), color=_COLOURS[1], linestyle="--", label="its extrapolation")
        if fit_upto is not None:
            ax.axvline(fit_upto, color="#999999", linewidth=1)
    if baseline is not None:
        ax.axhline(baseline, color=_COLOURS[3], linestyle=":", label="zero-shot (no training)")
    ax.set_xscale("log")
    ax.set_xlabel("training rows (log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title or "Learning curve")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_grouped_bars(
    frame: pd.DataFrame,
    index: str,
    columns: str,
    values: str,
    title: str = "",
    ylabel: str = "",
    highlight: Sequence[str] = (),
) -> Figure:
    """Grouped bars: one group per ``index`` value, one bar per ``columns`` value; groups named in ``highlight``
    get a red label. Used on the contamination, coverage and formatting pages."""
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    table = frame.pivot(index=index, columns=columns, values=values)
    # at most 8 inches wide: a book page is about 800 px, and a wider figure is shrunk until its labels blur
    fig, ax = plt.subplots(figsize=(min(8.0, max(5.0, 1.2 * len(table) + 2.5)), 4.2))
    width = 0.8 / max(1, len(table.columns))
    x = np.arange(len(table))
    for k, (colour, column) in enumerate(zip(_COLOURS, table.columns)):
        bars = ax.bar(x + k * width - 0.4 + width / 2, table[column].to_numpy(), width, color=colour, label=str(column))
        for bar, value in zip(bars, table[column].to_numpy()):
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                bar.get_height(),
                f"{value:.2f}",
                ha="center",
                va="bottom",
                fontsize=8,
            )

    names = [textwrap.fill(str(i), 18) for i in table.index]
    tilt = len(table) > 4 and max(len(n) for n in names) <= 18
    ax.set_xticks(x, names, rotation=30 if tilt else 0, ha="right" if tilt else "center", fontsize=9)
    marked = {textwrap.fill(str(h), 18) for h in highlight}
    for label in ax.get_xticklabels():
        if label.get_text() in marked:
            label.set_color(_COLOURS[3])
            label.set_fontweight("bold")
    ax.set_ylabel(ylabel or values)
    ax.set_title(title)
    # the legend in one row above the tallest bars and their value labels
    ax.legend(fontsize=9, loc="upper right", framealpha=0.9, ncol=len(table.columns))
    ax.set_ylim(0, max(1.0, float(np.nanmax(table.to_numpy()))) * 1.22)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
