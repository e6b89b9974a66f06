"""experiments.tasks: the TextTask container, splits, the cached embedder and the probes (toy data; real data in
tests/data/test_experiments_real.py)."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.errors import DataError, UsageError
from playbook_lib.experiments.tasks import (
    TextTask,
    embed_texts,
    load_task,
    probe_score,
    split_task,
    stratified_sample,
    toolformer_request,
    train_probe,
)


def toy_task(n_per_class: int = 10, classes: int = 3) -> TextTask:
    texts, labels = [], []
    for y in range(classes):
        for i in range(n_per_class):
            texts.append(f"class {y} row {i}")
            labels.append(y)
    return TextTask(
        "toy", texts, np.array(labels), [f"c{y}" for y in range(classes)], [f"toy:{i + 1}" for i in range(len(texts))]
    )


def blobs(n: int, classes: int, seed: int, spread: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, 16)) * 3
    y = rng.integers(0, classes, size=n)
    return centres[y] + rng.normal(scale=spread, size=(n, 16)), y


def test_subset_keeps_rows_aligned() -> None:
    task = toy_task()
    sub = task.subset([5, 0, 29])
    assert sub.texts == ["class 0 row 5", "class 0 row 0", "class 2 row 9"]
    assert sub.labels.tolist() == [0, 0, 2] and sub.sources == ["toy:6", "toy:1", "toy:30"]
    assert sub.label_names == task.label_names


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError):
        TextTask("bad", ["a", "b"], np.array([0]), ["x"], ["s:1", "s:2"])


def test_split_is_stratified_disjoint_and_seeded() -> None:
    task = toy_task(10, 3)
    train, test = split_task(task, 4, seed=3)
    assert test.label_counts() == {"c0": 4, "c1": 4, "c2": 4}
    assert train.label_counts() == {"c0": 6, "c1": 6, "c2": 6}
    assert not set(train.texts) & set(test.texts)
    again = split_task(task, 4, seed=3)
    assert again[1].texts == test.texts
    assert split_task(task, 4, seed=4)[1].texts != test.texts
    with pytest.raises(UsageError):
        split_task(task, 10)


def test_stratified_sample_caps_at_available_rows() -> None:
    task = toy_task(5, 2)
    assert stratified_sample(task, 3, seed=0).label_counts() == {"c0": 3, "c1": 3}
    assert stratified_sample(task, 50, seed=0).label_counts() == {"c0": 5, "c1": 5}


def test_to_records_feeds_the_dataset_checks() -> None:
    from playbook_lib.checks import CheckContext, get_check

    task = toy_task(3, 2)
    records = task.to_records()
    assert records["category"].tolist()[:3] == ["c0"] * 3
    twice = TextTask("t", task.texts * 2, np.concatenate([task.labels] * 2), task.label_names, task.sources * 2)
    result = get_check("exact_duplicates")().run(twice.to_records(), CheckContext())
    assert result.flags.sum() == len(task)


def test_toolformer_request_drops_the_tool_header() -> None:
    instruction = (
        "toolformer: enabled\ntoolformer access: weather\nA weather API.\nweather(query)\nTell me the forecast"
    )
    assert toolformer_request(instruction, "for Oslo") == "Tell me the forecast\nfor Oslo"
    assert toolformer_request(instruction, "  ") == "Tell me the forecast"


def test_probe_learns_separable_data_and_fails_on_shuffled_labels() -> None:
    x, y = blobs(2200, 4, seed=0)
    good = probe_score(x[:200], y[:200], x[2000:], y[2000:])
    assert good.accuracy > 0.95 and good.macro_f1 > 0.95 and good.n == 200
    shuffled = np.random.default_rng(1).permutation(y[:2000])  # labels carry no information: near chance (0.25)
    bad = probe_score(x[:2000], shuffled, x[2000:], y[2000:])
    assert bad.accuracy < 0.45
    nn = probe_score(x[:200], y[:200], x[200:], y[200:], kind="1nn")
    assert nn.accuracy > 0.95


def test_one_nn_memorises_its_training_rows() -> None:
    x, y = blobs(100, 5, seed=2, spread=5.0)
    model = train_probe(x, y, kind="1nn")
    assert (model.predict(x) == y).all()


def test_single_label_training_predicts_that_label() -> None:
    x, _ = blobs(20, 2, seed=0)
    model = train_probe(x, np.full(20, 3))
    assert (model.predict(x) == 3).all()


def test_probe_options_are_validated() -> None:
    x, y = blobs(20, 2, seed=0)
    with pytest.raises(UsageError):
        train_probe(x, y, kind="svm")
    with pytest.raises(UsageError):
        train_probe(x[:0], y[:0])


def test_load_task_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="folder not found"):
        load_task(tmp_path)
    (tmp_path / "sft").mkdir()
    with pytest.raises(DataError, match="file not found"):
        load_task(tmp_path)
    with pytest.raises(UsageError, match="valid: tool_routing, task_family"):
        load_task(tmp_path, task="sentiment")


class CountingEmbedder:
    """The real MiniLM embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[int] = []

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_documents(self, texts):
        self.calls.append(len(texts))
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_embed_texts_caches_on_disk_by_content(tmp_path, embedder) -> None:
    counting = CountingEmbedder(embedder)
    settings = {"model": "minilm-test"}
    texts = ["Find the weather in Lisbon", "List the files here", "Find the weather in Lisbon"]
    first = embed_texts(texts, counting, cache_dir=tmp_path, embedder_settings=settings)
    assert counting.calls == [2]  # the repeated text is embedded once
    assert first.shape == (3, embedder.dim) and np.allclose(first[0], first[2])
    second = embed_texts(texts[::-1] + ["A new text"], counting, cache_dir=tmp_path, embedder_settings=settings)
    assert counting.calls == [2, 1]  # only the new text, read back from the .npz file
    assert np.allclose(second[0], first[2]) and np.allclose(second[1], first[1])
    assert np.allclose(first, embedder.embed_documents(texts), atol=1e-5)
    other = embed_texts(texts[:1], counting, cache_dir=tmp_path, embedder_settings={"model": "other"})
    assert counting.calls == [2, 1, 1] and other.shape == (1, embedder.dim)


def test_importing_the_experiments_loads_nothing_heavy() -> None:
    import subprocess
    import sys

    modules = ", ".join(
        f"playbook_lib.experiments.{m}"
        for m in ("tasks", "noise", "runs", "leakage", "coverage", "format_faults", "figures")
    )
    heavy = ["torch", "sentence_transformers", "transformers", "faiss", "matplotlib", "sklearn", "scipy"]
    code = f"import sys, {modules}\nprint(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported at import time: {out}"


def test_embed_texts_warns_when_the_cache_cannot_be_written(tmp_path, embedder) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="embedding cache not saved"):
        vectors = embed_texts(["Ping example.com"], embedder, cache_dir=blocker, embedder_settings={"m": "t"})
    assert vectors.shape == (1, embedder.dim)
