"""experiments.runs: the vector table, sweeps over size and noise, the power-law fit and the zero-shot baseline."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.experiments.runs import (
    PowerLawFit,
    VectorTable,
    fit_power_law,
    learning_curve,
    quality_grid,
    summarise,
    zero_shot,
)
from playbook_lib.experiments.tasks import TextTask, split_task


def blob_task(n_per_class: int = 60, classes: int = 3, seed: int = 0, spread: float = 1.5):
    """Texts are names; their vectors are Gaussian blobs, one centre per class (a task a probe can learn)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, 8)) * 2
    texts, labels, vectors = [], [], []
    for y in range(classes):
        for i in range(n_per_class):
            texts.append(f"c{y}-{i}")
            labels.append(y)
            vectors.append(centres[y] + rng.normal(scale=spread, size=8))
    task = TextTask("blobs", texts, np.array(labels), [f"c{y}" for y in range(classes)], texts)
    names = [f"about c{y}" for y in range(classes)]
    table = VectorTable(texts + names, np.vstack([np.array(vectors), centres]))
    return task, table, dict(zip(task.label_names, names))


def test_vector_table_lookup() -> None:
    table = VectorTable(["a", "b"], np.eye(2, dtype=np.float32))
    assert table.matrix(["b", "a", "b"]).tolist() == [[0, 1], [1, 0], [0, 1]]
    assert table.matrix([]).shape == (0, 2) and len(table) == 2
    with pytest.raises(UsageError, match="not embedded"):
        table.matrix(["c"])


def test_vector_table_embeds_real_texts_once(tmp_path, embedder) -> None:
    table = VectorTable.embed(["Open the pod bay doors", "Open the pod bay doors", "Hello"], embedder, tmp_path)
    assert len(table) == 2 and table.matrix(["Hello"]).shape == (1, embedder.dim)


def test_learning_curve_rises_with_size_and_is_seeded() -> None:
    task, table, _ = blob_task()
    pool, test = split_task(task, 20, seed=0)
    curve = learning_curve(pool, test, table, sizes=[1, 30], seeds=[0, 1, 2])
    assert set(curve.columns) >= {"size_per_class", "train_rows", "seed", "accuracy", "macro_f1"}
    means = summarise(curve, ["size_per_class"]).set_index("size_per_class")["mean"]
    assert means[30] > means[1]
    assert curve.equals(learning_curve(pool, test, table, sizes=[1, 30], seeds=[0, 1, 2]))


def test_quality_grid_noise_hurts_and_curated_arm_is_clean() -> None:
    task, table, _ = blob_task(spread=2.5)
    pool, test = split_task(task, 20, seed=0)
    grid = quality_grid(pool, test, table, sizes=[40], noise_levels=[0.0, 0.6], seeds=[0, 1], duplicate_rate=0.5)
    clean = grid[grid.label_noise == 0.0]
    noisy = grid[grid.label_noise == 0.6]
    assert (clean.train_rows == 120).all() and (noisy.train_rows == 180).all()  # duplicates only in noisy arms
    assert clean.accuracy.mean() > noisy.accuracy.mean()


def test_power_law_fit_recovers_a_known_curve() -> None:
    truth = PowerLawFit(ceiling=0.9, scale=0.6, exponent=0.5)
    n = np.array([2, 4, 8, 16, 32, 64])
    fit = fit_power_law(n, truth.predict(n))
    assert fit.ceiling == pytest.approx(0.9, abs=1e-3) and fit.exponent == pytest.approx(0.5, abs=1e-3)
    assert fit.predict([1000])[0] == pytest.approx(truth.predict([1000])[0], abs=1e-3)
    with pytest.raises(UsageError):
        fit_power_law([2, 2, 4], [0.1, 0.2, 0.3])


def test_zero_shot_uses_label_descriptions() -> None:
    task, table, descriptions = blob_task(spread=0.5)
    assert zero_shot(task, table, descriptions).accuracy > 0.9
    swapped = dict(zip(descriptions, list(descriptions.values())[::-1]))
    assert zero_shot(task, table, swapped).accuracy < 0.5
    with pytest.raises(UsageError):
        zero_shot(task, table, {})
