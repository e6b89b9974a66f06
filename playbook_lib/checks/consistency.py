"""Consistency: agreement between annotators (Cohen's kappa, Krippendorff's alpha) and conflicting labels on
identical inputs.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
consistency".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import CheckContext, CheckResult, Outcome, worst
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.hashing import normal_digests
from playbook_lib.checks.registry import register
from playbook_lib.data import record_text
from playbook_lib.text.normal import snippet

#: Labelled rows read at once when the global step computes Krippendorff's alpha item by item.
ALPHA_CHUNK_ROWS = 1_000_000


def cohens_kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa of two annotators' labels on the same items (1 = perfect, 0 = chance)."""
    n = len(a)
    if n == 0:
        return float("nan")
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def krippendorff_alpha(units: Sequence[Sequence[Hashable]]) -> float:
    """Krippendorff's alpha for nominal labels; ``units`` holds each item's labels (items with < 2 are ignored)."""
    coincidence: defaultdict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for u in units:
        _add_unit(coincidence, u)
    return _alpha(coincidence)


def _add_unit(coincidence: defaultdict[tuple[Hashable, Hashable], float], u: Sequence[Hashable]) -> None:
    """Add one item's pairable values to the coincidence matrix (nothing for an item with fewer than 2)."""
    m = len(u)
    if m < 2:
        return
    for i, j in ((i, j) for i in range(m) for j in range(m) if i != j):
        coincidence[(u[i], u[j])] += 1 / (m - 1)


def _alpha(coincidence: defaultdict[tuple[Hashable, Hashable], float]) -> float:
    if not coincidence:
        return float("nan")
    totals: defaultdict[Hashable, float] = defaultdict(float)
    for (c, _), v in coincidence.items():
        totals[c] += v
    total = sum(totals.values())
    observed = sum(v for (c, k), v in coincidence.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k) / (total - 1)
    return 1.0 if expected == 0 else 1 - observed / expected


@register
class ConsistencyCheck(BatchCheck):
    """Labels on identical (normalised) inputs must agree. The metric ``conflict_rate`` is the share of rows whose
    input carries more than one distinct label. With several annotators the summary also gives Krippendorff's alpha
    (and Cohen's kappa for exactly two); an alpha under ``min_alpha`` warns. Not evaluated without labels.

    In batches (:mod:`playbook_lib.checks.batch`): each batch stores its labelled rows' input key (a 128-bit
    BLAKE2 hash of the normalised input), label and annotator, and its annotators; the global step groups the keys
    in the feature store, computes alpha item by item in the order of each item's first row (the same sums as
    whole), kappa from counts, and reads back one row per distinct label of the example items. Labels are compared
    as text (the loaders give text).
    """

    name = "consistency"
    metric = "conflict_rate"
    tables = ("labelled", "annotators")

    def __init__(
        self,
        min_alpha: float = 0.667,
        fields: list[str] | None = None,
        warn: float | None = 0.0,
        fail: float | None = 0.05,
    ) -> None:
        super().__init__(warn, fail)
        self.min_alpha = min_alpha
        self.fields = tuple(fields or ("instruction", "input"))

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """Each labelled row's input key, label (as text) and annotator; the batch's annotators."""
        labels = records["label"].tolist()
        annotators = records["annotator"].tolist()
        keep = [i for i, lbl in enumerate(labels) if lbl is not None]
        texts = record_text(records.iloc[keep], self.fields) if keep else []
        numbers, lines = row_numbers(records), records["line"].to_numpy(dtype=np.int64)
        labelled = {
            "row": numbers[keep],
            "line": lines[keep],
            "key": normal_digests(texts),
            "label": [_as_text(labels[i]) for i in keep],
            "annotator": [None if annotators[i] is None else _as_text(annotators[i]) for i in keep],
        }
        names = sorted({_as_text(a) for a in annotators if a is not None})
        return {
            "labelled": pa.table(labelled, schema=_LABELLED),
            "annotators": pa.table({"name": names}, schema=_NAMES),
        }

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        table = self.table("labelled")
        if not int(store.query(f'SELECT count(*) AS k FROM "{table}"')["k"][0]):
            return self.not_evaluated(n, "no row has a label")
        groups = (
            f'SELECT key, min(row) AS first, count(*) AS size, count(DISTINCT label) AS labels FROM "{table}" '
            "GROUP BY key"
        )
        items = store.query(f"SELECT first, size, labels FROM ({groups}) ORDER BY first")
        conflicting = items["labels"] > 1
        flags = np.zeros(n, bool)
        flags[store.query(f'SELECT t.row FROM "{table}" t JOIN ({groups}) g USING (key) WHERE g.labels > 1')["row"]] = (
            True
        )
        conflicts = int(conflicting.sum())
        examples: list[dict[str, Any]] = []
        for first in items["first"][conflicting][: self.max_examples].tolist():
            members = store.query(
                f'SELECT t.row, t.line, t.label FROM "{table}" t JOIN ({groups}) g USING (key) '
                "WHERE g.first = ? ORDER BY t.row",
                [first],
            )
            one_per_label = sorted(
                {
                    label: row for row, label in zip(members["row"].tolist()[::-1], members["label"].tolist()[::-1])
                }.values()
            )
            values = rows.take(one_per_label)["label"].tolist()
            distinct = sorted(set(values))
            examples.append(
                {
                    "lines": [int(line) for line in members["line"].tolist()],  # labels masked
                    "reason": f"labels {', '.join(snippet(lbl, 80) for lbl in distinct)}",
                }
            )
        conflict_rate = float(flags.mean()) if n else 0.0
        summary: dict[str, object] = {
            "rows": n,
            "labelled_items": len(items["first"]),
            "conflicting_items": conflicts,
            "conflict_rate": conflict_rate,
        }
        outcomes = [self.grade(conflict_rate)]
        names = store.query(f'SELECT DISTINCT name FROM "{self.table("annotators")}"')["name"].tolist()
        if len(names) >= 2:
            alpha = self._alpha(store, table, groups, items)
            summary["annotators"] = len(names)
            summary["krippendorff_alpha"] = alpha
            if len(names) == 2:
                summary["cohens_kappa"] = self._kappa(store, table, sorted(names))
            if alpha == alpha and alpha < self.min_alpha:
                outcomes.append(Outcome.WARN)
        detail = f"{conflicts} inputs with conflicting labels"
        if "krippendorff_alpha" in summary:
            detail += f"; Krippendorff's alpha {summary['krippendorff_alpha']:.3f}"
        return self.result(flags, flags.astype(float), summary, examples, detail, outcome=worst(outcomes))

    @staticmethod
    def _alpha(store: FeatureStore, table: str, groups: str, items: dict[str, np.ndarray]) -> float:
        """Krippendorff's alpha item by item in the order of each item's first row, labels in row order (the
        coincidence sums of :func:`krippendorff_alpha` on the whole frame), read in chunks of about a million rows."""
        coincidence: defaultdict[tuple[Hashable, Hashable], float] = defaultdict(float)
        pairable = items["size"] >= 2
        firsts, sizes = items["first"][pairable], items["size"][pairable]
        ends = np.cumsum(sizes)
        lo = 0
        while lo < len(firsts):
            hi = int(np.searchsorted(ends, ends[lo] - sizes[lo] + ALPHA_CHUNK_ROWS, side="right"))
            hi = max(hi, lo + 1)
            part = store.query(
                f'SELECT g.first, t.label FROM "{table}" t JOIN ({groups}) g USING (key) '
                "WHERE g.size >= 2 AND g.first BETWEEN ? AND ? ORDER BY g.first, t.row",
                [int(firsts[lo]), int(firsts[hi - 1])],
            )
            first, labels = part["first"], part["label"].tolist()
            starts = np.flatnonzero(np.r_[True, first[1:] != first[:-1]]).tolist() + [len(labels)]
            for a, b in zip(starts, starts[1:]):
                _add_unit(coincidence, labels[a:b])
            lo = hi
        return _alpha(coincidence)

    @staticmethod
    def _kappa(store: FeatureStore, table: str, names: list[str]) -> float:
        """Cohen's kappa of two annotators over the inputs both labelled (each one's last label per input)."""
        last = f'SELECT key, arg_max(label, row) AS label FROM "{table}" WHERE annotator = ? GROUP BY key'
        pairs = store.query(
            f"SELECT a.label AS a, b.label AS b FROM ({last}) a JOIN ({last}) b USING (key)",
            [names[0], names[1]],
        )
        return cohens_kappa(pairs["a"].tolist(), pairs["b"].tolist())


def _as_text(value: object) -> str:
    """A label or annotator as text (the loaders give text; a hand-built frame's other values by their repr)."""
    return value if isinstance(value, str) else repr(value)


_LABELLED = pa.schema(
    [
        ("row", pa.int64()),
        ("line", pa.int64()),
        ("key", pa.binary(16)),
        ("label", pa.string()),
        ("annotator", pa.string()),
    ]
)
_NAMES = pa.schema([("name", pa.string())])
