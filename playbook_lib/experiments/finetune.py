"""Fine-tune the packaged all-MiniLM-L6-v2 as a text classifier: LoRA adapters (``peft``) or every weight, on a CPU.

Taught in the book's *PEFT vs full fine-tuning* page (``notebooks/exp_03_peft_vs_full.ipynb``), part *Experiments:
every heuristic measured*.

The classifier is the MiniLM encoder, mean pooling over the non-padding tokens, and one linear layer. Two ways to
train it:

``lora``
    The encoder's weights stay frozen; low-rank adapters ``B·A`` (rank ``r``) are added to the attention *query* and
    *value* projections of every layer with :class:`peft.LoraConfig`, and only the adapters and the head learn. Each
    adapted ``d_in × d_out`` layer adds ``r·(d_in + d_out)`` parameters (:func:`lora_parameter_count`).
``full``
    Every encoder weight and the head learn.

The third arm of the experiment, a linear probe on frozen embeddings, is :func:`playbook_lib.experiments.tasks.
probe_score`. :func:`finetune_curve` runs all three over training-set sizes and seeds on the same test split.

Training is a plain torch loop (AdamW, linear warm-up and decay, a seeded shuffle, deterministic algorithms) on
``threads`` torch threads; weights load from the local model folder only (:func:`playbook_lib.settings.
embedding_model_path`), never from the network. ``peft`` is an optional dependency (``pip install
data-models-playbook[experiments]``); it is imported only when a LoRA model is built.
"""

from __future__ import annotations

import html
import math
import os
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from playbook_lib import settings
from playbook_lib.errors import UsageError
from playbook_lib.experiments.tables import read_table, write_table
from playbook_lib.experiments.tasks import ProbeScore, TextTask, probe_score, stratified_sample
from playbook_lib.experiments.verdict import (
    Interval,
    Side,
    Verdict,
    combine,
    difference_interval,
    judge,
    mean_interval,
)

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

METHODS = ("lora", "full")
#: The attention projections LoRA adapts (the names of the ``nn.Linear`` modules in a BERT layer).
LORA_TARGETS = ("query", "value")


@dataclass(frozen=True)
class FinetuneConfig:
    """How to train. ``epochs`` passes over the training set, at least ``min_steps`` optimizer steps in all (tiny
    training sets need more passes); ``lr`` for the encoder (LoRA adapters or all weights), ``head_lr`` for the
    new linear head; texts cut to ``max_length`` tokens."""

    method: str = "lora"
    epochs: int = 3
    min_steps: int = 0
    batch_size: int = 16
    max_length: int = 48
    lr: float | None = None  # None: 1e-3 for lora, 5e-5 for full
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    seed: int = 0
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"unknown fine-tuning method {self.method!r}; valid: {', '.join(METHODS)}")
        if self.epochs < 1 or self.batch_size < 1 or self.max_length < 4 or self.lora_r < 1:
            raise UsageError("epochs, batch_size and lora_r must be at least 1 and max_length at least 4")

    @property
    def encoder_lr(self) -> float:
        """The learning rate of the trained encoder parameters."""
        if self.lr is not None:
            return self.lr
        return 1e-3 if self.method == "lora" else 5e-5

    def steps(self, n_rows: int) -> tuple[int, int]:
        """``(epochs, optimizer steps)`` for a training set of ``n_rows``."""
        per_epoch = max(1, math.ceil(n_rows / self.batch_size))
        epochs = max(self.epochs, math.ceil(self.min_steps / per_epoch))
        return epochs, epochs * per_epoch


def lora_parameter_count(hidden: int, layers: int, r: int, targets: int = len(LORA_TARGETS)) -> int:
    """Parameters LoRA adds: ``targets`` square ``hidden × hidden`` projections per layer, each with ``A`` (``r ×
    hidden``) and ``B`` (``hidden × r``), no bias."""
    return layers * targets * r * (hidden + hidden)


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def load_encoder(model_path: str | Path | None = None) -> tuple[Any, torch.nn.Module]:
    """The tokenizer and the transformer of a local sentence-transformers folder (default: the packaged
    all-MiniLM-L6-v2), loaded from local files only."""
    settings.force_offline()
    from transformers import (  # lazy: transformers takes seconds to import; only when a model is loaded
        AutoModel,
        AutoTokenizer,
    )

    path = str(model_path or settings.embedding_model_path())
    with settings.quiet_model_loading():
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        encoder = AutoModel.from_pretrained(path, local_files_only=True)
    return tokenizer, encoder


def _module_class():
    import torch  # lazy: torch is heavy; loaded only when a model is built

    class TextClassifier(torch.nn.Module):
        """Encoder, mean pooling over non-padding tokens, linear head."""

        # ``encoder``: a transformers AutoModel, or peft's wrapper of one (both untyped here)
        def __init__(self, encoder: Any, n_labels: int) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(int(encoder.config.hidden_size), n_labels)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(pooled)

    return TextClassifier


def build_classifier(
    n_labels: int, config: FinetuneConfig, model_path: str | Path | None = None
) -> tuple[Any, torch.nn.Module]:
    """A fresh ``(tokenizer, classifier)``; for ``lora`` the encoder is wrapped by :func:`peft.get_peft_model`
    (base weights frozen, adapters on :data:`LORA_TARGETS`). Seeded: the same config gives the same initial head
    and adapters."""
    import torch  # lazy: torch takes seconds to import; only model code needs it

    if n_labels < 2:
        raise UsageError(f"a classifier needs at least 2 labels, got {n_labels}")
    tokenizer, encoder = load_encoder(model_path)
    torch.manual_seed(config.seed)
    if config.method == "lora":
        from peft import (  # lazy: peft imports torch and transformers; only for LoRA fine-tuning
            LoraConfig,
            get_peft_model,
        )

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=list(LORA_TARGETS),
            bias="none",
        )
        with warnings.catch_warnings():  # peft calls a transformers method deprecated in v5
            warnings.simplefilter("ignore", FutureWarning)
            encoder = get_peft_model(encoder, lora)
    model = _module_class()(encoder, n_labels)
    return tokenizer, model


def _batches(tokenizer: Any, texts: Sequence[str], max_length: int) -> dict[str, torch.Tensor]:
    return tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")


class _PeakRSS:
    """Samples the process's resident memory every few milliseconds in a thread; ``peak_mb`` is the maximum seen
    and ``start_mb`` the value when sampling began (Linux ``/proc``; elsewhere ``ru_maxrss``)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.start_mb = self.peak_mb = self._rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss_mb() -> float:
        try:
            with open("/proc/self/statm", encoding="ascii") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
        except (OSError, ValueError, IndexError):
            import resource  # lazy: POSIX-only module

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, self._rss_mb())

    def __enter__(self) -> _PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss_mb())


@dataclass
class TrainedClassifier:
    """A trained classifier with what its training measured.

    ``losses``: training loss per optimizer step; ``epoch_seconds``: wall time of each epoch; ``trainable`` and
    ``total``: parameter counts; ``peak_rss_mb``: the process's peak resident memory during training and
    ``extra_rss_mb`` its rise over the value when training started; ``optimizer_mb``: the gradient and AdamW state
    the trainable parameters need (4 bytes × 3 per parameter), computed, not measured.
    """

    model: Any
    tokenizer: Any
    config: FinetuneConfig
    label_names: list[str]
    losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    trainable: int = 0
    total: int = 0
    peak_rss_mb: float = 0.0
    extra_rss_mb: float = 0.0

    @property
    def optimizer_mb(self) -> float:
        """Megabytes of gradients and AdamW moments for the trainable parameters (computed)."""
        return self.trainable * 4 * 3 / 1e6

    def logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Class scores, ``(len(texts), n_labels)``, with the model in evaluation mode (no dropout)."""
        import torch  # lazy: torch takes seconds to import; only model code needs it

        self.model.eval()
        out: list[np.ndarray] = []
        with settings.using_torch_threads(self.config.threads), torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                batch = _batches(self.tokenizer, texts[i : i + batch_size], self.config.max_length)
                out.append(self.model(batch["input_ids"], batch["attention_mask"]).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.label_names)), dtype=np.float32)

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Predicted label indices for ``texts``."""
        return self.logits(texts, batch_size).argmax(-1)

    def loss(self, task: TextTask) -> float:
        """Mean cross-entropy on ``task`` in evaluation mode."""
        scores = self.logits(task.texts).astype(np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        return float(-log_probs[np.arange(len(task)), task.labels].mean())

    def evaluate(self, test: TextTask) -> ProbeScore:
        """Accuracy and macro-F1 on ``test``."""
        from sklearn.metrics import (  # lazy: scikit-learn (~1 s) only where a classifier is fitted
            accuracy_score,
            f1_score,
        )

        pred = self.predict(test.texts)
        return ProbeScore(
            float(accuracy_score(test.labels, pred)),
            float(f1_score(test.labels, pred, average="macro", zero_division=0)),
            len(test),
        )


def train_classifier(
    train: TextTask, config: FinetuneConfig, model_path: str | Path | None = None, progress: bool = True
) -> TrainedClassifier:
    """Fine-tune a fresh classifier on ``train`` (the method, schedule and seed come from ``config``).

    Deterministic for a given config, training set and thread count: seeded initialisation, a seeded shuffle,
    seeded dropout and torch's deterministic algorithms. Shows a tqdm bar over optimizer steps when ``progress``.
    """
    import torch  # lazy: torch takes seconds to import; only model code needs it
    from tqdm.auto import tqdm  # lazy: tqdm only when a progress bar is drawn

    if len(train) == 0:
        raise UsageError("train_classifier needs at least one training row")
    tokenizer, model = build_classifier(len(train.label_names), config, model_path)
    trainable, total = count_parameters(model)
    head = [p for n, p in model.named_parameters() if n.startswith("head.")]
    body = [p for n, p in model.named_parameters() if not n.startswith("head.") and p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": config.encoder_lr}, {"params": head, "lr": config.head_lr}],
        weight_decay=config.weight_decay,
    )
    epochs, steps = config.steps(len(train))
    warm = max(1, int(config.warmup * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm))
    )
    labels = torch.as_tensor(train.labels, dtype=torch.long)
    generator = torch.Generator().manual_seed(config.seed)
    result = TrainedClassifier(model, tokenizer, config, list(train.label_names), trainable=trainable, total=total)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with (
            settings.using_torch_threads(config.threads),
            _PeakRSS() as memory,
            tqdm(total=steps, desc=f"{config.method} n={len(train)}", disable=not progress, leave=False) as bar,
        ):
            torch.manual_seed(config.seed)  # dropout
            model.train()
            for _ in range(epochs):
                start = time.perf_counter()
                order = torch.randperm(len(train), generator=generator).tolist()
                for i in range(0, len(order), config.batch_size):
                    idx = order[i : i + config.batch_size]
                    batch = _batches(tokenizer, [train.texts[j] for j in idx], config.max_length)
                    logits = model(batch["input_ids"], batch["attention_mask"])
                    loss = torch.nn.functional.cross_entropy(logits, labels[idx])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    scheduler.step()
                    result.losses.append(float(loss.detach()))
                    bar.update(1)
                    bar.set_postfix(loss=f"{result.losses[-1]:.3f}")
                result.epoch_seconds.append(time.perf_counter() - start)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    result.peak_rss_mb = memory.peak_mb
    result.extra_rss_mb = max(0.0, memory.peak_mb - memory.start_mb)
    return result


def finetune_curve(
    pool: TextTask,
    test: TextTask,
    sizes: Sequence[int],
    seeds: Sequence[int],
    config: FinetuneConfig,
    methods: Sequence[str] = ("probe", "lora", "full"),
    probe_vectors: tuple[np.ndarray, np.ndarray] | None = None,
    model_path: str | Path | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Score every (method, rows per class, seed) on ``test``: a stratified sample of ``size`` rows per class of
    ``pool`` (the same sample for every method at a given size and seed), trained with ``config`` (its ``method``
    and ``seed`` replaced).

    ``"probe"`` is the frozen-embedding linear probe of :mod:`~playbook_lib.experiments.tasks`; it needs
    ``probe_vectors = (pool vectors, test vectors)`` aligned with ``pool`` and ``test`` rows (e.g. from
    :class:`~playbook_lib.experiments.runs.VectorTable`).

    Columns: ``method``, ``size_per_class``, ``train_rows``, ``seed``, ``accuracy``, ``macro_f1``, ``trainable``
    (parameters), ``epochs``, ``seconds_per_epoch``, ``train_seconds``, ``peak_rss_mb``, ``extra_rss_mb``.
    """
    from tqdm.auto import tqdm  # lazy: tqdm only when a progress bar is drawn

    unknown = [m for m in methods if m not in ("probe", *METHODS)]
    if unknown:
        raise UsageError(f"unknown methods {unknown}; valid: probe, {', '.join(METHODS)}")
    if "probe" in methods and probe_vectors is None:
        raise UsageError("the probe needs probe_vectors=(pool vectors, test vectors)")
    position = {t: i for i, t in enumerate(pool.texts)}
    rows = []
    runs = [(size, seed, method) for size in sizes for seed in seeds for method in methods]
    for size, seed, method in tqdm(runs, desc="runs", disable=not progress):
        train = stratified_sample(pool, size, seed=seed)
        row: dict[str, Any] = {"method": method, "size_per_class": size, "train_rows": len(train), "seed": seed}
        if method == "probe":
            assert probe_vectors is not None
            start = time.perf_counter()
            x = probe_vectors[0][[position[t] for t in train.texts]]
            result = probe_score(x, train.labels, probe_vectors[1], test.labels, seed=seed)
            seconds = time.perf_counter() - start
            dim = probe_vectors[0].shape[1]
            row.update(
                accuracy=result.accuracy,
                macro_f1=result.macro_f1,
                trainable=(dim + 1) * len(pool.label_names),
                epochs=0,
                seconds_per_epoch=np.nan,
                train_seconds=seconds,
                peak_rss_mb=np.nan,
                extra_rss_mb=np.nan,
            )
        else:
            run_config = replace(config, method=method, seed=seed)
            trained = train_classifier(train, run_config, model_path=model_path, progress=progress)
            result = trained.evaluate(test)
            row.update(
                accuracy=result.accuracy,
                macro_f1=result.macro_f1,
                trainable=trained.trainable,
                epochs=len(trained.epoch_seconds),
                seconds_per_epoch=float(np.mean(trained.epoch_seconds)),
                train_seconds=float(np.sum(trained.epoch_seconds)),
                peak_rss_mb=trained.peak_rss_mb,
                extra_rss_mb=trained.extra_rss_mb,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def complete_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the (size, seed) pairs at which every method ran: an interrupted benchmark leaves its last sizes
    measured for some methods or seeds only, and comparing methods there would compare different training sets."""
    methods = frame.method.nunique()
    counts = frame.groupby(["size_per_class", "seed"]).method.transform("nunique")
    return frame[counts == methods].reset_index(drop=True)


def examples_to_reach(frame: pd.DataFrame, target: float, metric: str = "accuracy") -> pd.DataFrame:
    """Per method, the smallest ``train_rows`` whose mean ``metric`` over seeds is at least ``target`` (``NaN``
    when no measured size reaches it). Columns: ``method``, ``train_rows``, ``size_per_class``, ``mean``."""
    means = frame.groupby(["method", "size_per_class", "train_rows"])[metric].mean().reset_index()
    rows = []
    for method, group in means.groupby("method", sort=False):
        hit = group[group[metric] >= target].sort_values("train_rows")
        first = hit.iloc[0] if len(hit) else None
        rows.append(
            {
                "method": method,
                "train_rows": np.nan if first is None else int(first.train_rows),
                "size_per_class": np.nan if first is None else int(first.size_per_class),
                "mean": np.nan if first is None else float(first[metric]),
            }
        )
    return pd.DataFrame(rows)


#: Seeds per size the book asks for before a verdict is read as evidence (fewer are judged, and the page says so).
SEEDS_WANTED = 5


@dataclass(frozen=True)
class MethodComparison:
    """Method ``a`` minus method ``b`` on ``metric``, per training-set size, over the seeds both ran (paired):
    one interval and one verdict per size, and :attr:`verdict` for the claim that it holds at every size."""

    a: str
    b: str
    metric: str
    threshold: float
    side: Side
    intervals: dict[int, Interval]

    @property
    def verdicts(self) -> dict[int, Verdict]:
        """The verdict at each size (:func:`~playbook_lib.experiments.verdict.judge`)."""
        return {size: judge(iv, self.threshold, self.side) for size, iv in self.intervals.items()}

    @property
    def verdict(self) -> Verdict:
        """The claim at every size: :func:`~playbook_lib.experiments.verdict.combine` of :attr:`verdicts`."""
        return combine(list(self.verdicts.values()))

    def frame(self) -> pd.DataFrame:
        """One row per size: ``size_per_class``, ``seeds``, ``difference``, ``low``, ``high``, ``verdict``."""
        verdicts = self.verdicts
        return pd.DataFrame(
            [
                {
                    "size_per_class": size,
                    "seeds": iv.n,
                    "difference": iv.estimate,
                    "low": iv.low,
                    "high": iv.high,
                    "verdict": verdicts[size].value,
                }
                for size, iv in self.intervals.items()
            ]
        )


def compare_methods(
    frame: pd.DataFrame,
    a: str,
    b: str,
    metric: str = "accuracy",
    threshold: float = 0.0,
    side: Side = "above",
    sizes: Sequence[int] | None = None,
) -> MethodComparison:
    """Judge the claim that ``metric`` of method ``a`` minus that of ``b`` lies ``side`` of ``threshold`` at each
    size (default: every size both ran), from :func:`~playbook_lib.experiments.verdict.difference_interval` on
    the seeds both methods ran at that size (paired: the same training sample). A method or size with no shared
    seed is a :class:`~playbook_lib.errors.UsageError`."""
    if metric not in frame.columns:
        raise UsageError(f"no column {metric!r} in the results")
    both = frame[frame.method.isin([a, b])].pivot_table(
        index=["size_per_class", "seed"], columns="method", values=metric, aggfunc="mean"
    )
    if a not in both.columns or b not in both.columns:
        raise UsageError(f"the results need both methods {a!r} and {b!r}")
    both = both[[a, b]].dropna()
    available = sorted(int(s) for s in both.index.get_level_values("size_per_class").unique())
    chosen = available if sizes is None else [int(s) for s in sizes]
    intervals: dict[int, Interval] = {}
    for size in chosen:
        if size not in available:
            raise UsageError(f"no seed at size {size} was run by both {a!r} and {b!r}")
        pairs = both.xs(size, level="size_per_class").sort_index()
        intervals[size] = difference_interval(pairs[a].to_numpy(), pairs[b].to_numpy(), paired=True)
    return MethodComparison(a, b, metric, float(threshold), side, intervals)


@dataclass(frozen=True)
class CostVerdict:
    """Method ``a`` costs less than ``b``: ``share`` is its trainable parameters as a share of ``b``'s (over the
    paired runs), ``seconds`` and ``memory`` the per-size comparisons of seconds per epoch and peak memory."""

    verdict: Verdict
    share: Interval
    max_share: float
    seconds: MethodComparison
    memory: MethodComparison


def judge_costs(frame: pd.DataFrame, a: str = "lora", b: str = "full", max_share: float = 0.01) -> CostVerdict:
    """Judge the claim that ``a`` trains under ``max_share`` of ``b``'s parameters and, at every size, takes less
    time per epoch (``seconds_per_epoch``) and less peak memory (``peak_rss_mb``) than ``b``, each judged on its
    paired interval (:func:`compare_methods` with ``side="below"``); held only when all three hold."""
    both = frame[frame.method.isin([a, b])].pivot_table(
        index=["size_per_class", "seed"], columns="method", values="trainable", aggfunc="mean"
    )
    if a not in both.columns or b not in both.columns:
        raise UsageError(f"the results need both methods {a!r} and {b!r}")
    pairs = both[[a, b]].dropna()
    share = mean_interval((pairs[a] / pairs[b]).to_numpy())
    seconds = compare_methods(frame, a, b, "seconds_per_epoch", side="below")
    memory = compare_methods(frame, a, b, "peak_rss_mb", side="below")
    verdict = combine([judge(share, max_share, "below"), seconds.verdict, memory.verdict])
    return CostVerdict(verdict, share, float(max_share), seconds, memory)


def plot_finetune_curves(frame: pd.DataFrame, metric: str = "accuracy", title: str = "", ax: Any = None) -> Figure:
    """Mean ``metric`` (± standard deviation over seeds) against training rows per class, one line per method,
    log-scaled x."""
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4))
    else:
        fig = ax.figure
    stats = frame.groupby(["method", "size_per_class"])[metric].agg(["mean", "std"]).reset_index().fillna(0.0)
    for method, group in stats.groupby("method", sort=False):
        ax.errorbar(group.size_per_class, group["mean"], yerr=group["std"], marker="o", capsize=3, label=method)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("training examples per class")
    ax.set_ylabel(metric.replace("_", "-"))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


RESULT_COLUMNS = ("method", "size_per_class", "seed", "accuracy", "macro_f1")


def write_results(frame: pd.DataFrame, path: str | Path, meta: dict[str, str]) -> None:
    """Write a measured table as CSV, preceded by ``# key: value`` lines (command, date, machine, versions...),
    atomically (:func:`~playbook_lib.experiments.tables.write_table`)."""
    write_table(frame, path, meta)


def read_results(path: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read a table written by :func:`write_results`: ``(frame, meta)``. A missing or unreadable file, or one
    without the columns of :data:`RESULT_COLUMNS`, is a :class:`~playbook_lib.errors.DataError`
    (:func:`~playbook_lib.experiments.tables.read_table`)."""
    return read_table(path, required=RESULT_COLUMNS)


#: The measures :func:`size_summary` shows for each method at a size, with their labels and decimals.
SIZE_MEASURES: dict[str, tuple[str, int]] = {
    "accuracy": ("accuracy", 3),
    "macro_f1": ("macro-F1", 3),
    "seconds_per_epoch": ("seconds per epoch", 2),
    "peak_rss_mb": ("peak memory (MB)", 0),
}


def _measure_cell(values: pd.Series, digits: int) -> str:
    x = values.dropna().to_numpy(dtype=float)
    return mean_interval(x).text(digits) if x.size else "not measured"


def size_summary(frame: pd.DataFrame, size_per_class: int) -> str:
    """HTML for one setting of the PEFT page's explorer over a committed table (:func:`read_results`): at
    ``size_per_class`` examples per tool, each method's :data:`SIZE_MEASURES` (the mean over seeds with its 95 % t
    interval, :func:`~playbook_lib.experiments.verdict.mean_interval`) and trainable parameters, on the (size, seed)
    pairs every method ran (:func:`complete_runs`, as the page judges them), then what the page's rules say at that
    size: (a) LoRA minus full fine-tuning accuracy (:func:`compare_methods`), (b) LoRA's seconds per epoch and peak
    memory against full fine-tuning's (:func:`judge_costs`), (c) LoRA minus the probe, judged at the largest size."""
    runs = complete_runs(frame)
    size = int(size_per_class)
    at = runs[runs.size_per_class == size].sort_values(["method", "seed"])
    if at.empty:
        raise UsageError(f"no complete runs at {size_per_class} examples per tool")
    present = set(runs.method)
    methods = [m for m in ("lora", "full", "probe") if m in present] + sorted(present - {"lora", "full", "probe"})
    header = "".join(f"<th>{html.escape(m)}</th>" for m in methods)
    cells = []
    for column, (label, digits) in SIZE_MEASURES.items():
        if column in at:
            values = "".join(f"<td>{_measure_cell(at[at.method == m][column], digits)}</td>" for m in methods)
            cells.append(f"<tr><td>{html.escape(label)}</td>{values}</tr>")
    if "trainable" in at:
        counts = "".join(f"<td>{int(at[at.method == m].trainable.max()):,}</td>" for m in methods)
        cells.append(f"<tr><td>trainable parameters</td>{counts}</tr>")
    seeds = int(at.seed.nunique())
    rows = int(at.train_rows.iloc[0]) if "train_rows" in at else size
    head = (
        f"<p data-pb-size='{size}'>{size} examples per tool ({rows:,} training rows): mean over {seeds} "
        f"seed{'s' if seeds != 1 else ''} [95 % interval]</p>"
    )
    table = f"<table><thead><tr><th>measure</th>{header}</tr></thead><tbody>{''.join(cells)}</tbody></table>"
    note = (
        f"<p>Only {seeds} seed{'s' if seeds != 1 else ''} at this size, fewer than the {SEEDS_WANTED} the book asks "
        "for: the intervals are wide and the verdicts provisional.</p>"
        if seeds < SEEDS_WANTED
        else ""
    )
    items: list[tuple[str, str]] = []
    if {"lora", "full"} <= present:
        a = compare_methods(runs, "lora", "full", "accuracy")
        items.append(
            (
                f"(a) no more examples than full fine-tuning: {a.verdict.value}",
                f"judged at every size; here LoRA minus full fine-tuning accuracy is {a.intervals[size]}, "
                f"{a.verdicts[size].value}",
            )
        )
        b = judge_costs(runs, "lora", "full")
        items.append(
            (
                f"(b) cheaper than full fine-tuning: {b.verdict.value}",
                f"LoRA trains {b.share.estimate:.2%} of full fine-tuning's parameters (bar {b.max_share:.0%}); here "
                f"LoRA minus full seconds per epoch {b.seconds.intervals[size]}, {b.seconds.verdicts[size].value}; "
                f"peak memory (MB) {b.memory.intervals[size]}, {b.memory.verdicts[size].value}",
            )
        )
    if {"lora", "probe"} <= present:
        largest = int(runs.size_per_class.max())
        c = compare_methods(runs, "lora", "probe", "accuracy", sizes=[largest])
        judged = f"judged at {largest} examples per tool: LoRA minus probe accuracy {c.intervals[largest]}"
        if size != largest:
            others = compare_methods(runs, "lora", "probe", "accuracy")
            judged += f"; here (context) {others.intervals[size]}, {others.verdicts[size].value}"
        items.append((f"(c) beats the probe: {c.verdict.value}", judged))
    verdicts = "".join(f"<li><strong>{html.escape(t)}</strong>: {html.escape(x)}</li>" for t, x in items)
    return head + table + note + (f"<ul>{verdicts}</ul>" if items else "")
