"""Consistency: agreement between annotators (Cohen's kappa, Krippendorff's alpha) and conflicting labels on
identical inputs.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
consistency".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.checks.base import Check, CheckContext, CheckResult, Outcome, worst
from playbook_lib.checks.registry import register
from playbook_lib.data import record_text
from playbook_lib.text.normal import normalise, snippet


def cohens_kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa of two annotators' labels on the same items (1 = perfect, 0 = chance)."""
    n = len(a)
    if n == 0:
        return float("nan")
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def krippendorff_alpha(units: list[list[str]]) -> float:
    """Krippendorff's alpha for nominal labels; ``units`` holds each item's labels (items with < 2 are ignored)."""
    units = [u for u in units if len(u) >= 2]
    if not units:
        return float("nan")
    coincidence: defaultdict[tuple[str, str], float] = defaultdict(float)
    for u in units:
        m = len(u)
        for i, j in ((i, j) for i in range(m) for j in range(m) if i != j):
            coincidence[(u[i], u[j])] += 1 / (m - 1)
    totals: defaultdict[str, float] = defaultdict(float)
    for (c, _), v in coincidence.items():
        totals[c] += v
    total = sum(totals.values())
    observed = sum(v for (c, k), v in coincidence.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k) / (total - 1)
    return 1.0 if expected == 0 else 1 - observed / expected


@register
class ConsistencyCheck(Check):
    """Labels on identical (normalised) inputs must agree. The metric ``conflict_rate`` is the share of rows whose
    input carries more than one distinct label. With several annotators the summary also gives Krippendorff's alpha
    (and Cohen's kappa for exactly two); an alpha under ``min_alpha`` warns. Not evaluated without labels.
    """

    name = "consistency"
    metric = "conflict_rate"

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

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        labels = records["label"].tolist()
        if all(lbl is None for lbl in labels):
            return self.not_evaluated(n, "no row has a label")
        keys = [normalise(t) for t in record_text(records, self.fields)]
        by_item: dict[str, list[int]] = {}
        for i, (k, lbl) in enumerate(zip(keys, labels)):
            if lbl is not None:
                by_item.setdefault(k, []).append(i)
        flags = np.zeros(n, bool)
        conflicts = 0
        examples: list[dict[str, Any]] = []
        for rows in by_item.values():
            distinct = sorted({labels[i] for i in rows})
            if len(distinct) > 1:
                conflicts += 1
                flags[rows] = True
                if len(examples) < self.max_examples:
                    examples.append(
                        {
                            "lines": [int(records["line"].iloc[i]) for i in rows],  # labels masked
                            "reason": f"labels {', '.join(snippet(lbl, 80) for lbl in distinct)}",
                        }
                    )
        conflict_rate = float(flags.mean()) if n else 0.0
        summary: dict[str, object] = {
            "rows": n,
            "labelled_items": len(by_item),
            "conflicting_items": conflicts,
            "conflict_rate": conflict_rate,
        }
        outcomes = [self.grade(conflict_rate)]
        annotators = records["annotator"].tolist()
        names = sorted({a for a in annotators if a is not None})
        if len(names) >= 2:
            units = [[labels[i] for i in rows] for rows in by_item.values()]
            alpha = krippendorff_alpha(units)
            summary["annotators"] = len(names)
            summary["krippendorff_alpha"] = alpha
            if len(names) == 2:
                per: dict[str, dict[str, str]] = {a: {} for a in names}
                for k, a, lbl in zip(keys, annotators, labels):
                    if a is not None and lbl is not None:
                        per[a][k] = lbl
                shared = sorted(set(per[names[0]]) & set(per[names[1]]))
                summary["cohens_kappa"] = cohens_kappa(
                    [per[names[0]][k] for k in shared], [per[names[1]][k] for k in shared]
                )
            if alpha == alpha and alpha < self.min_alpha:
                outcomes.append(Outcome.WARN)
        detail = f"{conflicts} inputs with conflicting labels"
        if "krippendorff_alpha" in summary:
            detail += f"; Krippendorff's alpha {summary['krippendorff_alpha']:.3f}"
        return self.result(flags, flags.astype(float), summary, examples, detail, outcome=worst(outcomes))
