"""Human-written vs model-generated instruction data: length, lexical diversity, style, duplicates, embedding spread.

Taught on the *Human vs synthetic provenance* page (``notebooks/exp_07_provenance.ipynb``).

Every source is sampled to the same number of rows and every size-dependent measure is taken on the same token
budget. Sources differ in task as well as in provenance (GSM8K is arithmetic, GPTeacher codegen is code), so a
difference between the groups means something only where it survives a like-with-like comparison
(:data:`LIKE_WITH_LIKE`) and is larger than the spread inside each group (:func:`group_separation`).

The page's claims are judged over disjoint folds of the sample (:func:`split_folds`), with rules fixed here before
the numbers: a like-with-like difference counts when its interval lies wholly beyond :data:`MARGINS`
(:func:`differs`) against every human source in the same direction (:func:`consistent_difference`); a measure
separates the groups when the gap between their ranges (:func:`separation_gap`) is above zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from playbook_lib import settings
from playbook_lib.checks import CheckContext, get_check
from playbook_lib.data import load_records, records_from_rows
from playbook_lib.errors import DataError, UsageError
from playbook_lib.experiments.lexical import distinct_n, msttr, mtld, take_tokens, tokenize
from playbook_lib.experiments.verdict import Interval, Verdict, combine, differs, mean_interval
from playbook_lib.experiments.verdict import any_holds as any_holds  # re-exported: exp_07 imports it from here

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from playbook_lib.checks.base import Check, CheckResult
    from playbook_lib.embeddings.model import Embedder


@dataclass(frozen=True)
class Source:
    """One dataset file of ``../shared/data/sft``, its provenance and its task."""

    file: str
    provenance: str
    task: str


#: The instruction datasets compared; provenance as their authors describe them (see ``../shared/data/README.md``).
SOURCES: dict[str, Source] = {
    "lima": Source("lima_llamafactory.json", "human", "open questions, curated long answers"),
    "gsm8k": Source("gsm8k_train.jsonl", "human", "grade-school maths word problems with worked answers"),
    "alpaca_seeds": Source("alpaca_seed_tasks.jsonl", "human", "short varied tasks (self-instruct seeds)"),
    "gpteacher_roleplay": Source("gpteacher_roleplay-simple-deduped.json", "synthetic", "role-play and open prose"),
    "gpteacher_codegen": Source("gpteacher_codegen-instruct.json", "synthetic", "code generation"),
    "gpteacher_toolformer": Source("gpteacher_toolformer-dedupe-only.json", "synthetic", "tool-call answers"),
}

#: Pairs of a human and a synthetic source that do the same kind of task: open-ended prose answers.
LIKE_WITH_LIKE: list[tuple[str, str]] = [("lima", "gpteacher_roleplay"), ("alpaca_seeds", "gpteacher_roleplay")]

#: Style markers: a response shows one when the pattern matches (case-insensitive; ``^`` is the start of a line).
STYLE_MARKERS: dict[str, str] = {
    "stock_opener": r"\A\W*(?:sure|certainly|of course|absolutely|great question|here is|here's|here are|"
    r"as an ai|i'd be happy|i would be happy)\b",
    "list_or_markdown": r"^\s*(?:[-*\u2022]\s|\d+[.)]\s|#{1,6}\s+[^\W\d])|```|\*\*[^*\n]+\*\*",
    "hedging": r"\b(?:may|might|perhaps|possibly|generally|typically|it is important to|it's important to|"
    r"in general|it depends)\b",
    "closing_summary": r"\b(?:in summary|in conclusion|to summarize|overall,)",
    "first_person": r"\b(?:i|i'm|i've|my|me)\b",
}
_MARKERS = {name: re.compile(p, re.IGNORECASE | re.MULTILINE) for name, p in STYLE_MARKERS.items()}


#: Smallest like-with-like difference (synthetic minus human) that counts, per measure of :func:`fold_differences`:
#: 10 tokens of median length, 5 points of a style marker's share. Fixed before any run.
MARGINS: dict[str, float] = {"median_tokens": 10.0, **{f"share_{m}": 0.05 for m in STYLE_MARKERS}}

#: Largest error of the ``provenance`` check's synthetic share (tagged rows) and untagged share (stripped tags).
CHECK_MARGIN = 0.01


def locate_sft_data(path: str | Path = "") -> Path:
    """The folder of the instruction datasets: ``path`` when given, else ``$PLAYBOOK_SHARED_DATA/sft``, else the
    first ``shared/data/sft`` found beside the working directory or one of its parents (the project keeps the public
    datasets in ``../shared/data``). :class:`~playbook_lib.errors.DataError` when there is none."""
    if path:
        found = Path(path)
        if not found.is_dir():
            raise DataError(f"{found}: data folder not found")
        return found
    env = settings.shared_data_dir()
    candidates = [env / "sft"] if env is not None else []
    here = Path.cwd().resolve()
    candidates += [p / "shared" / "data" / "sft" for p in (here, *here.parents)]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise DataError(
        "the public datasets (shared/data/sft) were not found; pass their folder or set PLAYBOOK_SHARED_DATA"
    )


def load_source(root: str | Path, name: str, n: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Up to ``n`` rows (all when ``None``) of one :data:`SOURCES` dataset under ``root``, in a ``seed``-shuffled
    order, with columns ``source``, ``provenance``, ``instruction``, ``input``, ``output``.

    Alpaca seed tasks keep their first instance's input and output.
    """
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    if name not in SOURCES:
        raise UsageError(f"unknown source {name!r}; valid: {', '.join(SOURCES)}")
    spec = SOURCES[name]
    records = load_records(Path(root) / spec.file)
    rows = []
    for rec in records.itertuples(index=False):
        inp, out = rec.input, rec.output
        instances = rec.raw.get("instances") if isinstance(rec.raw, dict) else None
        if out is None and isinstance(instances, list) and instances and isinstance(instances[0], dict):
            inp, out = instances[0].get("input"), instances[0].get("output")
        if isinstance(out, str) and out.strip():
            rows.append(
                {
                    "source": name,
                    "provenance": spec.provenance,
                    "instruction": rec.instruction or "",
                    "input": inp or "",
                    "output": out,
                }
            )
    order = np.random.default_rng(seed).permutation(len(rows))
    if n is not None:
        order = order[:n]
    return pd.DataFrame([rows[i] for i in order])


def load_sources(
    root: str | Path, names: Sequence[str] = tuple(SOURCES), n: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """:func:`load_source` for each name, stacked (each source sampled to at most ``n`` rows)."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    return pd.concat([load_source(root, name, n, seed) for name in names], ignore_index=True)


def style_markers(texts: Sequence[str]) -> dict[str, float]:
    """Share of ``texts`` that show each of :data:`STYLE_MARKERS`."""
    if not texts:
        return {name: 0.0 for name in _MARKERS}
    return {name: sum(1 for t in texts if pattern.search(t)) / len(texts) for name, pattern in _MARKERS.items()}


def marker_flags(texts: Sequence[str], marker: str) -> np.ndarray:
    """Per text, whether it shows ``marker`` (a key of :data:`STYLE_MARKERS`)."""
    return np.array([bool(_MARKERS[marker].search(t)) for t in texts])


def lexical_diversity(texts: Sequence[str], budget: int) -> dict[str, float]:
    """Distinct-1/2, MTLD and MSTTR (50-token windows) of the first ``budget`` word tokens of ``texts``.

    ``budget_tokens`` says how many tokens there were: when a source has fewer, its numbers are not comparable.
    """
    docs = take_tokens((tokenize(t) for t in texts), budget)
    flat = [w for d in docs for w in d]
    return {
        "budget_tokens": len(flat),
        "distinct_1": distinct_n(docs, 1),
        "distinct_2": distinct_n(docs, 2),
        "mtld": mtld(flat),
        "msttr_50": msttr(flat, 50),
    }


def common_budget(frame: pd.DataFrame) -> int:
    """The largest token budget every source of ``frame`` can fill: the fewest word tokens of ``output`` any source
    has. Diversity measured on this budget compares like sizes."""
    totals = frame.groupby("source")["output"].apply(lambda texts: sum(len(tokenize(t)) for t in texts))
    return int(totals.min())


def duplicate_rates(
    frame: pd.DataFrame, fields: Sequence[str] = ("output",), threshold: float = 0.8
) -> dict[str, float]:
    """Exact and near-duplicate rates of ``frame``'s rows from the registered ``exact_duplicates`` and
    ``near_duplicates`` checks, on the given fields."""
    from playbook_lib.checks import CheckContext, get_check  # lazy: the checks import pandas
    from playbook_lib.data import records_from_rows  # lazy: as above

    # each registered class takes its own options (the base class's constructor knows only warn/fail)
    exact_check: Callable[..., Check] = get_check("exact_duplicates")
    near_check: Callable[..., Check] = get_check("near_duplicates")
    records = records_from_rows(frame.to_dict(orient="records"))
    exact = exact_check(fields=list(fields)).run(records, CheckContext())
    near = near_check(fields=list(fields), threshold=threshold).run(records, CheckContext())
    return {
        "exact_duplicate_rate": exact.summary["duplicate_rate"],
        "near_duplicate_rate": near.summary["near_duplicate_rate"],
    }


def mean_pairwise_cosine(vectors: np.ndarray) -> float:
    """Mean cosine similarity over all pairs of distinct rows (rows need not be normalised). Lower = more spread."""
    v = np.asarray(vectors, dtype=np.float64)
    if len(v) < 2:
        raise ValueError("need at least two vectors")
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    sims = v @ v.T
    n = len(v)
    return float((sims.sum() - np.trace(sims)) / (n * (n - 1)))


def truncate_words(text: str, max_words: int) -> str:
    """The first ``max_words`` whitespace-separated words of ``text``."""
    return " ".join(text.split()[:max_words])


def profile_sources(
    frame: pd.DataFrame,
    budget: int,
    count_tokens: Callable[[str], int] | None = None,
    embedder: Embedder | None = None,
    n_embed: int = 64,
    embed_words: int = 128,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per source of ``frame`` (from :func:`load_sources`) with the measures of this module, on ``output``.

    Lengths are in ``count_tokens`` tokens (default: word tokens); diversity on ``budget`` word tokens; duplicates
    on all rows given; embedding spread (when an ``embedder`` is given) on the first ``n_embed`` rows, each cut to
    ``embed_words`` words.
    """
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built
    from tqdm.auto import tqdm  # lazy: tqdm only when a progress bar is drawn

    count = count_tokens or (lambda t: len(tokenize(t)))
    out = []
    for name, group in tqdm(frame.groupby("source", sort=False), desc="sources", disable=not progress):
        texts = group["output"].tolist()
        lengths = np.array([count(t) for t in texts])
        row: dict[str, Any] = {
            "source": name,
            "provenance": group["provenance"].iloc[0],
            "rows": len(texts),
            "median_tokens": float(np.median(lengths)),
            "mean_tokens": float(lengths.mean()),
            "p90_tokens": float(np.percentile(lengths, 90)),
        }
        row.update(lexical_diversity(texts, budget))
        row.update(style_markers(texts))
        row.update(duplicate_rates(group))
        if embedder is not None:
            sample = [truncate_words(t, embed_words) for t in texts[:n_embed]]
            row["mean_pairwise_cosine"] = mean_pairwise_cosine(embedder.embed_documents(sample))
        out.append(row)
    return pd.DataFrame(out).set_index("source")


def group_separation(profile: pd.DataFrame, metric: str) -> dict[str, Any]:
    """Whether ``metric`` separates human from synthetic sources: the ranges of the two groups and whether they
    overlap (``separated`` is true when every synthetic value is above, or every one below, every human value)."""
    human = profile.loc[profile["provenance"] == "human", metric]
    synthetic = profile.loc[profile["provenance"] == "synthetic", metric]
    if human.empty or synthetic.empty:
        raise ValueError("need at least one human and one synthetic source")
    above = synthetic.min() > human.max()
    below = synthetic.max() < human.min()
    return {
        "metric": metric,
        "human_min": float(human.min()),
        "human_max": float(human.max()),
        "synthetic_min": float(synthetic.min()),
        "synthetic_max": float(synthetic.max()),
        "separated": bool(above or below),
        "synthetic_is": "higher" if above else "lower" if below else "mixed",
    }


def bootstrap_difference(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], float] = np.mean,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """``statistic(b) - statistic(a)`` and its percentile bootstrap interval (resampling each group)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(x) or not len(y):
        raise ValueError("both groups need values")
    rng = np.random.default_rng(seed)
    diffs = np.array([statistic(rng.choice(y, len(y))) - statistic(rng.choice(x, len(x))) for _ in range(n_boot)])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(statistic(y) - statistic(x)), float(low), float(high)


def compare_pair(
    frame: pd.DataFrame,
    human: str,
    synthetic: str,
    count_tokens: Callable[[str], int] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-response differences between two sources (synthetic minus human) with 95 % bootstrap intervals: median
    length and the share of each style marker. ``clear`` is true when the interval excludes 0."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    count = count_tokens or (lambda t: len(tokenize(t)))
    texts = {s: frame.loc[frame["source"] == s, "output"].tolist() for s in (human, synthetic)}
    rows = []
    lengths = {s: [count(t) for t in texts[s]] for s in texts}
    measures: list[
        tuple[str, Sequence[float] | np.ndarray, Sequence[float] | np.ndarray, Callable[[np.ndarray], float]]
    ] = [("median_tokens", lengths[human], lengths[synthetic], np.median)]
    for marker in STYLE_MARKERS:
        measures.append(
            (
                f"share_{marker}",
                marker_flags(texts[human], marker).astype(float),
                marker_flags(texts[synthetic], marker).astype(float),
                np.mean,
            )
        )
    for name, a, b, stat in measures:
        diff, lo, hi = bootstrap_difference(a, b, stat, n_boot, seed)
        rows.append(
            {
                "measure": name,
                human: float(stat(np.asarray(a))),
                synthetic: float(stat(np.asarray(b))),
                "difference": diff,
                "ci_low": lo,
                "ci_high": hi,
                "clear": bool(lo > 0 or hi < 0),
            }
        )
    return pd.DataFrame(rows).set_index("measure")


def provenance_report(frame: pd.DataFrame, untagged: Sequence[str] = ()) -> CheckResult:
    """The registered ``provenance`` check on ``frame``'s rows, with the rows of the ``untagged`` sources stripped of
    their tag (as data arrives when nobody recorded where it came from)."""
    rows = [
        {
            "instruction": r["instruction"],
            "input": r["input"],
            "output": r["output"],
            **({} if r["source"] in untagged else {"provenance": r["provenance"]}),
        }
        for r in frame.to_dict(orient="records")
    ]
    return get_check("provenance")().run(records_from_rows(rows), CheckContext())


_COLORS = {"human": "#3b7dd8", "synthetic": "#d8663b"}


def plot_lengths(frame: pd.DataFrame, count_tokens: Callable[[str], int] | None = None) -> Figure:
    """Box plots of response length per source (log scale), coloured by provenance.

    Used on the *Human vs synthetic provenance* page (``notebooks/exp_07_provenance.ipynb``).
    """
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    count = count_tokens or (lambda t: len(tokenize(t)))
    names = list(dict.fromkeys(frame["source"]))
    data = [[max(1, count(t)) for t in frame.loc[frame["source"] == s, "output"]] for s in names]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    import matplotlib  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    horizontal = (
        {"orientation": "horizontal"}
        if tuple(map(int, matplotlib.__version__.split(".")[:2])) >= (3, 10)
        else {"vert": False}
    )
    box = ax.boxplot(data, patch_artist=True, showfliers=False, **horizontal)
    ax.set_yticks(range(1, len(names) + 1), names)
    for patch, s in zip(box["boxes"], names):
        patch.set_facecolor(_COLORS[SOURCES[s].provenance if s in SOURCES else "human"])
    ax.set_xscale("log")
    ax.set_xlabel("response length, tokens (log scale; box = quartiles, whiskers = 1.5 IQR)")
    ax.set_title("Response length by source (blue: human-written, orange: model-generated)")
    fig.tight_layout()
    return fig


def plot_profile(profile: pd.DataFrame, metrics: Sequence[str]) -> Figure:
    """One bar panel per metric, a bar per source coloured by provenance.

    Used on the *Human vs synthetic provenance* page (``notebooks/exp_07_provenance.ipynb``).
    """
    import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

    cols = min(2, len(metrics))  # two panels across: legible when the page scales the figure to ~800 px
    rows = -(-len(metrics) // cols)
    size = (4.5 * cols, 0.3 * len(profile) * rows + 1.4 * rows)
    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False, layout="constrained")  # room for the suptitle
    colors = [_COLORS.get(p, "#999999") for p in profile["provenance"]]
    for ax, metric in zip(axes.flat, metrics):
        ax.barh(profile.index[::-1], profile[metric].to_numpy()[::-1], color=colors[::-1])
        ax.set_title(metric, fontsize=10)
        ax.tick_params(labelsize=9)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    fig.suptitle("Blue: human-written, orange: model-generated")
    return fig


def split_folds(frame: pd.DataFrame, k: int = 5) -> list[pd.DataFrame]:
    """``k`` disjoint folds of ``frame`` with equally many rows of each source: row ``i`` of a source goes to fold
    ``i % k``; a source's last ``len % k`` rows are dropped. The sample is already seed-shuffled
    (:func:`load_source`), so the folds are independent draws and an effect's spread across them is honest."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    parts: list[list[pd.DataFrame]] = [[] for _ in range(k)]
    for _, group in frame.groupby("source", sort=False):
        size = len(group) // k
        if size == 0:
            raise ValueError(f"source {group['source'].iloc[0]!r} has fewer than {k} rows")
        for fold in range(k):
            parts[fold].append(group.iloc[fold::k].iloc[:size])
    return [pd.concat(p, ignore_index=True) for p in parts]


def fold_differences(
    folds: Sequence[pd.DataFrame], human: str, synthetic: str, count_tokens: Callable[[str], int] | None = None
) -> pd.DataFrame:
    """Per fold, synthetic minus human: median response length and each style marker's share (the measures of
    :data:`MARGINS`); one row per measure, one column per fold."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    count = count_tokens or (lambda t: len(tokenize(t)))
    columns = {}
    for i, fold in enumerate(folds):
        texts = {s: fold.loc[fold["source"] == s, "output"].tolist() for s in (human, synthetic)}
        if not texts[human] or not texts[synthetic]:
            raise ValueError(f"fold {i} lacks {human!r} or {synthetic!r}")
        diff = {"median_tokens": float(np.median([count(t) for t in texts[synthetic]]))}
        diff["median_tokens"] -= float(np.median([count(t) for t in texts[human]]))
        for m in STYLE_MARKERS:
            diff[f"share_{m}"] = float(marker_flags(texts[synthetic], m).mean() - marker_flags(texts[human], m).mean())
        columns[f"fold_{i}"] = diff
    return pd.DataFrame(columns)


def consistent_difference(intervals: Sequence[Interval], margin: float) -> Verdict:
    """The verdict on a claim that a measure differs beyond ``margin`` against every human source *in the same
    direction* (a provenance effect, not a source effect): held when :func:`differs` held in each and the signs
    agree; did not hold when one did not hold or the held ones point both ways; else inconclusive."""
    verdicts = [differs(i, margin) for i in intervals]
    signs = {i.estimate > 0 for i, v in zip(intervals, verdicts) if v is Verdict.HELD}
    if len(signs) > 1:
        return Verdict.DID_NOT_HOLD
    return combine(verdicts)


def judge_differences(per_pair: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """From :func:`fold_differences` per (human, synthetic) pair: per measure and pair the mean difference with its
    95 % interval across folds and its :func:`differs` verdict, and per measure the :func:`consistent_difference`
    verdict over the pairs (column ``provenance effect``)."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    rows = []
    for measure, margin in MARGINS.items():
        intervals = [mean_interval(t.loc[measure].to_numpy()) for t in per_pair.values()]
        row: dict[str, Any] = {"measure": measure, "margin": margin}
        for (human, synthetic), interval in zip(per_pair, intervals):
            row[f"{synthetic} - {human}"] = str(interval)
            row[f"vs {human}"] = differs(interval, margin).value
        row["provenance effect"] = consistent_difference(intervals, margin).value
        rows.append(row)
    return pd.DataFrame(rows).set_index("measure")


def separation_gap(profile: pd.DataFrame, metric: str) -> float:
    """The gap between the human and synthetic ranges of ``metric`` in a :func:`profile_sources` table: positive
    (by how much) when one group lies wholly above the other, negative (the overlap) when they overlap."""
    g = group_separation(profile, metric)
    return max(g["synthetic_min"] - g["human_max"], g["human_min"] - g["synthetic_max"])


def check_errors(frame: pd.DataFrame, untagged: Sequence[str]) -> dict[str, float]:
    """How far the ``provenance`` check is off on ``frame``: ``tagged_share_error``, its synthetic share minus the
    true one with every row tagged; ``untagged_share_error``, the share of rows it flags as untagged minus the
    share of rows of the ``untagged`` sources after their tags are stripped (:func:`provenance_report`)."""
    truth = float((frame["provenance"] == "synthetic").mean())
    stripped = float(frame["source"].isin(list(untagged)).mean())
    tagged = provenance_report(frame).summary
    bare = provenance_report(frame, untagged=untagged).summary
    return {
        "tagged_share_error": float(tagged["synthetic_share"]) - truth,
        "untagged_share_error": bare["untagged"] / bare["rows"] - stripped,
    }
