"""A real text-classification task built from the public SFT datasets, cached MiniLM embeddings, and a linear probe.

Taught in the book's *Experiments: every heuristic measured* part (``book/experiments.md`` and the ``exp_NN_*``
notebooks it lists). The experiments measure data-centric heuristics (quality over quantity, learning curves,
contamination, coverage, formatting) on the same task, so their numbers can be compared.

Two tasks are available, both read at run time from the public datasets folder (``../shared/data``); no text is
copied into the project:

``tool_routing`` (default)
    Which tool does this request need? GPTeacher *toolformer* rows that give the model access to exactly one tool
    (``python``, ``wolfram``, ``wikipedia``, ``search``, ``shell``, ``news``, ``weather``, ``request``). The text is
    the user's request only (the task line after the tool description, plus the row's input), so the tool name
    in the instruction header is not visible. Several classes are close (``search``/``news``/``wikipedia``,
    ``python``/``wolfram``), so a probe on MiniLM embeddings does not saturate with a handful of examples.
``task_family``
    Which dataset family is this instruction from: ``math`` (GSM8K train), ``code`` (GPTeacher codegen),
    ``roleplay`` (GPTeacher roleplay), ``general`` (LIMA and the Alpaca seed tasks). Easier; the tool header of
    toolformer rows would make a ``tool`` class trivial, so it is left out.

Embeddings come from :class:`~playbook_lib.embeddings.model.MiniLMEmbedder` through an on-disk
:class:`~playbook_lib.embeddings.cache.EmbeddingCache` keyed by content hash, so a notebook run a second time (the book
build and papermill each run it) embeds nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # a scikit-learn dependency, untyped

from playbook_lib import settings
from playbook_lib.data import records_from_rows
from playbook_lib.embeddings.cache import embed_cached, embedder_key
from playbook_lib.embeddings.model import Embedder, MiniLMEmbedder
from playbook_lib.errors import DataError, UsageError
from playbook_lib.io.digest import settings_hash
from playbook_lib.io.jsonl import iter_jsonl

TASKS = ("tool_routing", "task_family")
#: Texts are cut to this many characters before embedding (MiniLM reads ~256 tokens; shorter is faster on a CPU).
MAX_CHARS = 400
TOOLFORMER_FILE = "gpteacher_toolformer-dedupe-only.json"
#: One sentence per label, written for this project: what a zero-shot classifier compares a text with.
LABEL_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "tool_routing": {
        "news": "Get the latest news headlines and current news stories about a topic.",
        "python": "Write and run a short Python program to compute something from the given input.",
        "request": "Fetch the content of a web page at a given URL with an HTTP request.",
        "search": "Search the web for up-to-date information and facts about current events.",
        "shell": "Run a command in a Linux terminal shell to inspect files, processes or the system.",
        "weather": "Get the current weather or the forecast for a city.",
        "wikipedia": "Look up encyclopedia information about a person, place, event or concept on Wikipedia.",
        "wolfram": "Solve a math problem, convert units or compute a scientific quantity.",
    },
    "task_family": {
        "code": "Write, explain or fix a computer program.",
        "general": "Answer a general question or give advice on everyday topics.",
        "math": "Solve a grade-school math word problem.",
        "roleplay": "Pretend to be a character and answer in their voice.",
    },
}
_SIGNATURE = re.compile(r"^\w+\([^)]*\)\s*$")
_ACCESS = re.compile(r"toolformer access: ([^\n]*)")


@dataclass(frozen=True)
class TextTask:
    """A labelled text-classification task.

    ``texts[i]`` has label ``labels[i]`` (an index into ``label_names``) and came from ``sources[i]``
    (``"file:row"``, 1-based row in the public dataset file).
    """

    name: str
    texts: list[str]
    labels: np.ndarray
    label_names: list[str]
    sources: list[str]

    def __post_init__(self) -> None:
        if not (len(self.texts) == len(self.labels) == len(self.sources)):
            raise ValueError("texts, labels and sources differ in length")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: Sequence[int] | np.ndarray) -> TextTask:
        """The rows at ``index`` (in that order), as a new task with the same label names."""
        idx = np.asarray(index, dtype=int)
        return TextTask(
            self.name,
            [self.texts[i] for i in idx],
            self.labels[idx].copy(),
            list(self.label_names),
            [self.sources[i] for i in idx],
        )

    def label_counts(self) -> dict[str, int]:
        """Rows per label name, in label order."""
        counts = np.bincount(self.labels, minlength=len(self.label_names))
        return {name: int(c) for name, c in zip(self.label_names, counts)}

    def to_records(self) -> pd.DataFrame:
        """The rows in the record model of :mod:`playbook_lib.data` (text as ``instruction``, label as ``output`` and
        ``category``, provenance ``synthetic``/``human`` by source) so the dataset checks can run on them."""
        rows = [
            {
                "instruction": t,
                "output": self.label_names[y],
                "category": self.label_names[y],
                "source": s,
                "provenance": "human" if s.split(":")[0].startswith(("lima", "gsm8k", "alpaca")) else "synthetic",
            }
            for t, y, s in zip(self.texts, self.labels.tolist(), self.sources)
        ]
        return records_from_rows(rows)


def _read_json_array(path: Path) -> list[dict]:
    if not path.is_file():
        raise DataError(f"{path}: file not found (the public datasets folder, ../shared/data, is needed)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: unreadable JSON ({exc})") from None
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON array")
    return data


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise DataError(f"{path}: file not found (the public datasets folder, ../shared/data, is needed)")
    return [(n, obj) for n, obj in iter_jsonl(path) if isinstance(obj, dict)]


def toolformer_request(instruction: str, input_text: str) -> str:
    """The user's request in a toolformer row: the lines after the last tool signature, plus the input."""
    lines = instruction.split("\n")
    marks = [i for i, line in enumerate(lines) if _SIGNATURE.match(line.strip())]
    task = "\n".join(lines[marks[-1] + 1 :] if marks else lines).strip()
    return f"{task}\n{input_text}".strip() if input_text.strip() else task


def _tool_routing_rows(sft: Path) -> list[tuple[str, str, str]]:
    rows = []
    name = TOOLFORMER_FILE
    for number, row in enumerate(_read_json_array(sft / name), start=1):
        match = _ACCESS.search(row.get("instruction", ""))
        if not match or "," in match.group(1):
            continue
        tool = match.group(1).strip()
        text = toolformer_request(row.get("instruction", ""), row.get("input", "") or "")
        if text and f"{tool}(" in (row.get("response") or ""):
            rows.append((text, tool, f"{name}:{number}"))
    return rows


def _task_family_rows(sft: Path) -> list[tuple[str, str, str]]:
    rows = []
    for number, obj in _read_jsonl(sft / "gsm8k_train.jsonl"):
        rows.append((obj.get("question", ""), "math", f"gsm8k_train.jsonl:{number}"))
    for label, name in (
        ("code", "gpteacher_codegen-instruct.json"),
        ("roleplay", "gpteacher_roleplay-simple-deduped.json"),
        ("general", "lima_llamafactory.json"),
    ):
        for number, row in enumerate(_read_json_array(sft / name), start=1):
            text = f"{row.get('instruction', '')}\n{row.get('input', '') or ''}".strip()
            rows.append((text, label, f"{name}:{number}"))
    for number, obj in _read_jsonl(sft / "alpaca_seed_tasks.jsonl"):
        rows.append((obj.get("instruction", ""), "general", f"alpaca_seed_tasks.jsonl:{number}"))
    return rows


def load_task(
    data_dir: str | Path,
    n_per_class: int | None = None,
    seed: int = 0,
    task: str = "tool_routing",
    max_chars: int = MAX_CHARS,
) -> TextTask:
    """Load a task from the public datasets folder (the one holding ``sft/``), deterministically for a ``seed``.

    Rows are de-duplicated on their normalised text (first occurrence kept) and cut to ``max_chars``; then
    ``n_per_class`` rows per label are drawn at random (all rows when ``None``), in a seeded shuffled order.
    Raises :class:`DataError` when a file is missing or a class has fewer than ``n_per_class`` rows, and
    :class:`UsageError` for an unknown task.
    """
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    if n_per_class is not None and n_per_class < 1:
        raise UsageError(f"n_per_class must be at least 1, got {n_per_class}")
    sft = Path(data_dir) / "sft"
    if not sft.is_dir():
        raise DataError(f"{sft}: folder not found (expected the public datasets folder, e.g. ../shared/data)")
    raw = _tool_routing_rows(sft) if task == "tool_routing" else _task_family_rows(sft)
    seen: set[str] = set()
    by_label: dict[str, list[tuple[str, str]]] = {}
    for text, label, source in raw:
        key = " ".join(text.split()).casefold()
        if not key or key in seen:
            continue
        seen.add(key)
        by_label.setdefault(label, []).append((text[:max_chars], source))
    names = sorted(by_label)
    rng = np.random.default_rng(seed)
    texts, labels, sources = [], [], []
    for y, name in enumerate(names):
        rows = by_label[name]
        if n_per_class is not None and len(rows) < n_per_class:
            raise DataError(f"{task}: class {name!r} has {len(rows)} rows, fewer than n_per_class={n_per_class}")
        pick = rng.permutation(len(rows))[: n_per_class or len(rows)]
        for i in sorted(pick):
            texts.append(rows[i][0])
            sources.append(rows[i][1])
            labels.append(y)
    order = rng.permutation(len(texts))
    result = TextTask(task, texts, np.asarray(labels, dtype=int), names, sources)
    return result.subset(order)


def off_topic_texts(
    data_dir: str | Path, n: int, seed: int = 0, max_chars: int = MAX_CHARS
) -> tuple[list[str], list[str]]:
    """``n`` texts that belong to no tool-routing class (LIMA prompts and GSM8K questions, half each), with their
    ``"file:row"`` sources: the off-topic rows a scraped training set picks up."""
    sft = Path(data_dir) / "sft"
    lima = [
        (f"{r.get('instruction', '')}".strip(), f"lima_llamafactory.json:{i}")
        for i, r in enumerate(_read_json_array(sft / "lima_llamafactory.json"), start=1)
    ]
    gsm = [(o.get("question", "").strip(), f"gsm8k_train.jsonl:{i}") for i, o in _read_jsonl(sft / "gsm8k_train.jsonl")]
    rng = np.random.default_rng(seed)
    half = n // 2
    if half > len(lima) or n - half > len(gsm):
        raise DataError(f"only {len(lima) + len(gsm)} off-topic texts available, asked for {n}")
    rows = [lima[i] for i in rng.choice(len(lima), half, replace=False)]
    rows += [gsm[i] for i in rng.choice(len(gsm), n - half, replace=False)]
    return [t[:max_chars] for t, _ in rows], [s for _, s in rows]


def split_task(task: TextTask, test_per_class: int, seed: int = 0) -> tuple[TextTask, TextTask]:
    """Stratified split: ``test_per_class`` rows of each label go to the test task, the rest to the train task."""
    rng = np.random.default_rng(seed)
    test_idx: list[int] = []
    for y in range(len(task.label_names)):
        rows = np.flatnonzero(task.labels == y)
        if len(rows) <= test_per_class:
            raise UsageError(f"label {task.label_names[y]!r} has {len(rows)} rows; need more than {test_per_class}")
        test_idx.extend(rng.choice(rows, size=test_per_class, replace=False).tolist())
    test_set = set(test_idx)
    train_idx = [i for i in range(len(task)) if i not in test_set]
    return task.subset(rng.permutation(train_idx)), task.subset(rng.permutation(test_idx))


def stratified_sample(task: TextTask, n_per_class: int, seed: int = 0) -> TextTask:
    """``n_per_class`` rows of each label (all of a label's rows when it has fewer), in a seeded order."""
    rng = np.random.default_rng(seed)
    idx: list[int] = []
    for y in range(len(task.label_names)):
        rows = np.flatnonzero(task.labels == y)
        idx.extend(rng.choice(rows, size=min(n_per_class, len(rows)), replace=False).tolist())
    return task.subset(rng.permutation(idx))


# ----------------------------------------------------------------------------------------------- embeddings


def default_cache_dir() -> Path:
    """Where embedding caches live: ``PLAYBOOK_CACHE_DIR`` or ``~/.cache/playbook``."""
    return settings.cache_dir()


def embed_texts(
    texts: Sequence[str],
    embedder: Embedder | None = None,
    cache_dir: str | Path | None = None,
    embedder_settings: dict | None = None,
) -> np.ndarray:
    """Embed ``texts`` (``(n, dim)`` float32, L2-normalised for MiniLM), embedding each distinct text at most once.

    Vectors are cached by content hash in ``cache_dir`` (default :func:`default_cache_dir`; ``""`` disables the
    disk cache) in a file named after the embedder settings, written atomically; when it cannot be written, a
    warning says so and the vectors are still returned. ``embedder`` defaults to the
    packaged all-MiniLM-L6-v2; pass ``embedder_settings`` to key the cache for another embedder.
    """
    embedder = embedder or MiniLMEmbedder(show_progress=False)
    key = settings_hash(embedder_settings) if embedder_settings is not None else embedder_key(embedder)
    file = None if cache_dir == "" else Path(cache_dir or default_cache_dir()) / f"embeddings-{key}.npz"
    return embed_cached(texts, embedder, file=file, key=key, on_write_error="warn")


# ----------------------------------------------------------------------------------------------- probes


@dataclass(frozen=True)
class ProbeScore:
    """Accuracy and macro-F1 of a classifier on ``n`` test rows."""

    accuracy: float
    macro_f1: float
    n: int


class _Constant:
    """The classifier left when training data holds a single label: always predicts it."""

    def __init__(self, label: int) -> None:
        self.label = label

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.label, dtype=int)


def train_probe(x: np.ndarray, y: np.ndarray, kind: str = "logreg", c: float = 1.0, seed: int = 0):
    """Fit a classifier on embeddings: ``"logreg"`` (a linear probe, scikit-learn ``LogisticRegression``) or
    ``"1nn"`` (nearest neighbour by cosine: it memorises the training set). Returns an object with ``predict``.

    BLAS runs on one thread: these problems are small, and on a shared CPU extra threads made a fit 10-40 times
    slower (measured while building the book).
    """
    with threadpool_limits(1):
        return _train_probe(x, y, kind, c, seed)


def _train_probe(x: np.ndarray, y: np.ndarray, kind: str, c: float, seed: int):
    if kind not in ("logreg", "1nn"):
        raise UsageError(f"unknown probe kind {kind!r}; valid: logreg, 1nn")
    if len(x) == 0:
        raise UsageError("train_probe needs at least one training row")
    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) == 1:
        return _Constant(int(y[0]))
    if kind == "1nn":
        from sklearn.neighbors import (
            KNeighborsClassifier,  # lazy: scikit-learn (~1 s) only where a classifier is fitted
        )

        return KNeighborsClassifier(n_neighbors=1, metric="cosine", algorithm="brute").fit(x, y)
    from sklearn.linear_model import LogisticRegression  # lazy: scikit-learn (~1 s) only where a classifier is fitted

    return LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x, y)


def evaluate_probe(model, x: np.ndarray, y: np.ndarray) -> ProbeScore:
    """Accuracy and macro-F1 (over the labels present in ``y`` or predicted) of ``model`` on ``(x, y)``."""
    from sklearn.metrics import accuracy_score, f1_score  # lazy: scikit-learn (~1 s) only where a classifier is fitted

    with threadpool_limits(1):
        pred = model.predict(x)
    return ProbeScore(
        float(accuracy_score(y, pred)), float(f1_score(y, pred, average="macro", zero_division=0)), len(y)
    )


def probe_score(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    kind: str = "logreg",
    c: float = 1.0,
    seed: int = 0,
) -> ProbeScore:
    """Train on one set, score on the other: the measurement every experiment repeats."""
    return evaluate_probe(train_probe(x_train, y_train, kind=kind, c=c, seed=seed), x_test, y_test)
