"""Inject known problems into a clean task: label noise, duplicates, off-topic rows, and test items planted in
training data. Every function returns what it changed, so an experiment can score a check against the truth.

Taught in the book's *Quality over quantity* (``notebooks/exp_01_quality_vs_quantity.ipynb``) and *Duplicates and
contamination* (``notebooks/exp_04_contamination.ipynb``) pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from playbook_lib.errors import UsageError
from playbook_lib.experiments.tasks import TextTask

#: Row kinds reported by :class:`NoisyTask`.
KINDS = ("clean", "flipped", "duplicate", "off_topic", "planted")


@dataclass(frozen=True)
class NoisyTask:
    """A task with injected problems; ``kinds[i]`` says what row ``i`` is (one of :data:`KINDS`)."""

    task: TextTask
    kinds: np.ndarray

    def count(self, kind: str) -> int:
        """How many rows are of ``kind``."""
        return int((self.kinds == kind).sum())

    def mask(self, kind: str) -> np.ndarray:
        """Boolean mask of the rows of ``kind``."""
        return self.kinds == kind


def _check_rate(name: str, rate: float, upper: float = 1.0) -> None:
    if not 0.0 <= rate <= upper:
        raise UsageError(f"{name} must be in [0, {upper}], got {rate}")


def _concat(a: TextTask, b: TextTask) -> TextTask:
    return TextTask(
        a.name,
        a.texts + b.texts,
        np.concatenate([a.labels, b.labels]).astype(int),
        list(a.label_names),
        a.sources + b.sources,
    )


def flip_labels(task: TextTask, rate: float, seed: int = 0) -> NoisyTask:
    """Give ``round(rate * n)`` rows, chosen at random, a different label drawn uniformly from the others."""
    _check_rate("label noise rate", rate)
    if len(task.label_names) < 2 and rate > 0:
        raise UsageError("flipping labels needs at least two labels")
    rng = np.random.default_rng(seed)
    n = len(task)
    chosen = rng.choice(n, size=int(round(rate * n)), replace=False)
    labels = task.labels.copy()
    k = len(task.label_names)
    labels[chosen] = (labels[chosen] + rng.integers(1, k, size=len(chosen))) % k  # never the same label
    kinds = np.full(n, "clean", dtype=object)
    kinds[chosen] = "flipped"
    return NoisyTask(TextTask(task.name, list(task.texts), labels, list(task.label_names), list(task.sources)), kinds)


def add_duplicates(noisy: NoisyTask | TextTask, rate: float, seed: int = 0) -> NoisyTask:
    """Append ``round(rate * n)`` copies of rows drawn at random (with their labels, noisy or not)."""
    _check_rate("duplicate rate", rate, upper=10.0)
    noisy = noisy if isinstance(noisy, NoisyTask) else NoisyTask(noisy, np.full(len(noisy), "clean", dtype=object))
    rng = np.random.default_rng(seed)
    n = len(noisy.task)
    picks = rng.choice(n, size=int(round(rate * n)), replace=True)
    copies = noisy.task.subset(picks)
    copies = TextTask(
        copies.name, copies.texts, copies.labels, copies.label_names, [f"{s} (copy)" for s in copies.sources]
    )
    kinds = np.concatenate([noisy.kinds, np.full(len(picks), "duplicate", dtype=object)])
    return NoisyTask(_concat(noisy.task, copies), kinds)


def add_off_topic(
    noisy: NoisyTask | TextTask, texts: Sequence[str], sources: Sequence[str], rate: float, seed: int = 0
) -> NoisyTask:
    """Append ``round(rate * n)`` off-topic rows (from ``texts``, e.g. another dataset) with random labels."""
    _check_rate("off-topic rate", rate, upper=10.0)
    noisy = noisy if isinstance(noisy, NoisyTask) else NoisyTask(noisy, np.full(len(noisy), "clean", dtype=object))
    rng = np.random.default_rng(seed)
    m = int(round(rate * len(noisy.task)))
    if m > len(texts):
        raise UsageError(f"asked for {m} off-topic rows but only {len(texts)} texts were given")
    picks = rng.choice(len(texts), size=m, replace=False)
    labels = rng.integers(0, len(noisy.task.label_names), size=m)
    extra = TextTask(
        noisy.task.name, [texts[i] for i in picks], labels, list(noisy.task.label_names), [sources[i] for i in picks]
    )
    kinds = np.concatenate([noisy.kinds, np.full(m, "off_topic", dtype=object)])
    return NoisyTask(_concat(noisy.task, extra), kinds)


def make_noisy(
    task: TextTask,
    label_noise: float = 0.0,
    duplicate_rate: float = 0.0,
    off_topic_rate: float = 0.0,
    off_topic: tuple[Sequence[str], Sequence[str]] | None = None,
    seed: int = 0,
) -> NoisyTask:
    """The three kinds of noise of a scraped or cheaply labelled set, in order: flipped labels, then duplicated rows,
    then off-topic rows (``off_topic`` = ``(texts, sources)``), each rate relative to ``len(task)``; rows shuffled."""
    noisy = flip_labels(task, label_noise, seed)
    noisy = add_duplicates(noisy, duplicate_rate, seed + 1)
    if off_topic_rate > 0:
        if off_topic is None:
            raise UsageError("off_topic_rate > 0 needs off_topic texts")
        noisy = add_off_topic(noisy, off_topic[0], off_topic[1], off_topic_rate * len(task) / len(noisy.task), seed + 2)
    order = np.random.default_rng(seed + 3).permutation(len(noisy.task))
    return NoisyTask(noisy.task.subset(order), noisy.kinds[order])


PERTURBATIONS = ("none", "case_space", "drop_word")


def plant_test_items(
    train: TextTask, test: TextTask, n: int, seed: int = 0, perturb: str | Sequence[str] = "none"
) -> tuple[NoisyTask, np.ndarray]:
    """Copy ``n`` test rows (with their true labels) into the training set: contamination, as when a benchmark
    leaks into scraped training data. ``perturb`` edits each copy as another pipeline would: ``"case_space"``
    changes case and spacing (identical after normalisation), ``"drop_word"`` also deletes one word (a near copy). A sequence of modes is
    used in turn, row by row; each copy's source ends with ``(planted, MODE)``.

    Returns the contaminated training task (planted rows marked ``"planted"``, shuffled in) and the indices of the
    test rows that were planted.
    """
    modes = [perturb] if isinstance(perturb, str) else list(perturb)
    for mode in modes:
        if mode not in PERTURBATIONS:
            raise UsageError(f"unknown perturbation {mode!r}; valid: {', '.join(PERTURBATIONS)}")
    if not 0 <= n <= len(test):
        raise UsageError(f"can plant 0..{len(test)} test rows, got {n}")
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(test), size=n, replace=False))
    copies = test.subset(picked)
    used = [modes[i % len(modes)] for i in range(n)]
    texts = [perturb_text(t, mode, rng) for t, mode in zip(copies.texts, used)]
    copies = TextTask(
        train.name,
        texts,
        copies.labels,
        list(train.label_names),
        [f"{s} (planted, {mode})" for s, mode in zip(copies.sources, used)],
    )
    kinds = np.concatenate([np.full(len(train), "clean", dtype=object), np.full(n, "planted", dtype=object)])
    merged = _concat(train, copies)
    order = rng.permutation(len(merged))
    return NoisyTask(merged.subset(order), kinds[order]), picked


def perturb_text(text: str, how: str, rng: np.random.Generator) -> str:
    """Edit ``text`` as described in :func:`plant_test_items` (``"none"`` returns it unchanged)."""
    if how == "none":
        return text
    words = text.split()
    if how == "drop_word" and len(words) >= 5:
        del words[int(rng.integers(1, len(words)))]
    out = "  ".join(words)
    return out.upper() if rng.random() < 0.5 else out.lower()
