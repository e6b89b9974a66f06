"""Model collapse in miniature: a word n-gram model trained recursively on its own samples, with and without real data.

Taught on the *Synthetic data and model collapse* page (``notebooks/exp_06_model_collapse.ipynb``).

Generation 0 is trained on real text. Generation ``g + 1`` is trained on a set of the same size in which a share
``real_fraction`` of rows are drawn afresh from the real text and the rest are samples from generation ``g``. Every
row carries a provenance tag (``human``, or ``synthetic`` with the generation of the model that wrote it), and the
project's ``provenance`` check reports the synthetic share of each training set.

The model (:class:`NGramModel`) is an interpolated Witten-Bell n-gram over a fixed vocabulary, the real corpus's,
as a language model keeps its tokenizer: a word that drops out of the training data keeps only the add-k share of
the unigram level, so rare words fade from the samples and held-out real text becomes less likely.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import math
import textwrap
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from playbook_lib.checks import CheckContext, get_check
from playbook_lib.data import load_records, records_from_rows
from playbook_lib.errors import UsageError
from playbook_lib.experiments.lexical import distinct_n, entropy_bits, kl_divergence, take_tokens, tokenize
from playbook_lib.experiments.verdict import (
    Claim,
    Interval,
    Verdict,
    combine,
    difference_interval,
    mean_interval,
    within,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from playbook_lib.checks.base import CheckResult

BOS, EOS, UNK = "<s>", "</s>", "<unk>"

#: The page's two profiles: ``small`` (the book build and CI) and ``full`` (``bench/experiment_tables.py --pages
#: exp_06``, committed as ``notebooks/results/exp_06_model_collapse.csv``): training rows per generation, held-out
#: real rows, generations after generation 0 and seeds. Fixed before the full profile was first run.
COLLAPSE_PROFILES: dict[str, dict[str, Any]] = {
    "small": {"n_docs": 400, "heldout": 150, "generations": 5, "seeds": (0, 1, 2, 3, 4)},
    "full": {"n_docs": 4000, "heldout": 1000, "generations": 20, "seeds": tuple(range(10))},
}
#: The shares of real rows mixed into every generation by default (0: pure recursion, the base of the verdicts).
REAL_FRACTIONS: tuple[float, ...] = (0.0, 0.1, 0.5)

#: The metrics :func:`corpus_metrics` and :func:`recursive_training` report, with what each means.
METRICS: dict[str, str] = {
    "vocab_size": "distinct words in the training set",
    "distinct_1": "distinct-1 (unique words / words) on an equal token budget",
    "distinct_2": "distinct-2 (unique bigrams / bigrams) on an equal token budget",
    "distinct_3": "distinct-3 on an equal token budget",
    "tail_mass": "share of tokens that are rare words of the real corpus",
    "rare_types_kept": "share of the real corpus's rare words still present",
    "entropy_bits": "unigram entropy (bits)",
    "kl_to_real_bits": "KL(real unigram || this set's unigram), bits",
    "heldout_perplexity": "perplexity of held-out real text under the model trained on this set",
    "synthetic_share": "synthetic share reported by the provenance check",
}


class _Context:
    """Followers of one context: a word -> count table, its total, and the Witten-Bell weight of the context's own
    estimate, c(h) / (c(h) + T(h)). Sorted word ids and cumulative counts (for sampling) are built on first use."""

    __slots__ = ("counts", "total", "weight", "_words", "_cumulative")

    def __init__(self, table: dict[int, int]) -> None:
        self.counts = table
        self.total = sum(table.values())
        self.weight = self.total / (self.total + len(table))
        self._words: list[int] | None = None
        self._cumulative: list[int] = []

    def draw(self, u: float) -> int:
        """The follower at quantile ``u`` in [0, 1) of the counts."""
        if self._words is None:
            self._words = sorted(self.counts)
            self._cumulative = list(accumulate(self.counts[i] for i in self._words))
        return self._words[bisect.bisect_right(self._cumulative, u * self.total)]


class NGramModel:
    """An interpolated Witten-Bell word n-gram model over a fixed vocabulary; build it with :meth:`fit`.

    P(w | h) = lam(h) P_ML(w | h) + (1 - lam(h)) P(w | h minus its first word), with lam(h) = c(h) / (c(h) + T(h))
    (c: events after h, T: distinct words after h) and lam = 0 for an unseen context. The unigram level is add-``k``:
    ``(c(w) + k) / (N + k |V|)``, so every word of the vocabulary, ``</s>`` and ``<unk>`` have some probability and each
    conditional distribution sums to 1. Sampling draws from this mixture exactly, one level at a time.
    """

    def __init__(self, order: int, vocab: list[str], unigram: np.ndarray, contexts: dict[tuple[int, ...], _Context]):
        self.order = order
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}
        self.unigram = unigram
        self._unigram_cumulative = np.cumsum(unigram).tolist()
        self._contexts = contexts
        self._bos = -1

    @classmethod
    def fit(
        cls, docs: Iterable[Sequence[str]], order: int = 3, vocab: Iterable[str] | None = None, add_k: float = 0.01
    ) -> NGramModel:
        """Count the n-grams of tokenised ``docs`` (each padded with ``<s>`` and closed with ``</s>``).

        ``vocab`` fixes the words the model knows (default: those of ``docs``); other words count as ``<unk>``.
        """
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        if add_k <= 0:
            raise ValueError(f"add_k must be positive, got {add_k}")
        docs = [list(d) for d in docs]
        words = sorted(set(vocab) if vocab is not None else {w for d in docs for w in d})
        words = [w for w in words if w not in (BOS, EOS, UNK)] + [EOS, UNK]
        index = {w: i for i, w in enumerate(words)}
        unk = index[UNK]
        unigram_counts = np.zeros(len(words))
        grams: Counter[tuple[int, ...]] = Counter()
        for doc in docs:
            ids = [-1] * (order - 1) + [index.get(w, unk) for w in doc] + [index[EOS]]
            np.add.at(unigram_counts, ids[order - 1 :], 1)
            for n in range(2, order + 1):  # n-grams ending at a real token (never at padding)
                start = order - n
                grams.update(zip(*(ids[start + k : len(ids) - n + 1 + k] for k in range(n))))
        followers: dict[tuple[int, ...], dict[int, int]] = {}
        for gram, count in grams.items():
            followers.setdefault(gram[:-1], {})[gram[-1]] = count
        contexts = {ctx: _Context(table) for ctx, table in followers.items()}
        unigram = (unigram_counts + add_k) / (unigram_counts.sum() + add_k * len(words))
        return cls(order, words, unigram, contexts)

    def _history(self, context: Sequence[str]) -> tuple[int, ...]:
        ids = [self._bos if w == BOS else self.index.get(w, self.index[UNK]) for w in context]
        ids = [self._bos] * max(0, self.order - 1 - len(ids)) + ids
        return tuple(ids[len(ids) - (self.order - 1) :]) if self.order > 1 else ()

    def distribution(self, context: Sequence[str] = ()) -> np.ndarray:
        """P(w | context) for every word of :attr:`vocab` (an array that sums to 1). A short context is padded with
        ``<s>``, so ``()`` is the distribution of a document's first word."""
        history = self._history(context)
        p = self.unigram.copy()
        for n in range(1, self.order):
            ctx = self._contexts.get(history[len(history) - n :])
            if ctx is None:
                continue
            ml = np.zeros(len(self.vocab))
            ml[list(ctx.counts)] = np.fromiter(ctx.counts.values(), float) / ctx.total
            p = ctx.weight * ml + (1 - ctx.weight) * p
        return p

    def _prob(self, history: tuple[int, ...], word: int) -> float:
        p = float(self.unigram[word])
        for n in range(1, self.order):
            ctx = self._contexts.get(history[len(history) - n :])
            if ctx is not None:
                p = ctx.weight * ctx.counts.get(word, 0) / ctx.total + (1 - ctx.weight) * p
        return p

    def prob(self, word: str, context: Sequence[str] = ()) -> float:
        """P(word | context); a word outside the vocabulary is ``<unk>``."""
        return self._prob(self._history(context), self.index.get(word, self.index[UNK]))

    def perplexity(self, docs: Iterable[Sequence[str]]) -> float:
        """2 ** (mean negative log2-probability per token) of ``docs``, each closed with ``</s>`` (which counts)."""
        unk, eos = self.index[UNK], self.index[EOS]
        total, n = 0.0, 0
        for doc in docs:
            history = [self._bos] * (self.order - 1)
            for word in [self.index.get(w, unk) for w in doc] + [eos]:
                ctx = tuple(history[len(history) - (self.order - 1) :]) if self.order > 1 else ()
                total -= math.log2(self._prob(ctx, word))
                n += 1
                history.append(word)
        if not n:
            raise ValueError("no tokens to score")
        return 2 ** (total / n)

    def sample(self, n_docs: int, seed: int | np.random.Generator = 0, max_len: int = 200) -> list[list[str]]:
        """``n_docs`` documents drawn word by word until ``</s>`` (or ``max_len`` words). The same seed gives the same
        documents."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        eos = self.index[EOS]
        buffer: list[float] = []
        out: list[list[str]] = []

        def uniform() -> float:
            if not buffer:
                buffer.extend(rng.random(4096).tolist())
            return buffer.pop()

        for _ in range(n_docs):
            history = [self._bos] * (self.order - 1)
            doc: list[str] = []
            while len(doc) < max_len:
                word = self._draw(tuple(history[len(history) - (self.order - 1) :]) if self.order > 1 else (), uniform)
                if word == eos:
                    break
                doc.append(self.vocab[word])
                history.append(word)
            out.append(doc)
        return out

    def _draw(self, history: tuple[int, ...], uniform: Any) -> int:
        for n in range(self.order - 1, 0, -1):
            ctx = self._contexts.get(history[len(history) - n :])
            if ctx is not None and uniform() < ctx.weight:
                return ctx.draw(uniform())
        i = bisect.bisect_right(self._unigram_cumulative, uniform() * self._unigram_cumulative[-1])
        return min(i, len(self.vocab) - 1)


def load_documents(
    path: str | Path,
    field: str = "instruction",
    limit: int | None = None,
    heldout: int = 0,
    seed: int = 0,
    punctuation: bool = True,
) -> tuple[list[list[str]], list[list[str]]]:
    """Tokenised texts of one field of a dataset file (any format :func:`playbook_lib.data.load_records` reads),
    shuffled with ``seed``: ``limit`` training documents (default: all but the held-out ones) and ``heldout`` others."""
    records = load_records(path)
    if field not in records.columns:
        raise UsageError(f"unknown field {field!r}; use a record field such as instruction or output")
    texts = [t for t in records[field].tolist() if isinstance(t, str) and t.strip()]
    order = np.random.default_rng(seed).permutation(len(texts))
    docs = [tokenize(texts[i], punctuation=punctuation) for i in order]
    held = docs[:heldout]
    train = docs[heldout:] if limit is None else docs[heldout : heldout + limit]
    if not train:
        raise UsageError(f"{path}: no training documents left after holding out {heldout}")
    return train, held


def rare_words(counts: Counter[str], max_count: int = 2) -> set[str]:
    """Words that occur at most ``max_count`` times: the tail of the distribution."""
    return {w for w, c in counts.items() if c <= max_count}


def corpus_metrics(
    docs: Sequence[Sequence[str]], real_counts: Counter[str], rare: set[str], budget: int
) -> dict[str, float]:
    """The diversity and tail measures of :data:`METRICS` (all but perplexity and synthetic share) for one corpus.

    Distinct-n is taken on ``budget`` tokens so corpora of different lengths compare fairly; the documents are
    taken in an order set by a hash of their text, so the same documents in any order give the same numbers.
    """
    counts = Counter(w for d in docs for w in d)
    tokens = sum(counts.values())
    window = take_tokens(
        sorted(docs, key=lambda d: hashlib.blake2b(" ".join(d).encode(), digest_size=8).digest()), budget
    )
    return {
        "docs": len(docs),
        "tokens": tokens,
        "mean_doc_tokens": tokens / len(docs) if docs else 0.0,
        "vocab_size": len(counts),
        "distinct_1": distinct_n(window, 1),
        "distinct_2": distinct_n(window, 2),
        "distinct_3": distinct_n(window, 3),
        "tail_mass": sum(counts[w] for w in rare) / tokens if tokens else 0.0,
        "rare_types_kept": sum(1 for w in rare if counts[w]) / len(rare) if rare else 0.0,
        "entropy_bits": entropy_bits(counts),
        "kl_to_real_bits": kl_divergence(real_counts, counts),
    }


def provenance_of(rows: Sequence[dict[str, Any]]) -> CheckResult:
    """The registered ``provenance`` check run on rows that carry a ``provenance`` tag."""
    return get_check("provenance")().run(records_from_rows(list(rows)), CheckContext())


@dataclass
class CollapseRun:
    """One recursive run: a metrics row per generation, the last training set's rows and a few samples."""

    real_fraction: float
    seed: int
    metrics: list[dict[str, Any]]
    final_rows: list[dict[str, Any]]
    samples: dict[int, list[list[str]]] = field(default_factory=dict)


def recursive_training(
    real: Sequence[Sequence[str]],
    heldout: Sequence[Sequence[str]],
    generations: int,
    real_fraction: float = 0.0,
    seed: int = 0,
    order: int = 3,
    add_k: float = 0.01,
    rare_max_count: int = 2,
    budget: int | None = None,
    source: str = "real",
    n_samples_kept: int = 3,
) -> CollapseRun:
    """Train generation 0 on ``real``; train generation g+1 on ``len(real)`` rows of which ``round(real_fraction *
    len(real))`` are real rows drawn afresh and the rest samples of generation g.

    Each row is ``{"text", "provenance", "generation", "source"}``: real rows are ``human`` (generation ``None``,
    ``source`` as given), model rows ``synthetic`` with the generation that wrote them. Metrics (see
    :data:`METRICS`) are computed for every generation's training set, ``heldout_perplexity`` with the model trained
    on it. ``budget`` (default: half the real tokens) is the token budget of distinct-n.
    """
    if not 0.0 <= real_fraction <= 1.0:
        raise ValueError(f"real_fraction must be in [0, 1], got {real_fraction}")
    if generations < 0:
        raise ValueError(f"generations must be non-negative, got {generations}")
    real = [list(d) for d in real]
    n = len(real)
    rng = np.random.default_rng(seed)
    real_counts = Counter(w for d in real for w in d)
    rare = rare_words(real_counts, rare_max_count)
    vocab = sorted(real_counts)
    budget = budget or max(1, sum(real_counts.values()) // 2)
    max_len = 2 * max(len(d) for d in real) + 1
    n_real = round(real_fraction * n)
    rows: list[dict[str, Any]] = [
        {"text": d, "provenance": "human", "generation": None, "source": source} for d in real
    ]
    run = CollapseRun(real_fraction, seed, [], rows)
    model: NGramModel | None = None  # generation g's model, trained at the end of iteration g
    for g in range(generations + 1):
        if model is not None:  # g > 0: generation g trains on samples of generation g - 1
            picks: Sequence[int] = rng.choice(n, size=n_real, replace=False).tolist() if n_real else []
            synthetic = model.sample(n - n_real, seed=rng, max_len=max_len)
            run.samples[g] = synthetic[:n_samples_kept]
            rows = [{"text": real[i], "provenance": "human", "generation": None, "source": source} for i in picks]
            rows += [
                {"text": d, "provenance": "synthetic", "generation": g - 1, "source": f"ngram-gen{g - 1}"}
                for d in synthetic
            ]
            rows = [rows[i] for i in rng.permutation(len(rows))]
        docs = [r["text"] for r in rows]
        model = NGramModel.fit(docs, order=order, vocab=vocab, add_k=add_k)
        check = provenance_of([{k: v for k, v in r.items() if k != "text"} for r in rows])
        run.metrics.append(
            {
                "real_fraction": real_fraction,
                "seed": seed,
                "generation": g,
                **corpus_metrics(docs, real_counts, rare, budget),
                "heldout_perplexity": model.perplexity(heldout) if heldout else math.nan,
                "synthetic_share": check.summary["synthetic_share"],
                "provenance_outcome": check.outcome.value,
            }
        )
        run.final_rows = rows
    return run


def collapse_experiment(
    real: Sequence[Sequence[str]],
    heldout: Sequence[Sequence[str]],
    generations: int,
    real_fractions: Sequence[float] = (0.0, 0.1, 0.5),
    seeds: Sequence[int] = (0, 1),
    progress: bool = True,
    **options: Any,
) -> tuple[pd.DataFrame, list[CollapseRun]]:
    """:func:`recursive_training` for every real fraction and seed: one metrics frame (a row per fraction, seed and
    generation) and the runs themselves. ``options`` go to :func:`recursive_training`."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built
    from tqdm.auto import tqdm  # lazy: tqdm only when a progress bar is drawn

    jobs = [(f, s) for f in real_fractions for s in seeds]
    runs = [
        recursive_training(real, heldout, generations, real_fraction=f, seed=s, **options)
        for f, s in tqdm(jobs, desc="recursive runs", disable=not progress)
    ]
    return pd.DataFrame([m for r in runs for m in r.metrics]), runs


def summarise(frame: pd.DataFrame, metrics: Sequence[str] = tuple(METRICS)) -> pd.DataFrame:
    """Mean over seeds of each metric at generation 0 and at the last generation, per real fraction, with the change
    (last / first for perplexity, last - first otherwise)."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    last = int(frame["generation"].max())
    means = frame.groupby(["real_fraction", "generation"])[list(metrics)].mean()
    out = []
    for fraction in sorted(frame["real_fraction"].unique()):
        first_row, last_row = means.loc[(fraction, 0)], means.loc[(fraction, last)]
        for m in metrics:
            change = (
                last_row[m] / first_row[m] if m == "heldout_perplexity" and first_row[m] else last_row[m] - first_row[m]
            )
            out.append(
                {
                    "real_fraction": fraction,
                    "metric": m,
                    "generation_0": first_row[m],
                    f"generation_{last}": last_row[m],
                    "change": change,
                }
            )
    return pd.DataFrame(out)


def plot_collapse(
    frame: pd.DataFrame,
    metrics: Sequence[str] = (
        "vocab_size",
        "distinct_2",
        "rare_types_kept",
        "entropy_bits",
        "kl_to_real_bits",
        "heldout_perplexity",
    ),
) -> Figure:
    """One panel per metric: its value by generation, a line per real fraction (mean over seeds, band = min..max).

    Used on the *Model collapse* page (``notebooks/exp_06_model_collapse.ipynb``).
    """
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn
    from matplotlib.ticker import MaxNLocator  # lazy: as matplotlib above

    cols = 2  # two panels across: legible when the page scales the figure to its width (~800 px)
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.2 * rows), squeeze=False)
    fractions = sorted(frame["real_fraction"].unique())
    colors = plt.cm.viridis(np.linspace(0.05, 0.85, len(fractions)))
    for ax, metric in zip(axes.flat, metrics):
        for fraction, color in zip(fractions, colors):
            g = frame[frame["real_fraction"] == fraction].groupby("generation")[metric]
            mean, lo, hi = g.mean(), g.min(), g.max()
            ax.plot(mean.index, mean.values, "o-", color=color, markersize=3, label=f"{fraction:.0%} real")
            ax.fill_between(mean.index, lo.values, hi.values, color=color, alpha=0.2)
        ax.set_title(textwrap.fill(METRICS.get(metric, metric), 48), fontsize=10)
        ax.set_xlabel("generation", fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=9)
    fig.suptitle(f"Recursive training, {frame['seed'].nunique()} seeds (band: min to max over seeds)")
    fig.tight_layout()
    return fig


def plot_rank_frequency(real_counts: Counter[str], others: dict[str, Counter[str]]) -> Figure:
    """Rank-frequency (Zipf) curves of the real corpus and other corpora: a collapsed corpus loses the long tail.

    Used on the *Model collapse* page (``notebooks/exp_06_model_collapse.ipynb``).
    """
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, counts in {"real": real_counts, **others}.items():
        freq = np.sort(np.fromiter(counts.values(), float))[::-1]
        ax.loglog(np.arange(1, len(freq) + 1), freq, label=f"{label} ({len(freq)} words)")
    ax.set_xlabel("word rank")
    ax.set_ylabel("count")
    ax.set_title("Rank-frequency: where the tail ends")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def last_generation(frame: pd.DataFrame, metric: str, fraction: float) -> np.ndarray:
    """``metric`` of the last generation's training set, one value per seed (in seed order), for ``fraction``."""
    rows = frame[(frame["real_fraction"] == fraction) & (frame["generation"] == frame["generation"].max())]
    if rows.empty:
        raise UsageError(f"no runs with real_fraction {fraction}")
    return rows.sort_values("seed")[metric].to_numpy(dtype=float)


def first_generation(frame: pd.DataFrame, metric: str, fraction: float) -> np.ndarray:
    """``metric`` of generation 0, one value per seed (in seed order), for ``fraction``."""
    rows = frame[(frame["real_fraction"] == fraction) & (frame["generation"] == 0)]
    if rows.empty:
        raise UsageError(f"no runs with real_fraction {fraction}")
    return rows.sort_values("seed")[metric].to_numpy(dtype=float)


#: Collapse under recursion, part by part: (metric, claim on its per-seed change from generation 0 to the last).
COLLAPSE_CLAIMS: tuple[tuple[str, Claim], ...] = (
    ("rare_types_kept", Claim("rare words kept, generation 0 - last")),
    ("distinct_2", Claim("distinct-2, generation 0 - last")),
    ("vocab_size", Claim("vocabulary, generation 0 - last (words)")),
    ("heldout_perplexity", Claim("held-out perplexity, last / generation 0", threshold=1.0)),
)
#: Anchoring, part by part: (metric, claim on the per-seed last-generation difference, mixed vs pure recursion).
ANCHOR_CLAIMS: tuple[tuple[str, Claim], ...] = (
    ("rare_types_kept", Claim("rare words kept at the last generation, mixed - pure")),
    ("distinct_2", Claim("distinct-2 at the last generation, mixed - pure")),
    ("heldout_perplexity", Claim("held-out perplexity at the last generation, pure - mixed")),
)
#: What the page says of the token share of the tail: it barely moves (within this margin) under pure recursion.
TAIL_MASS_MARGIN = 0.02


@dataclass(frozen=True)
class ClaimPart:
    """One part of a claim with the interval it was judged on."""

    claim: Claim
    interval: Interval

    @property
    def verdict(self) -> Verdict:
        """The part's verdict."""
        return self.claim.judge(self.interval)


@dataclass(frozen=True)
class CollapseVerdict:
    """The verdicts of the collapse page: collapse under pure recursion (``base`` real share), anchoring by each
    larger real share, and whether the tail's token share stays within :data:`TAIL_MASS_MARGIN`."""

    base: float
    seeds: int
    collapse: tuple[ClaimPart, ...]
    anchoring: dict[float, tuple[ClaimPart, ...]]
    tail_mass: Interval

    @property
    def collapsed(self) -> Verdict:
        """Collapse: every part must hold."""
        return combine([p.verdict for p in self.collapse])

    def anchored(self, fraction: float) -> Verdict:
        """Anchoring by ``fraction`` real rows: every part must hold."""
        return combine([p.verdict for p in self.anchoring[fraction]])

    @property
    def tail_mass_small(self) -> Verdict:
        """The tail's token share changes by less than :data:`TAIL_MASS_MARGIN` (:func:`within`)."""
        return within(self.tail_mass, TAIL_MASS_MARGIN)

    @property
    def overall(self) -> Verdict:
        """The page's claim: collapse, and every larger real share anchors it."""
        return combine([self.collapsed, *(self.anchored(f) for f in self.anchoring)])

    def parts(self) -> dict[str, Verdict]:
        """Every verdict by name, the claim first, then each claim and its parts: for a table that sets two runs
        (the build's and the committed full profile) side by side."""
        out = {"claim": self.overall, f"collapse with {self.base:.0%} real": self.collapsed}
        out.update({f"  {p.claim.effect}": p.verdict for p in self.collapse})
        for fraction, parts in self.anchoring.items():
            out[f"anchoring with {fraction:.0%} real"] = self.anchored(fraction)
            out.update({f"  {p.claim.effect} ({fraction:.0%} real)": p.verdict for p in parts})
        out[f"tail mass within ±{TAIL_MASS_MARGIN:g}"] = self.tail_mass_small
        return out

    def part_lines(self, fraction: float) -> tuple[str, list[str]]:
        """The verdict of the part that ``fraction`` real rows are judged on (collapse for :attr:`base`, anchoring
        for a larger share) as a heading and the lines of its parts, in the words of :meth:`lines`."""
        if fraction == self.base:
            return f"Collapse with {self.base:.0%} real data: {self.collapsed.value}", [
                p.claim.sentence(p.interval) for p in self.collapse
            ]
        found = next((f for f in self.anchoring if f == fraction), None)
        if found is None:
            raise UsageError(f"no runs with real_fraction {fraction}")
        return f"Anchoring with {found:.0%} real data: {self.anchored(found).value}", [
            p.claim.sentence(p.interval) for p in self.anchoring[found]
        ]

    def lines(self) -> list[str]:
        """Markdown bullet lines: each verdict with the parts and intervals it rests on."""
        out = [
            f"- **Claim {self.overall.value}** over {self.seeds} seeds (every part below must hold).",
            f"- **Collapse with {self.base:.0%} real data: {self.collapsed.value}**",
            *(f"  - {p.claim.sentence(p.interval)}" for p in self.collapse),
        ]
        for fraction, parts in self.anchoring.items():
            out.append(f"- **Anchoring with {fraction:.0%} real data: {self.anchored(fraction).value}**")
            out += [f"  - {p.claim.sentence(p.interval)}" for p in parts]
        out.append(
            f"- Tail mass (token share of the real tail), last - generation 0 with {self.base:.0%} real data: "
            f"{self.tail_mass}; within ±{TAIL_MASS_MARGIN:g}: {self.tail_mass_small.value}."
        )
        return out


def collapse_verdict(frame: pd.DataFrame) -> CollapseVerdict:
    """Judge the page's claims from :func:`collapse_experiment`'s frame: per-seed effects (a seed's change over the
    generations, or its paired difference from pure recursion at the last generation) and their 95 % t intervals.
    The smallest real fraction is the base (pure recursion when it is 0)."""
    fractions = sorted(float(f) for f in frame["real_fraction"].unique())
    if not fractions:
        raise UsageError("no runs to judge")
    base = fractions[0]
    collapse = []
    for metric, claim in COLLAPSE_CLAIMS:
        first, last = first_generation(frame, metric, base), last_generation(frame, metric, base)
        effect = last / first if metric == "heldout_perplexity" else first - last
        collapse.append(ClaimPart(claim, mean_interval(effect)))
    anchoring = {}
    for fraction in fractions[1:]:
        parts = []
        for metric, claim in ANCHOR_CLAIMS:
            mixed, pure = last_generation(frame, metric, fraction), last_generation(frame, metric, base)
            a, b = (pure, mixed) if metric == "heldout_perplexity" else (mixed, pure)
            parts.append(ClaimPart(claim, difference_interval(a, b)))
        anchoring[fraction] = tuple(parts)
    tail = last_generation(frame, "tail_mass", base) - first_generation(frame, "tail_mass", base)
    seeds = int(frame["seed"].nunique())
    return CollapseVerdict(base, seeds, tuple(collapse), anchoring, mean_interval(tail))


#: The columns a committed full-profile table must have for :func:`collapse_verdict` and :func:`plot_collapse`.
TABLE_COLUMNS: tuple[str, ...] = ("real_fraction", "seed", "generation", "tail_mass", *METRICS)


def run_profile(
    path: str | Path,
    profile: str = "small",
    field: str = "instruction",
    real_fractions: Sequence[float] = REAL_FRACTIONS,
    progress: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """The page's experiment for one of :data:`COLLAPSE_PROFILES` on the texts of ``field`` in ``path``: the real
    and held-out documents drawn with seed 0 (:func:`load_documents`), then :func:`collapse_experiment` over the
    profile's seeds; its metrics frame, one row per real fraction, seed and generation. ``bench/experiment_tables.py``
    writes the ``full`` profile's frame to the committed table. ``options`` go to :func:`recursive_training`."""
    if profile not in COLLAPSE_PROFILES:
        raise UsageError(f"unknown profile {profile!r}; use one of {', '.join(COLLAPSE_PROFILES)}")
    cfg = COLLAPSE_PROFILES[profile]
    real, heldout = load_documents(path, field=field, limit=cfg["n_docs"], heldout=cfg["heldout"], seed=0)
    frame, _ = collapse_experiment(
        real, heldout, cfg["generations"], real_fractions, cfg["seeds"], progress=progress, **options
    )
    return frame


def read_collapse_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """A committed :func:`run_profile` frame and its ``# key: value`` header lines
    (:func:`~playbook_lib.experiments.tables.read_table`); a missing or incomplete file is a
    :class:`~playbook_lib.errors.DataError`."""
    from playbook_lib.experiments.tables import read_table  # lazy: pandas only where a table is read

    return read_table(path, required=TABLE_COLUMNS)


#: The measures :func:`generation_summary` shows at a generation, with how many decimals.
GENERATION_METRICS: dict[str, int] = {
    "rare_types_kept": 3,
    "distinct_2": 3,
    "vocab_size": 0,
    "heldout_perplexity": 1,
}


def generation_summary(frame: pd.DataFrame, real_fraction: float, generation: int) -> str:
    """HTML for one setting of the collapse page's explorer: the :data:`GENERATION_METRICS` of the training set of
    ``generation`` with ``real_fraction`` real rows, each the mean over seeds with its 95 % t interval
    (:func:`~playbook_lib.experiments.verdict.mean_interval`), and, at the last generation, the verdict of the part
    that share is judged on (:meth:`CollapseVerdict.part_lines` of :func:`collapse_verdict`)."""
    rows = frame[(frame["real_fraction"] == real_fraction) & (frame["generation"] == generation)]
    if rows.empty:
        raise UsageError(f"no runs with real_fraction {real_fraction} at generation {generation}")
    rows = rows.sort_values("seed")
    seeds = int(rows["seed"].nunique())
    cells = "".join(
        f"<tr><td>{html.escape(METRICS[m])}</td>"
        f"<td>{mean_interval(rows[m].to_numpy(dtype=float)).text(digits)}</td></tr>"
        for m, digits in GENERATION_METRICS.items()
    )
    head = (
        f"<p data-pb-generation='{int(generation)}'>Generation {int(generation)} with {real_fraction:.0%} real "
        f"data: mean over {seeds} seeds [95 % interval]</p>"
    )
    table = f"<table><thead><tr><th>measure</th><th>value</th></tr></thead><tbody>{cells}</tbody></table>"
    last = int(frame["generation"].max())
    if int(generation) != last:
        return head + table + f"<p>The verdicts are judged at the last generation ({last}).</p>"
    title, parts = collapse_verdict(frame).part_lines(real_fraction)
    items = "".join(f"<li>{html.escape(p)}</li>" for p in parts)
    return head + table + f"<p><strong>{html.escape(title)}</strong></p><ul>{items}</ul>"


def real_rows_alone(
    real: Sequence[Sequence[str]], fraction: float, rare: set[str], draws: int = 5, seed: int = 0
) -> float:
    """The share of ``rare`` words that a random ``fraction`` of the real rows holds (mean of ``draws`` draws):
    what an anchored set's real rows alone would keep, the scale to read its ``rare_types_kept`` against."""
    n = round(fraction * len(real))
    if not n or not rare:
        return 0.0
    rng = np.random.default_rng(seed)
    kept = []
    for _ in range(draws):
        words = {w for i in rng.choice(len(real), n, replace=False) for w in real[int(i)]}
        kept.append(len(rare & words) / len(rare))
    return float(np.mean(kept))
