"""Relevance and coverage in embedding space: off-topic rows, and production queries no training example is near.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
relevance" and "Coverage".

Both checks embed text with the packaged all-MiniLM-L6-v2 (:class:`~playbook_lib.embeddings.model.MiniLMEmbedder`, or the
model named by ``PLAYBOOK_EMBEDDING_MODEL``); the vectors are L2-normalised, so an inner product is a cosine
similarity. The model is loaded on first use, once per process, and every text is embedded once per process
(an in-memory :class:`~playbook_lib.embeddings.cache.EmbeddingCache` keyed by content hash); the ``cache`` option of
either check also keeps the vectors in an ``.npz`` file between runs.

- :class:`RelevanceCheck` (``relevance``) scores each training row by its similarity to a task description, to
  reference examples, or (given neither) to its nearest other rows, and flags off-topic outliers by a robust
  z-score (median/MAD) and/or an absolute similarity floor.
- :class:`EmbeddingCoverageCheck` (``embedding_coverage``) finds, for each production query (``--traffic``), the
  most similar training example with an exact inner-product index, and reports the traffic that no training example
  comes near, grouped by category or into clusters of similar queries.

Embedding runs at tens to a few hundred texts a second on one CPU core (longer texts are slower): hours for a million
rows. So both checks take a ``sample`` option (the checklist sets 2000): when there are more rows than that, a seeded
random sample of them (:func:`~playbook_lib.checks.statistics.sample_positions`, the same sample for the same input and ``seed``) is scored, the
metric is the share in the sample, and the summary says ``sampled: "n of N"`` and gives a 95 % Wilson interval for
the share (:func:`~playbook_lib.checks.statistics.wilson_interval`). ``sample: null`` scores every row.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.checks.base import Check, CheckContext, CheckResult
from playbook_lib.checks.neighbours import nearest, neighbour_clusters
from playbook_lib.checks.registry import register
from playbook_lib.checks.statistics import robust_spread, sample_positions, wilson_interval
from playbook_lib.data import load_records, record_text
from playbook_lib.embeddings.cache import EmbeddingCache, embed_cached, embedder_key
from playbook_lib.embeddings.model import MiniLMEmbedder
from playbook_lib.errors import EmptyDataError
from playbook_lib.io.digest import content_hash
from playbook_lib.text.normal import snippet

#: Texts are cut to this many characters before embedding: MiniLM reads at most 256 word pieces anyway, and
#: tokenising megabyte-long rows only to truncate them wastes time.
MAX_CHARS = 4000
#: Floor on the robust spread of similarities (cosine units) when flagging by z-score: on near-identical template
#: data the MAD is tiny and every small difference would look like an outlier.
MIN_SPREAD = 0.05
#: The in-process cache is emptied when it would grow past this many vectors (about 150 MB of float32).
MEMO_LIMIT = 100_000
QUERY_FIELDS = ("instruction", "input")
RECORD_FIELDS = ("instruction", "input", "output")
#: Record fields that hold text and may be embedded.
TEXT_FIELDS = ("instruction", "input", "output", "chosen", "rejected")

_MEMO: dict[str, EmbeddingCache] = {}


@functools.lru_cache(maxsize=1)
def default_embedder() -> MiniLMEmbedder:
    """The process-wide embedder of the embedding checks (loaded lazily on first use, never downloaded)."""
    return MiniLMEmbedder()


def embed_texts(texts: Sequence[str], cache: str | Path | None = None) -> np.ndarray:
    """Embed ``texts`` with :func:`default_embedder`, each distinct text once per process.

    ``cache`` names an ``.npz`` file (:class:`~playbook_lib.embeddings.cache.EmbeddingCache`): vectors found there are
    reused and new ones are added to it (written atomically). Returns a ``(len(texts), dim)`` float32 array.
    """
    embedder = default_embedder()
    key = embedder_key(embedder)
    memo = _MEMO.setdefault(key, EmbeddingCache(key))
    if len(memo) + len(texts) > MEMO_LIMIT and any(content_hash(t[:MAX_CHARS]) not in memo for t in texts):
        memo = _MEMO[key] = EmbeddingCache(key)
    return embed_cached(texts, embedder, file=cache, memo=memo, key=key, max_chars=MAX_CHARS)


def _sampled(summary: dict[str, Any], metric: str, k: int, n: int, label: str) -> str:
    """Add ``sampled`` and ``<metric>_ci95`` to ``summary``; return the words for the message."""
    lo, hi = wilson_interval(k, n)
    summary[f"{metric}_ci95"] = [round(lo, 4), round(hi, 4)]
    return f"estimated on a random sample ({label}; 95 % interval {lo:.3g}-{hi:.3g})"


def _texts(records: pd.DataFrame, fields: Sequence[str]) -> list[str]:
    return record_text(records, tuple(fields))


class _EmbeddingCheck(Check):
    """What the embedding checks share: the text ``fields`` embedded, the optional ``.npz`` ``cache``, and the
    seeded ``sample`` of rows."""

    def _embedding_options(
        self, fields: list[str] | None, default_fields: Sequence[str], cache: str | None, sample: int | None, seed: int
    ) -> None:
        self.require(sample is None or sample >= 1, f"sample must be at least 1 or null, got {sample}")
        self.require(
            fields is None or (len(fields) > 0 and set(fields) <= set(TEXT_FIELDS)),
            f"fields must be some of {', '.join(TEXT_FIELDS)}, got {fields}",
        )
        self.fields = list(fields or default_fields)
        self.cache = cache
        self.sample = sample
        self.seed = seed


@register
class RelevanceCheck(_EmbeddingCheck):
    """Off-topic rows: each row's text (``fields``, default instruction, input and output) is embedded and compared
    with the task.

    The task is a ``task`` description (a sentence or two saying what the data is for), ``references`` (a data file
    of examples known to be on the task; a row's similarity is the mean of its ``k`` most similar references), or
    both (the mean of the two similarities). Given neither, a row is compared with its ``k`` nearest other rows,
    which finds rows unlike any other but not a whole cluster of off-topic rows: give a task or references for that.
    A row is flagged when its similarity is below ``median - z_threshold * 1.4826 * MAD`` (a robust z-score over
    all rows; the spread is at least :data:`MIN_SPREAD`) or below ``min_similarity`` (either may be ``None`` to
    disable it). The metric ``off_topic_rate`` is the share of flagged rows; a row's score is ``1 - similarity``.
    A short description is a weaker signal than reference examples (similarities to it spread wider): lower
    ``z_threshold`` (2.5) or set ``min_similarity`` when using a description alone. Rows without text in ``fields``
    are left to the formatting check. ``references`` is a path relative to the working directory.

    With more than ``sample`` rows (``None``: no limit) a seeded random sample of ``sample`` rows
    (:func:`sample_positions` with ``seed``) is scored instead: the cut-off, the metric (the flagged share of the
    sample) and the examples come from the sample, the summary adds ``sampled`` (``"n of N"``) and
    ``off_topic_rate_ci95`` (a 95 % Wilson interval of the share), and rows outside the sample get flag false and
    score 0 (the result's arrays cover every row). Without a task or references the sampled rows are compared with
    their nearest other *sampled* rows.
    """

    name = "relevance"
    metric = "off_topic_rate"

    def __init__(
        self,
        task: str | None = None,
        references: str | None = None,
        fields: list[str] | None = None,
        k: int = 5,
        z_threshold: float | None = 3.0,
        min_similarity: float | None = None,
        cache: str | None = None,
        sample: int | None = None,
        seed: int = 0,
        warn: float | None = 0.01,
        fail: float | None = 0.05,
    ) -> None:
        super().__init__(warn, fail)
        self._embedding_options(fields, RECORD_FIELDS, cache, sample, seed)
        self.require(task is None or bool(task.strip()), "task must be a non-empty description")
        self.require(k >= 1, f"k must be at least 1, got {k}")
        self.require(z_threshold is None or z_threshold > 0, f"z_threshold must be > 0, got {z_threshold}")
        self.require(
            min_similarity is None or -1 <= min_similarity <= 1,
            f"min_similarity must be in [-1, 1], got {min_similarity}",
        )
        self.task = task
        self.references = references
        self.k = k
        self.z_threshold = z_threshold
        self.min_similarity = min_similarity

    @property
    def reference(self) -> str:
        """What the rows are compared with, in words."""
        parts = (["task description"] if self.task else []) + (
            [f"references {self.references}"] if self.references else []
        )
        return " + ".join(parts) or f"{self.k} nearest other rows"

    def similarities(self, records: pd.DataFrame) -> np.ndarray:
        """Each row's cosine similarity to the task (NaN for rows without text in ``fields``)."""
        texts = _texts(records, self.fields)
        has_text = np.array([bool(t.strip()) for t in texts], dtype=bool)
        sims = np.full(len(texts), np.nan)
        if not has_text.any():
            return sims
        vectors = embed_texts([t for t, keep in zip(texts, has_text) if keep], self.cache)
        parts = []
        if self.task:
            parts.append(vectors @ embed_texts([self.task], self.cache)[0])
        if self.references:
            ref_texts = [t for t in _texts(load_records(self.references), self.fields) if t.strip()]
            if not ref_texts:
                raise EmptyDataError(f"{self.references}: no reference example has text in {', '.join(self.fields)}")
            top, _ = nearest(embed_texts(ref_texts, self.cache), vectors, min(self.k, len(ref_texts)))
            parts.append(top.mean(axis=1))
        if not parts:  # no task given: how close each row is to its k nearest other rows
            if len(vectors) < 2:
                return sims
            top, _ = nearest(vectors, vectors, min(self.k + 1, len(vectors)))
            parts.append(top[:, 1:].mean(axis=1))
        sims[has_text] = np.mean(parts, axis=0)
        return sims

    def cutoff(self, sims: np.ndarray) -> float | None:
        """The similarity below which a row is flagged: the higher of ``median - z_threshold * spread`` (spread:
        ``1.4826 * MAD``, at least :data:`MIN_SPREAD`) and ``min_similarity``; ``None`` when neither applies."""
        cuts = [] if self.min_similarity is None else [self.min_similarity]
        median, spread = robust_spread(sims)
        if self.z_threshold is not None and not np.isnan(median):
            cuts.append(median - self.z_threshold * max(spread, MIN_SPREAD))
        return max(cuts) if cuts else None

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        picked = sample_positions(n, self.sample, self.seed)
        part = records if picked is None else records.iloc[picked]
        m = len(part)
        sims = self.similarities(part)
        has_text = ~np.isnan(sims)
        if not has_text.any():
            return self.not_evaluated(n, f"no row has text in {', '.join(self.fields)}")
        cutoff = self.cutoff(sims)
        flags = has_text & (np.nan_to_num(sims, nan=1.0) < cutoff) if cutoff is not None else np.zeros(m, bool)
        median, spread = robust_spread(sims)
        z = (sims - median) / max(spread, MIN_SPREAD)
        scores = np.where(has_text, 1.0 - np.nan_to_num(sims, nan=1.0), 0.0)
        kept = sims[has_text]
        flagged = int(flags.sum())
        summary: dict[str, Any] = {
            "rows": n,
            "rows_without_text": int(m - has_text.sum()),
            "off_topic": flagged,
            "off_topic_rate": flagged / m if m else 0.0,
            "reference": self.reference,
            "similarity": {
                "min": round(float(kept.min()), 4),
                "median": round(float(np.median(kept)), 4),
                "max": round(float(kept.max()), 4),
            },
            "cutoff": None if cutoff is None else round(cutoff, 4),
        }
        order = np.argsort(np.where(flags, sims, np.inf), kind="stable")[:flagged]
        lines = part["line"].to_numpy()
        examples = [
            {
                "line": int(lines[i]),
                "similarity": round(float(sims[i]), 4),
                "reason": f"similarity {sims[i]:.2f} < cut-off {cutoff:.2f} (robust z {z[i]:.1f})",
                "instruction": snippet(part["instruction"].iloc[i]),
                "output": snippet(part["output"].iloc[i]),
            }
            for i in order[: self.max_examples]
        ]
        detail = f"{flagged} off-topic rows (similarity to the {self.reference})"
        if picked is not None:
            summary["sampled"] = f"{m} of {n}"
            detail += "; " + _sampled(summary, self.metric, flagged, m, f"{m} of {n} rows")
            full_flags, full_scores = np.zeros(n, bool), np.zeros(n)
            full_flags[picked], full_scores[picked] = flags, scores
            flags, scores = full_flags, full_scores
        return self.result(flags, scores, summary, examples, detail)


@register
class EmbeddingCoverageCheck(_EmbeddingCheck):
    """Production queries that no training example comes near: each traffic row (``fields``, default instruction
    and input, of both files) is embedded, its most similar training row is found by exact inner-product search,
    and it is *uncovered* when that similarity is below ``threshold``.

    The metric ``uncovered_share`` is the uncovered share of the traffic. Uncovered queries are grouped by the
    traffic's ``by`` field (default ``category``) when it has values, otherwise into clusters of queries at least
    ``cluster_threshold`` similar to each other; the examples show each group's least covered query beside its
    nearest training example. Per-row flags are all false: the finding is about traffic, not training rows.
    Not evaluated without ``--traffic``.

    With more than ``sample`` training rows or traffic queries (``None``: no limit), seeded random samples of
    ``sample`` of each (:func:`sample_positions` with ``seed``) are compared instead; the summary adds ``sampled``
    and ``uncovered_share_ci95`` (a 95 % Wilson interval over the sampled queries). A sample of the training rows
    can only lower a query's nearest similarity, so the estimate then leans towards *more* uncovered traffic (the
    interval does not include that bias): raise ``sample`` when the share sits near a threshold.
    """

    name = "embedding_coverage"
    metric = "uncovered_share"

    def __init__(
        self,
        threshold: float = 0.5,
        fields: list[str] | None = None,
        by: str | None = "category",
        cluster_threshold: float = 0.5,
        cache: str | None = None,
        sample: int | None = None,
        seed: int = 0,
        warn: float | None = 0.05,
        fail: float | None = 0.2,
    ) -> None:
        super().__init__(warn, fail)
        self._embedding_options(fields, QUERY_FIELDS, cache, sample, seed)
        self.require(-1 <= threshold <= 1, f"threshold must be in [-1, 1], got {threshold}")
        self.require(-1 <= cluster_threshold <= 1, f"cluster_threshold must be in [-1, 1], got {cluster_threshold}")
        self.threshold = threshold
        self.by = by
        self.cluster_threshold = cluster_threshold

    def max_similarity(self, records: pd.DataFrame, traffic: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """For each traffic row: the similarity of its nearest training row and that row's position in
        ``records`` (NaN and -1 for traffic rows without text, or when no training row has text)."""
        train_texts = _texts(records, self.fields)
        query_texts = _texts(traffic, self.fields)
        train_pos = np.array([i for i, t in enumerate(train_texts) if t.strip()], dtype=np.int64)
        query_pos = np.array([i for i, t in enumerate(query_texts) if t.strip()], dtype=np.int64)
        sims = np.full(len(query_texts), np.nan)
        where = np.full(len(query_texts), -1, dtype=np.int64)
        if train_pos.size and query_pos.size:
            corpus = embed_texts([train_texts[i] for i in train_pos], self.cache)
            queries = embed_texts([query_texts[i] for i in query_pos], self.cache)
            top, positions = nearest(corpus, queries, 1)
            sims[query_pos] = top[:, 0]
            where[query_pos] = train_pos[positions[:, 0]]
        return sims, where

    def _groups(self, traffic: pd.DataFrame, uncovered: np.ndarray) -> tuple[str, list[dict[str, Any]]]:
        """Uncovered traffic positions grouped by the ``by`` field, or by neighbour clusters."""
        labels = traffic[self.by].tolist() if self.by and self.by in traffic.columns else []
        if any(v is not None and str(v).strip() for v in labels):
            totals: dict[str, int] = {}
            members: dict[str, list[int]] = {}
            for i, value in enumerate(labels):
                label = str(value) if value is not None and str(value).strip() else "(none)"
                totals[label] = totals.get(label, 0) + 1
                if uncovered[i]:
                    members.setdefault(label, []).append(i)
            groups = [
                {
                    "group": label,
                    "members": idx,
                    "traffic": totals[label],
                    "uncovered_share": round(len(idx) / totals[label], 4),
                }
                for label, idx in members.items()
            ]
            return str(self.by), sorted(groups, key=lambda g: (-len(g["members"]), g["group"]))
        positions = np.flatnonzero(uncovered)
        if positions.size == 0:
            return "neighbours", []
        vectors = embed_texts(_texts(traffic.iloc[positions], self.fields), self.cache)
        clusters = neighbour_clusters(vectors, self.cluster_threshold)
        return "neighbours", [
            {"group": f"cluster {n + 1}", "members": [int(positions[i]) for i in c]} for n, c in enumerate(clusters)
        ]

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        if context.traffic is None:
            return self.not_evaluated(n, "no production traffic sample given (--traffic)")
        train_picked = sample_positions(n, self.sample, self.seed)
        query_picked = sample_positions(len(context.traffic), self.sample, self.seed)
        sampled = [
            f"{len(p)} of {total} {what}"
            for p, total, what in ((train_picked, n, "training rows"), (query_picked, len(context.traffic), "queries"))
            if p is not None
        ]
        train = records if train_picked is None else records.iloc[train_picked]
        traffic = context.traffic if query_picked is None else context.traffic.iloc[query_picked]
        sims, where = self.max_similarity(train, traffic)
        has_text = ~np.isnan(sims)
        if not has_text.any():
            return self.not_evaluated(n, f"no training and traffic rows with text in {', '.join(self.fields)}")
        uncovered = has_text & (np.nan_to_num(sims, nan=1.0) < self.threshold)
        count = int(uncovered.sum())
        grouped_by, groups = self._groups(traffic, uncovered)
        traffic_lines = traffic["line"].to_numpy()
        train_lines = train["line"].to_numpy()
        kept = sims[has_text]
        summary: dict[str, Any] = {
            "rows": n,
            "traffic_rows": len(context.traffic),
            "traffic_without_text": int(len(traffic) - has_text.sum()),
            "threshold": self.threshold,
            "uncovered": count,
            "uncovered_share": count / int(has_text.sum()),
            "max_similarity": {
                q: round(float(np.percentile(kept, p)), 4)
                for q, p in (("p05", 5), ("p25", 25), ("median", 50), ("p75", 75))
            },
            "grouped_by": grouped_by,
            "groups": [
                {
                    **{k: v for k, v in g.items() if k != "members"},
                    "uncovered": len(g["members"]),
                    "lines": [int(traffic_lines[i]) for i in g["members"][:10]],
                }
                for g in groups[:20]
            ],
        }
        examples = []
        for g in groups[: self.max_examples]:
            i = min(g["members"], key=lambda m: (sims[m], m))
            j = int(where[i])
            examples.append(
                {
                    "group": g["group"],
                    "size": len(g["members"]),
                    "line": int(traffic_lines[i]),
                    "reason": f"nearest training example {sims[i]:.2f} < {self.threshold:g}",
                    "query": snippet(_texts(traffic.iloc[[i]], self.fields)[0]),
                    "nearest_training_line": int(train_lines[j]),
                    "nearest_training": snippet(_texts(train.iloc[[j]], self.fields)[0]),
                }
            )
        detail = f"{count} of {int(has_text.sum())} traffic queries have no training example within {self.threshold:g}"
        if groups:
            detail += f" ({len(groups)} groups by {grouped_by})"
        if sampled:
            summary["sampled"] = ", ".join(sampled)
            detail += "; " + _sampled(summary, self.metric, count, int(has_text.sum()), summary["sampled"])
        return self.result(np.zeros(n, bool), np.zeros(n), summary, examples, detail)
