"""experiments.noise: each injection does exactly what it says, and is deterministic by seed."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.experiments.noise import (
    add_duplicates,
    add_off_topic,
    flip_labels,
    make_noisy,
    perturb_text,
    plant_test_items,
)
from playbook_lib.experiments.tasks import TextTask
from playbook_lib.text.normal import normalise


def toy(n_per_class: int = 20, classes: int = 4, prefix: str = "row") -> TextTask:
    texts = [f"{prefix} {y} number {i} with several words here" for y in range(classes) for i in range(n_per_class)]
    labels = np.repeat(np.arange(classes), n_per_class)
    return TextTask("toy", texts, labels, [f"c{y}" for y in range(classes)], [f"toy:{i}" for i in range(len(texts))])


def test_flip_labels_flips_exactly_the_rate_and_never_to_the_same_label() -> None:
    task = toy()
    noisy = flip_labels(task, 0.25, seed=1)
    changed = noisy.task.labels != task.labels
    assert changed.sum() == 20 == noisy.count("flipped")
    assert (changed == noisy.mask("flipped")).all()
    assert noisy.task.texts == task.texts
    assert (task.labels == np.repeat(np.arange(4), 20)).all()  # the input is not modified
    assert (flip_labels(task, 0.25, seed=1).task.labels == noisy.task.labels).all()
    assert not (flip_labels(task, 0.25, seed=2).task.labels == noisy.task.labels).all()
    assert flip_labels(task, 0.0).count("flipped") == 0
    assert flip_labels(task, 1.0).count("flipped") == len(task)
    with pytest.raises(UsageError):
        flip_labels(task, 1.5)


def test_add_duplicates_appends_true_copies() -> None:
    task = toy()
    noisy = add_duplicates(task, 0.5, seed=0)
    assert len(noisy.task) == 120 and noisy.count("duplicate") == 40
    original = dict(zip(task.texts, task.labels.tolist()))
    dups = noisy.mask("duplicate")
    for text, label in zip(np.array(noisy.task.texts, dtype=object)[dups], noisy.task.labels[dups]):
        assert original[text] == label


def test_add_off_topic_adds_foreign_rows_with_random_labels() -> None:
    task = toy()
    other = toy(10, 2, prefix="foreign")
    noisy = add_off_topic(task, other.texts, other.sources, 0.2, seed=0)
    assert noisy.count("off_topic") == 16
    assert all(t.startswith("foreign") for t in np.array(noisy.task.texts, dtype=object)[noisy.mask("off_topic")])
    with pytest.raises(UsageError):
        add_off_topic(task, other.texts[:3], other.sources[:3], 0.2)


def test_make_noisy_combines_and_shuffles_deterministically() -> None:
    task = toy()
    other = toy(10, 2, prefix="foreign")
    noisy = make_noisy(
        task, label_noise=0.2, duplicate_rate=0.1, off_topic_rate=0.1, off_topic=(other.texts, other.sources), seed=5
    )
    assert noisy.count("flipped") == 16 and noisy.count("duplicate") == 8 and noisy.count("off_topic") == 8
    assert len(noisy.task) == len(noisy.kinds) == 96
    again = make_noisy(task, 0.2, 0.1, 0.1, (other.texts, other.sources), seed=5)
    assert again.task.texts == noisy.task.texts and (again.kinds == noisy.kinds).all()
    clean = make_noisy(task)
    assert clean.count("clean") == 80 and sorted(clean.task.texts) == sorted(task.texts)
    with pytest.raises(UsageError):
        make_noisy(task, off_topic_rate=0.1)


def test_plant_test_items_copies_test_rows_with_their_labels() -> None:
    train, test = toy(10, 2, "train"), toy(5, 2, "test")
    planted, picked = plant_test_items(train, test, 4, seed=0)
    assert planted.count("planted") == 4 and len(planted.task) == 24 and len(picked) == 4
    rows = np.array(planted.task.texts, dtype=object)[planted.mask("planted")]
    assert sorted(rows) == sorted(test.texts[i] for i in picked)
    assert sorted(planted.task.labels[planted.mask("planted")]) == sorted(test.labels[picked])
    with pytest.raises(UsageError):
        plant_test_items(train, test, 11)
    with pytest.raises(UsageError):
        plant_test_items(train, test, 1, perturb="paraphrase")


def test_perturbations() -> None:
    rng = np.random.default_rng(0)
    text = "Find the weather for Oslo tomorrow morning"
    assert perturb_text(text, "none", rng) == text
    edited = perturb_text(text, "case_space", rng)
    assert edited != text and normalise(edited) == normalise(text)
    near = perturb_text(text, "drop_word", rng)
    assert len(near.split()) == len(text.split()) - 1 and normalise(near) != normalise(text)
    assert normalise(near).split()[0] == "find"  # the first word is kept


def test_plant_test_items_cycles_perturbations_and_names_them() -> None:
    train, test = toy(10, 2, "train"), toy(6, 2, "test")
    planted, _ = plant_test_items(train, test, 6, seed=0, perturb=["none", "case_space", "drop_word"])
    modes = [s.rsplit(", ", 1)[-1].rstrip(")") for s, k in zip(planted.task.sources, planted.kinds) if k == "planted"]
    assert sorted(modes) == ["case_space", "case_space", "drop_word", "drop_word", "none", "none"]
    test_norm = {normalise(t) for t in test.texts}
    rows = [t for t, k in zip(planted.task.texts, planted.kinds) if k == "planted"]
    assert len(rows) == 6
    exact = sum(normalise(t) in test_norm for t in rows)
    assert exact == 4  # verbatim and re-cased copies normalise back to the test text; near copies do not
