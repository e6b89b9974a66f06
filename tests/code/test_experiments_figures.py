"""experiments.figures: each figure draws the data it is given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from playbook_lib.experiments.figures import plot_grouped_bars, plot_learning_curve, plot_quality_grid  # noqa: E402
from playbook_lib.experiments.runs import PowerLawFit  # noqa: E402


def test_quality_grid_draws_one_line_per_noise_level_and_the_curated_star() -> None:
    summary = pd.DataFrame(
        {
            "label_noise": [0.0, 0.0, 0.4, 0.4],
            "train_rows": [80, 160, 90, 180],
            "mean": [0.7, 0.8, 0.5, 0.6],
            "std": [0.01, 0.02, 0.03, 0.02],
        }
    )
    fig = plot_quality_grid(summary, curated=(40, 0.65, 0.02))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["0% labels flipped (clean)", "40% labels flipped (+ duplicates, off-topic)", "small curated set"]


def test_learning_curve_splits_fit_and_extrapolation() -> None:
    summary = pd.DataFrame({"train_rows": [8, 16, 32, 64, 128], "mean": [0.5, 0.6, 0.7, 0.75, 0.8], "std": [0.05] * 5})
    fig = plot_learning_curve(summary, PowerLawFit(0.9, 0.9, 0.5), fit_upto=50, baseline=0.4)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert {"power law fitted here", "its extrapolation", "zero-shot (no training)"} <= set(labels)


def test_grouped_bars_highlight_a_group() -> None:
    frame = pd.DataFrame({"slice": ["a", "b", "a", "b"], "arm": ["x", "x", "y", "y"], "acc": [0.9, 0.8, 0.9, 0.1]})
    fig = plot_grouped_bars(frame, "slice", "arm", "acc", highlight=["b"])
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    colours = {t.get_text(): t.get_color() for t in ax.get_xticklabels()}
    assert colours["b"] != colours["a"]
