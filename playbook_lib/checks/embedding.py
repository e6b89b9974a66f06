"""Relevance and coverage in embedding space: off-topic rows, and production queries no training example is near.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
relevance" and "Coverage".

Both checks embed text with the model their ``model`` option names (:data:`MODELS`): ``minilm``, the default, the
packaged all-MiniLM-L6-v2 (:class:`~playbook_lib.embeddings.model.MiniLMEmbedder`, or the model named by
``PLAYBOOK_EMBEDDING_MODEL``), or ``static``, the token-lookup model distilled from it on this machine
(:class:`~playbook_lib.embeddings.static.StaticEmbedder`: 150-200x MiniLM's texts/s, but measured weaker: on
``bench/embedders.py``'s cases it found 8 % of the LIMA rows planted in GSM8K where MiniLM found 80 %, and its
coverage precision/recall was 0.90/0.90 against MiniLM's 1.00/0.99; so MiniLM stays the default and ``static`` is for
a first pass over data too large to embed with MiniLM, with ``sample: null`` to score every row). The vectors are
L2-normalised, so an inner product is a cosine similarity. Nearest rows are found with FAISS, exactly up to
:data:`~playbook_lib.checks.neighbours.EXACT_PAIRS` query-row pairs and by inverted lists beyond, the summary's
``search`` saying which and, when approximate, its measured recall. The model is loaded on first use, once per
process, and every text is embedded once per process
(an in-memory :class:`~playbook_lib.embeddings.cache.EmbeddingCache` keyed by content hash); the ``cache`` option of
either check also keeps the vectors in an ``.npz`` file between runs.

- :class:`RelevanceCheck` (``relevance``) scores each training row by its similarity to a task description, to
  reference examples, or (given neither) to its nearest other rows, and flags off-topic outliers by a robust
  z-score (median/MAD) and/or an absolute similarity floor.
- :class:`EmbeddingCoverageCheck` (``embedding_coverage``) finds, for each production query (``--traffic``), the
  most similar training example with an exact inner-product index, and reports the traffic that no training example
  comes near, grouped by category or into clusters of similar queries.

Embedding runs at tens to a few hundred texts a second on one CPU core (longer texts are slower): an hour or more
per 300,000 rows. So both checks take a ``sample`` option (the checklist sets 2000): when there are more rows (or
traffic queries) than that, a seeded random sample of them (:func:`~playbook_lib.checks.statistics.sample_positions`,
the same sample for the same input and ``seed``) is scored, the metric is the share in the sample, and the summary
says ``sampled: "n of N"`` and gives a 95 % Wilson interval for the share
(:func:`~playbook_lib.checks.statistics.wilson_interval`). Only the units whose share is estimated are sampled: the
rows (or queries) they are compared with are all kept, so the estimate is unbiased and the interval holds the full
run's share about 95 % of the time; ``corpus_sample`` / ``train_sample`` cap that side too, at the price of an
estimate that leans high (said in the summary). ``sample: null`` scores every row.

In batches (:mod:`playbook_lib.checks.batch`): how many rows are sampled depends on the row count, known only at the
end, so the per-batch step stores one flag per row (whether it has text in ``fields``) and the global step draws the
same sample as the whole run, reads back only the sampled rows (``RowSource.take``) and scores them as the whole run
does. Where every row's vector is needed (``sample: null``; the rows a sampled row is compared with; the training
side of the coverage check), the rows are read back :data:`~playbook_lib.checks.batch.READ_ROWS` at a time
(``RowSource.scan``) and embedded one read at a time, so the texts in memory stay bounded, but the vectors of every
row with text are kept in memory as float32 (``dim`` x 4 bytes a row: 1.5 KB with MiniLM, 1 KB with the static
model; about 460 MB per 300,000 rows with MiniLM). Up to :data:`~playbook_lib.checks.batch.READ_ROWS` rows this
embeds exactly the texts the whole run embeds, in one call; beyond it, MiniLM's vectors can differ from one call
over every text in the last float bits (its batches and dynamic quantization depend on the texts embedded together),
while the static model's are the same.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import CheckContext, CheckResult
from playbook_lib.checks.batch import READ_ROWS, BatchCheck, FeatureStore, FrameRows, RowSource, row_numbers
from playbook_lib.checks.neighbours import Search, neighbour_clusters, search
from playbook_lib.checks.registry import register
from playbook_lib.checks.statistics import robust_spread, sample_positions, wilson_interval
from playbook_lib.data import load_records, record_text
from playbook_lib.embeddings.cache import EmbeddingCache, embed_cached, embedder_key
from playbook_lib.embeddings.model import Embedder, MiniLMEmbedder
from playbook_lib.embeddings.static import StaticEmbedder
from playbook_lib.errors import EmptyDataError
from playbook_lib.io.digest import content_hash
from playbook_lib.text.normal import snippet

#: Texts are cut to this many characters before embedding: MiniLM reads at most 256 word pieces anyway, and
#: tokenising megabyte-long rows only to truncate them wastes time.
MAX_CHARS = 4000
#: Floor on the robust spread of similarities (cosine units) when flagging by z-score: on near-identical template
#: data the MAD is tiny and every small difference would look like an outlier.
MIN_SPREAD = 0.05
#: Default absolute floor (cosine) of :class:`RelevanceCheck`: off-topic rows planted in real datasets sit at
#: 0.08-0.33 to their nearest rows, the least typical clean rows of LIMA, GSM8K and GPTeacher at 0.15-0.45, and a
#: flag also needs a robust z-score below the threshold (README, "False alarms measured").
MIN_SIMILARITY = 0.3
#: Random pairs of rows drawn for :class:`RelevanceCheck`'s null distribution (a median to about +-0.005).
NULL_PAIRS = 20_000
#: The in-process cache is emptied when it would grow past this many vectors (about 150 MB of float32).
MEMO_LIMIT = 100_000
QUERY_FIELDS = ("instruction", "input")
RECORD_FIELDS = ("instruction", "input", "output")
#: Record fields that hold text and may be embedded.
TEXT_FIELDS = ("instruction", "input", "output", "chosen", "rejected")
_ROWS_SCHEMA = pa.schema([("row", pa.int64()), ("has_text", pa.bool_())])

#: The embedders a check's ``model`` option names: ``minilm``, the packaged all-MiniLM-L6-v2 (or
#: ``PLAYBOOK_EMBEDDING_MODEL``), and ``static``, the token-lookup model distilled from it
#: (:mod:`playbook_lib.embeddings.static`).
MODELS = ("minilm", "static")
#: The embedder used when an item names none: MiniLM, because the static model lost more than 0.02 of precision or
#: recall on the measured cases (``bench/embedders.py``; README, "Two embedders").
DEFAULT_MODEL = "minilm"
#: Per model, the default similarity below which a production query counts as uncovered
#: (:class:`EmbeddingCoverageCheck`'s ``threshold``) and at which uncovered queries join one cluster. Each model has
#: its own scale (random pairs of GSM8K questions: median 0.35 with MiniLM, 0.44 with the static model); the static
#: model's 0.72 is the best-F1 threshold on the calibration half of ``bench/embedders.py``'s coverage queries.
COVERAGE_THRESHOLDS = {"minilm": 0.5, "static": 0.72}
CLUSTER_THRESHOLDS = {"minilm": 0.5, "static": 0.72}

_MEMO: dict[str, EmbeddingCache] = {}


@functools.lru_cache(maxsize=len(MODELS))
def default_embedder(model: str = DEFAULT_MODEL) -> Embedder:
    """The process-wide embedder named ``model`` (one of :data:`MODELS`; loaded lazily on first use, never
    downloaded)."""
    if model == "static":
        return StaticEmbedder()
    return MiniLMEmbedder()


def embed_texts(texts: Sequence[str], cache: str | Path | None = None, model: str = DEFAULT_MODEL) -> np.ndarray:
    """Embed ``texts`` with :func:`default_embedder` ``(model)``, each distinct text once per process.

    ``cache`` names an ``.npz`` file (:class:`~playbook_lib.embeddings.cache.EmbeddingCache`): vectors found there are
    reused and new ones are added to it (written atomically). Returns a ``(len(texts), dim)`` float32 array.
    """
    embedder = default_embedder(model)
    key = embedder_key(embedder)
    memo = _MEMO.setdefault(key, EmbeddingCache(key))
    if len(memo) + len(texts) > MEMO_LIMIT and any(content_hash(t[:MAX_CHARS]) not in memo for t in texts):
        memo = _MEMO[key] = EmbeddingCache(key)
    return embed_cached(texts, embedder, file=cache, memo=memo, key=key, max_chars=MAX_CHARS)


def _sampled(summary: dict[str, Any], metric: str, k: int, n: int, label: str, upper_only: bool = False) -> str:
    """Add ``<metric>_ci95`` (a 95 % Wilson interval; ``[0, upper]`` when ``upper_only``) to ``summary``; return the
    words for the message."""
    lo, hi = wilson_interval(k, n)
    if upper_only:
        summary[f"{metric}_ci95"] = [0.0, round(hi, 4)]
        return f"estimated on a random sample ({label}; at most {hi:.3g}, 95 % upper bound)"
    summary[f"{metric}_ci95"] = [round(lo, 4), round(hi, 4)]
    return f"estimated on a random sample ({label}; 95 % interval {lo:.3g}-{hi:.3g})"


def _texts(records: pd.DataFrame, fields: Sequence[str]) -> list[str]:
    return record_text(records, tuple(fields))


def _with_text(records: pd.DataFrame, fields: Sequence[str]) -> np.ndarray:
    """Whether each row of ``records`` has text (not only whitespace) in ``fields``."""
    return np.array([bool(t.strip()) for t in _texts(records, fields)], dtype=bool)


class _EmbeddingCheck(BatchCheck):
    """What the embedding checks share: the embedding ``model``, the text ``fields`` embedded, the optional ``.npz``
    ``cache``, and the seeded ``sample`` of rows; in batches, the per-batch step (whether each row has text) and
    the reading back of the rows to embed."""

    model: str
    cache: str | None
    tables = ("rows",)

    def _embedding_options(
        self,
        model: str,
        fields: list[str] | None,
        default_fields: Sequence[str],
        cache: str | None,
        sample: int | None,
        seed: int,
    ) -> None:
        self.require(model in MODELS, f"model must be one of {', '.join(MODELS)}, got {str(model)[:60]!r}")
        self.model = model
        self.require(sample is None or sample >= 1, f"sample must be at least 1 or null, got {sample}")
        self.require(
            fields is None or (len(fields) > 0 and set(fields) <= set(TEXT_FIELDS)),
            f"fields must be some of {', '.join(TEXT_FIELDS)}, got {fields}",
        )
        self.fields = list(fields or default_fields)
        self.cache = cache
        self.sample = sample
        self.seed = seed

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``texts`` embedded with this item's ``model`` (and ``cache`` file)."""
        return embed_texts(texts, self.cache, self.model)

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """Per row: its number and whether it has text in ``fields``."""
        table = pa.table(
            {"row": row_numbers(records), "has_text": _with_text(records, self.fields)}, schema=_ROWS_SCHEMA
        )
        return {"rows": table}

    def _has_text(self, store: FeatureStore) -> np.ndarray:
        """Whether each row, by number, has text in ``fields`` (one byte a row; none when no batch was stored)."""
        if not store.has(self.table("rows")):
            return np.zeros(0, dtype=bool)
        return store.query(f'SELECT has_text FROM "{self.table("rows")}" ORDER BY row')["has_text"].astype(bool)

    def _embed_rows(self, rows: RowSource, positions: np.ndarray, every: bool) -> np.ndarray:
        """The vectors of the rows numbered ``positions`` (ascending, each with text), read back and embedded
        :data:`~playbook_lib.checks.batch.READ_ROWS` rows at a time: by a scan of every row when ``every``
        (``positions`` is then every row with text), else by taking just those rows. A ``(len(positions), dim)``
        float32 array."""
        reads = (
            (part[_with_text(part, self.fields)] for part in rows.scan(READ_ROWS))
            if every
            else (rows.take(positions[lo : lo + READ_ROWS]) for lo in range(0, len(positions), READ_ROWS))
        )
        out: np.ndarray | None = None
        done = 0
        for part in reads:
            if not len(part):
                continue
            vectors = self.embed(_texts(part, self.fields))
            if out is None:
                out = np.empty((len(positions), vectors.shape[1]), dtype=np.float32)
            if done + len(vectors) > len(positions):
                raise RuntimeError(f"{self.name}: the rows read back hold more rows with text than were stored")
            out[done : done + len(vectors)] = vectors
            done += len(vectors)
        if out is None:
            return self.embed([])
        if done != len(positions):
            raise RuntimeError(f"{self.name}: the rows read back hold fewer rows with text than were stored")
        return out


@register
class RelevanceCheck(_EmbeddingCheck):
    """Off-topic rows: each row's text (``fields``, default instruction, input and output) is embedded and compared
    with the task.

    The task is a ``task`` description (a sentence or two saying what the data is for), ``references`` (a data file
    of examples known to be on the task; a row's similarity is the mean of its ``k`` most similar references), or
    both (the mean of the two similarities). Given neither, a row is compared with its ``k`` nearest other rows,
    which finds rows unlike any other but not a whole cluster of off-topic rows: give a task or references for that.

    A row is flagged when its similarity is below *both* cut-offs (either may be ``None`` to drop it):

    - the robust outlier cut-off ``median - z_threshold * 1.4826 * MAD`` over the scored rows (the spread is at
      least :data:`MIN_SPREAD`). Alone it flags about 1 % of any clean dataset by construction (the tail of a
      skewed distribution), so it is not used alone by default;
    - the absolute floor: ``min_similarity`` (default :data:`MIN_SIMILARITY`), raised, when ``null_floor`` is true,
      to the median of a null distribution: the similarity of random unrelated pairs of the same data (a scored row
      and a random other row, or a random reference). A row whose nearest rows are no closer than two random rows
      of the data are to each other has nothing on its topic. A task description has no null; only
      ``min_similarity`` applies there.

    The metric ``off_topic_rate`` is the share of flagged rows; a row's score is ``1 - similarity``. Measured on
    clean public data with the checklist's settings (README, "False alarms measured"): no flag beyond 0.1 % of
    rows, where the z-score alone flagged up to 3 %. A short description is a weaker signal than reference examples
    (similarities to it spread wider): lower ``z_threshold`` (2.5) when using a description alone. Rows without
    text in ``fields`` are left to the formatting check. ``references`` is a path relative to the working directory.

    With more than ``sample`` rows (``None``: no limit) a seeded random sample of ``sample`` rows
    (:func:`sample_positions` with ``seed``) is scored instead: the cut-offs, the metric (the flagged share of the
    sample) and the examples come from the sample, the summary adds ``sampled`` (``"n of N"``) and
    ``off_topic_rate_ci95`` (a 95 % Wilson interval of the share), and rows outside the sample get flag false and
    score 0 (the result's arrays cover every row). Without a task or references each sampled row is still compared
    with its nearest rows among *all* rows, so a row's similarity is what the full run gives it and the estimate is
    unbiased; this embeds every row (the :data:`embedding cost <playbook_lib.checks.embedding>`; the ``cache`` file
    keeps it a one-time cost). ``corpus_sample`` caps the rows compared with (a seeded sample plus the scored rows):
    fewer neighbours only lower similarities, so the estimate then leans towards *more* off-topic rows and the
    summary says so (``compared_with``).

    In batches (:mod:`~playbook_lib.checks.embedding`, "In batches") each batch stores whether its rows have text;
    the global step reads back the sampled rows, and every row when every row is embedded (``sample: null``, or
    compared with without ``corpus_sample``), whose vectors are then all in memory (float32, ``dim`` per row).
    """

    name = "relevance"
    metric = "off_topic_rate"

    def __init__(
        self,
        task: str | None = None,
        references: str | None = None,
        fields: list[str] | None = None,
        model: str = DEFAULT_MODEL,
        k: int = 5,
        z_threshold: float | None = 3.0,
        min_similarity: float | None = MIN_SIMILARITY,
        null_floor: bool = True,
        cache: str | None = None,
        sample: int | None = None,
        corpus_sample: int | None = None,
        seed: int = 0,
        warn: float | None = 0.01,
        fail: float | None = 0.05,
    ) -> None:
        super().__init__(warn, fail)
        self._embedding_options(model, fields, RECORD_FIELDS, cache, sample, seed)
        self.require(task is None or bool(task.strip()), "task must be a non-empty description")
        self.require(k >= 1, f"k must be at least 1, got {k}")
        self.require(z_threshold is None or z_threshold > 0, f"z_threshold must be > 0, got {z_threshold}")
        self.require(
            min_similarity is None or -1 <= min_similarity <= 1,
            f"min_similarity must be in [-1, 1], got {min_similarity}",
        )
        self.require(
            corpus_sample is None or corpus_sample >= 2,
            f"corpus_sample must be at least 2 or null, got {corpus_sample}",
        )
        self.task = task
        self.references = references
        self.k = k
        self.z_threshold = z_threshold
        self.min_similarity = min_similarity
        self.null_floor = null_floor
        self.corpus_sample = corpus_sample

    @property
    def reference(self) -> str:
        """What the rows are compared with, in words."""
        parts = (["task description"] if self.task else []) + (
            [f"references {self.references}"] if self.references else []
        )
        return " + ".join(parts) or f"{self.k} nearest other rows"

    def similarities(self, records: pd.DataFrame) -> np.ndarray:
        """Each row's cosine similarity to the task (NaN for rows without text in ``fields``)."""
        return self.score(records)[0]

    def score(
        self, records: pd.DataFrame, picked: np.ndarray | None = None
    ) -> tuple[np.ndarray, float | None, int | None, Search]:
        """The similarity of the rows at ``picked`` (every row when ``None``; NaN without text in ``fields``), the
        median of the null distribution (random unrelated pairs; ``None`` for a task description alone), when
        ``corpus_sample`` capped the rows compared with, how many they were (else ``None``), and how the nearest
        rows or references were searched (:class:`~playbook_lib.checks.neighbours.Search`)."""
        return self._score(FrameRows(records), _with_text(records, self.fields), picked)

    def _score(
        self, source: RowSource, has_text: np.ndarray, picked: np.ndarray | None
    ) -> tuple[np.ndarray, float | None, int | None, Search]:
        """:meth:`score` over the rows of ``source`` (``has_text``: whether each row has text in ``fields``),
        reading back only the rows it embeds."""
        searched = Search("exact")
        rows = np.arange(len(has_text)) if picked is None else np.asarray(picked, dtype=np.int64)
        sims = np.full(len(rows), np.nan)
        scored = rows[has_text[rows]]
        if not scored.size:
            return sims, None, None, searched
        rng = np.random.default_rng(self.seed)
        with_text = np.flatnonzero(has_text)
        queries = self._embed_rows(source, scored, every=scored.size == with_text.size)
        parts, nulls, compared = [], [], None
        if self.task:
            parts.append(queries @ self.embed([self.task])[0])
        if self.references:
            ref_texts = [t for t in _texts(load_records(self.references), self.fields) if t.strip()]
            if not ref_texts:
                raise EmptyDataError(f"{self.references}: no reference example has text in {', '.join(self.fields)}")
            refs = self.embed(ref_texts)
            top, _, searched = search(refs, queries, min(self.k, len(refs)), seed=self.seed)
            parts.append(top.mean(axis=1))
            i, j = rng.integers(0, len(queries), NULL_PAIRS), rng.integers(0, len(refs), NULL_PAIRS)
            nulls.append(np.einsum("ij,ij->i", queries[i], refs[j]))
        if not parts:  # no task given: how close each row is to its k nearest other rows
            corpus_pos = with_text
            capped = sample_positions(len(corpus_pos), self.corpus_sample, self.seed + 1)
            if capped is not None:
                corpus_pos = np.union1d(corpus_pos[capped], scored)
            if len(corpus_pos) < 2:
                return sims, None, None, searched
            compared = None if capped is None else len(corpus_pos)
            # the scored rows are among those compared with: when they are all of them, their vectors are the same
            corpus = (
                queries
                if corpus_pos.size == scored.size
                else self._embed_rows(source, corpus_pos, every=corpus_pos.size == with_text.size)
            )
            width = min(self.k + 1, len(corpus_pos))
            top, where, searched = search(corpus, queries, width, seed=self.seed)
            keep = corpus_pos[where] != scored[:, None]  # each row's own match is dropped, else the last one
            keep[keep.all(axis=1), -1] = False
            parts.append(top[keep].reshape(len(scored), width - 1).mean(axis=1))
            i, j = rng.integers(0, len(scored), NULL_PAIRS), rng.integers(0, len(corpus_pos), NULL_PAIRS)
            other = scored[i] != corpus_pos[j]
            nulls.append(np.einsum("ij,ij->i", queries[i[other]], corpus[j[other]]))
        sims[has_text[rows]] = np.mean(parts, axis=0)
        null = float(np.median(np.concatenate(nulls))) if nulls else None
        return sims, null, compared, searched

    def floor(self, null_median: float | None) -> float | None:
        """The absolute floor: ``min_similarity`` raised to ``null_median`` when ``null_floor`` is true."""
        floors = [] if self.min_similarity is None else [self.min_similarity]
        if self.null_floor and null_median is not None:
            floors.append(null_median)
        return max(floors) if floors else None

    def cutoff(self, sims: np.ndarray, null_median: float | None = None) -> float | None:
        """The similarity below which a row is flagged: the lower of ``median - z_threshold * spread`` (spread:
        ``1.4826 * MAD``, at least :data:`MIN_SPREAD`) and :meth:`floor`, since a row must be below both; ``None``
        when neither applies."""
        cuts = [] if (floor := self.floor(null_median)) is None else [floor]
        median, spread = robust_spread(sims)
        if self.z_threshold is not None and not np.isnan(median):
            cuts.append(median - self.z_threshold * max(spread, MIN_SPREAD))
        return min(cuts) if cuts else None

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        picked = sample_positions(n, self.sample, self.seed)
        m = n if picked is None else len(picked)
        sims, null_median, compared, searched = self._score(rows, self._has_text(store), picked)
        has_text = ~np.isnan(sims)
        if not has_text.any():
            return self.not_evaluated(n, f"no row has text in {', '.join(self.fields)}")
        cutoff = self.cutoff(sims, null_median)
        flags = has_text & (np.nan_to_num(sims, nan=1.0) < cutoff) if cutoff is not None else np.zeros(m, bool)
        median, spread = robust_spread(sims)
        z = (sims - median) / max(spread, MIN_SPREAD)
        scores = np.where(has_text, 1.0 - np.nan_to_num(sims, nan=1.0), 0.0)
        kept = sims[has_text]
        flagged = int(flags.sum())
        floor = self.floor(null_median)
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
            "floor": None if floor is None else round(floor, 4),
            "null_median": None if null_median is None else round(null_median, 4),
            "model": self.model,
            "search": searched.describe(),
        }
        order = np.argsort(np.where(flags, sims, np.inf), kind="stable")[:flagged]
        # every flagged row, by its index in the whole data (for --flags)
        where = picked if picked is not None else np.arange(m)
        shown = order[: self.max_examples]
        part = rows.take(np.sort(where[shown])) if shown.size else pd.DataFrame()  # the rows shown, read back
        examples = [
            {
                "line": int(part.at[row, "line"]),
                "similarity": round(float(sims[i]), 4),
                "reason": f"similarity {sims[i]:.2f} < cut-off {cutoff:.2f} (robust z {z[i]:.1f})",
                "instruction": snippet(part.at[row, "instruction"]),
                "output": snippet(part.at[row, "output"]),
            }
            for i, row in zip(shown.tolist(), where[shown].tolist())
        ]
        detail = f"{flagged} off-topic rows (similarity to the {self.reference})"
        details = {
            int(where[i]): {
                "reason": f"similarity {sims[i]:.2f} < cut-off {cutoff:.2f} (robust z {z[i]:.1f})",
                "similarity": round(float(sims[i]), 4),
                "robust_z": round(float(z[i]), 2),
            }
            for i in np.flatnonzero(flags).tolist()
        }
        if compared is not None:
            summary["compared_with"] = f"{compared} rows (corpus_sample): the share leans high"
        if picked is not None:
            summary["sampled"] = f"{m} of {n}"
            detail += "; " + _sampled(summary, self.metric, flagged, m, f"{m} of {n} rows")
            full_flags, full_scores = np.zeros(n, bool), np.zeros(n)
            full_flags[picked], full_scores[picked] = flags, scores
            flags, scores = full_flags, full_scores
        return self.result(flags, scores, summary, examples, detail, details=details)


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

    With more than ``sample`` traffic queries (``None``: no limit) a seeded random sample of ``sample`` of them
    (:func:`sample_positions` with ``seed``) is compared with *every* training row: a query's nearest similarity is
    then what the full run gives it, the sampled share is an unbiased estimate of the full share, and the summary
    adds ``sampled`` and ``uncovered_share_ci95`` (a 95 % Wilson interval over the sampled queries; it holds the
    full share in about 95 % of seeds, ``tests/code/test_check_embedding_sample.py``). Every training row is
    embedded: tens to a few hundred rows a second on one core, an hour or more per 300,000 rows, once when the
    ``cache`` file is kept. ``train_sample`` caps that cost: a seeded sample of the training rows is searched
    instead, which can only lower a query's nearest similarity, so the estimate leans towards *more* uncovered
    traffic; the interval is then one-sided, ``[0, upper]`` (the full share is at most the sample's), and the
    summary says ``train_sampled``.

    In batches (:mod:`~playbook_lib.checks.embedding`, "In batches") each batch stores whether its rows have text;
    the global step reads back the training rows searched (every row without ``train_sample``, whose vectors are
    then all in memory, float32, ``dim`` per row) and the nearest training rows of the examples.
    """

    name = "embedding_coverage"
    metric = "uncovered_share"

    def __init__(
        self,
        threshold: float | None = None,
        fields: list[str] | None = None,
        model: str = DEFAULT_MODEL,
        by: str | None = "category",
        cluster_threshold: float | None = None,
        cache: str | None = None,
        sample: int | None = None,
        train_sample: int | None = None,
        seed: int = 0,
        warn: float | None = 0.05,
        fail: float | None = 0.2,
    ) -> None:
        super().__init__(warn, fail)
        self._embedding_options(model, fields, QUERY_FIELDS, cache, sample, seed)
        self.require(
            train_sample is None or train_sample >= 1, f"train_sample must be at least 1 or null, got {train_sample}"
        )
        self.train_sample = train_sample
        threshold = COVERAGE_THRESHOLDS[self.model] if threshold is None else threshold
        cluster_threshold = CLUSTER_THRESHOLDS[self.model] if cluster_threshold is None else cluster_threshold
        self.require(-1 <= threshold <= 1, f"threshold must be in [-1, 1], got {threshold}")
        self.require(-1 <= cluster_threshold <= 1, f"cluster_threshold must be in [-1, 1], got {cluster_threshold}")
        self.threshold = threshold
        self.by = by
        self.cluster_threshold = cluster_threshold

    def max_similarity(self, records: pd.DataFrame, traffic: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """For each traffic row: the similarity of its nearest training row and that row's position in
        ``records`` (NaN and -1 for traffic rows without text, or when no training row has text)."""
        has_text = _with_text(records, self.fields)
        sims, where, _ = self._nearest_training(FrameRows(records), has_text, np.arange(len(records)), traffic)
        return sims, where

    def _nearest_training(
        self, source: RowSource, has_text: np.ndarray, train: np.ndarray, traffic: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, Search]:
        """:meth:`max_similarity` against the training rows numbered ``train`` (ascending) of ``source``
        (``has_text``: whether each of its rows has text in ``fields``), the nearest row given by its number, and
        how the training rows were searched."""
        searched = Search("exact")
        query_texts = _texts(traffic, self.fields)
        train_pos = train[has_text[train]]
        query_pos = np.array([i for i, t in enumerate(query_texts) if t.strip()], dtype=np.int64)
        sims = np.full(len(query_texts), np.nan)
        where = np.full(len(query_texts), -1, dtype=np.int64)
        if train_pos.size and query_pos.size:
            corpus = self._embed_rows(source, train_pos, every=train_pos.size == int(has_text.sum()))
            queries = self.embed([query_texts[i] for i in query_pos])
            top, positions, searched = search(corpus, queries, 1, seed=self.seed)
            sims[query_pos] = top[:, 0]
            where[query_pos] = train_pos[positions[:, 0]]
        return sims, where, searched

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
        vectors = self.embed(_texts(traffic.iloc[positions], self.fields))
        clusters = neighbour_clusters(vectors, self.cluster_threshold)
        return "neighbours", [
            {"group": f"cluster {n + 1}", "members": [int(positions[i]) for i in c]} for n, c in enumerate(clusters)
        ]

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        if context.traffic is None:
            return self.not_evaluated(n, "no production traffic sample given (--traffic)")
        train_picked = sample_positions(n, self.train_sample, self.seed + 1)
        query_picked = sample_positions(len(context.traffic), self.sample, self.seed)
        sampled = [
            f"{len(p)} of {total} {what}"
            for p, total, what in ((train_picked, n, "training rows"), (query_picked, len(context.traffic), "queries"))
            if p is not None
        ]
        train = np.arange(n) if train_picked is None else train_picked
        traffic = context.traffic if query_picked is None else context.traffic.iloc[query_picked]
        sims, where, searched = self._nearest_training(rows, self._has_text(store), train, traffic)
        has_text = ~np.isnan(sims)
        if not has_text.any():
            return self.not_evaluated(n, f"no training and traffic rows with text in {', '.join(self.fields)}")
        uncovered = has_text & (np.nan_to_num(sims, nan=1.0) < self.threshold)
        count = int(uncovered.sum())
        grouped_by, groups = self._groups(traffic, uncovered)
        traffic_lines = traffic["line"].to_numpy()
        kept = sims[has_text]
        summary: dict[str, Any] = {
            "rows": n,
            "traffic_rows": len(context.traffic),
            "traffic_without_text": int(len(traffic) - has_text.sum()),
            "threshold": self.threshold,
            "model": self.model,
            "search": searched.describe(),
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
        least = [min(g["members"], key=lambda m: (sims[m], m)) for g in groups[: self.max_examples]]
        train_lines: dict[int, int] = {}
        train_texts: dict[int, str] = {}
        if least:  # the nearest training rows of the queries shown, read back
            taken = rows.take(np.unique(where[least]))
            train_lines = dict(zip(taken.index.tolist(), taken["line"].tolist()))
            train_texts = dict(zip(taken.index.tolist(), _texts(taken, self.fields)))
        for g, i in zip(groups, least):
            j = int(where[i])
            examples.append(
                {
                    "group": g["group"],
                    "size": len(g["members"]),
                    "line": int(traffic_lines[i]),
                    "reason": f"nearest training example {sims[i]:.2f} < {self.threshold:g}",
                    "query": snippet(_texts(traffic.iloc[[i]], self.fields)[0]),
                    "nearest_training_line": int(train_lines[j]),
                    "nearest_training": snippet(train_texts[j]),
                }
            )
        detail = f"{count} of {int(has_text.sum())} traffic queries have no training example within {self.threshold:g}"
        if groups:
            detail += f" ({len(groups)} groups by {grouped_by})"
        if sampled:
            summary["sampled"] = ", ".join(sampled)
            detail += "; " + _sampled(
                summary,
                self.metric,
                count,
                int(has_text.sum()),
                summary["sampled"],
                upper_only=train_picked is not None,
            )
        if train_picked is not None:
            summary["train_sampled"] = "training rows sampled (train_sample): the share leans high"
        return self.result(np.zeros(n, bool), np.zeros(n), summary, examples, detail)
