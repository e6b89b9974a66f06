"""Relevance and coverage without a model: task rules (length bounds per category, forbidden phrases), and the
distribution of categories, task types or instruction and input styles versus a sample of production traffic.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
relevance" and "Coverage". Embedding-based relevance and nearest-neighbour coverage are in
:mod:`playbook_lib.checks.embedding`; the derived style slices in :mod:`playbook_lib.checks.slices`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import CheckContext, CheckResult, Outcome, worst
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.hashing import whitespace_tokens
from playbook_lib.checks.registry import register
from playbook_lib.checks.slices import DERIVED, slice_values
from playbook_lib.errors import UsageError
from playbook_lib.text.normal import snippet


@register
class TaskRulesCheck(BatchCheck):
    """Rows that break the task's rules: an output containing a ``forbidden`` phrase (case-insensitive), or an
    output length in whitespace tokens outside ``length_bounds[category]`` (``[min, max]``; the ``"*"`` entry applies
    to every other category). The metric ``violation_rate`` is the share of rows breaking a rule.

    In batches (:mod:`playbook_lib.checks.batch`): each batch stores the rows breaking a rule, its count per rule
    and its first :attr:`max_examples` examples; the global step adds them up.
    """

    name = "task_rules"
    metric = "violation_rate"
    tables = ("violations", "rules", "shown")

    def __init__(
        self,
        forbidden: list[str] | None = None,
        length_bounds: dict[str, list[int]] | None = None,
        warn: float | None = 0.0,
        fail: float | None = 0.05,
    ) -> None:
        super().__init__(warn, fail)

        self.forbidden = [p.casefold() for p in (forbidden or [])]
        self.length_bounds = dict(length_bounds or {})
        for category, bounds in self.length_bounds.items():
            if len(bounds) != 2 or bounds[0] > bounds[1]:
                raise UsageError(f"task_rules.length_bounds[{category!r}] must be [min, max], got {bounds}")

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """The rows breaking a rule, the batch's count per rule, and its first :attr:`max_examples` examples."""
        numbers, lines = row_numbers(records), records["line"].to_numpy(dtype=np.int64)
        flagged: list[int] = []
        counts: dict[str, int] = {}
        shown: dict[str, list[Any]] = {"row": [], "line": [], "reason": [], "output": []}
        outputs = records["output"].tolist()
        lengths = whitespace_tokens([out if isinstance(out, str) else "" for out in outputs])
        for i, (out, cat) in enumerate(zip(outputs, records["category"].tolist())):
            if not isinstance(out, str):
                continue
            reasons = []
            if self.forbidden:
                low = out.casefold()
                reasons += [f"forbidden phrase {p!r}" for p in self.forbidden if p in low]
            bounds = self.length_bounds.get(cat or "", self.length_bounds.get("*"))
            if bounds is not None:
                length = int(lengths[i])
                if not bounds[0] <= length <= bounds[1]:
                    reasons.append(f"{length} tokens outside [{bounds[0]}, {bounds[1]}] for {cat or '*'}")
            if reasons:
                flagged.append(int(numbers[i]))
                for r in reasons:
                    key = r.split(" tokens")[0] if "tokens" not in r else "length out of bounds"
                    counts[key] = counts.get(key, 0) + 1
                if len(shown["row"]) < self.max_examples:
                    for column, value in zip(
                        shown.values(), (int(numbers[i]), int(lines[i]), "; ".join(reasons), snippet(out))
                    ):
                        column.append(value)
        return {
            "violations": pa.table({"row": flagged}, schema=_ROWS),
            "rules": pa.table({"rule": list(counts), "rows": list(counts.values())}, schema=_RULES),
            "shown": pa.table(shown, schema=_SHOWN_RULES),
        }

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        flags = np.zeros(n, bool)
        flags[store.query(f'SELECT row FROM "{self.table("violations")}"')["row"]] = True
        found = store.query(f'SELECT rule, sum("rows")::BIGINT AS n FROM "{self.table("rules")}" GROUP BY rule')
        counts = {str(k): int(v) for k, v in zip(found["rule"].tolist(), found["n"].tolist())}
        shown = store.query(
            f'SELECT line, reason, output FROM "{self.table("shown")}" ORDER BY row LIMIT {self.max_examples}'
        )
        examples: list[dict[str, Any]] = [
            {"line": int(line), "reason": reason, "output": output}
            for line, reason, output in zip(shown["line"].tolist(), shown["reason"].tolist(), shown["output"].tolist())
        ]
        flagged = int(flags.sum())
        summary = {
            "rows": n,
            "violations": flagged,
            "violation_rate": flagged / n if n else 0.0,
            "by_rule": dict(sorted(counts.items())),
        }
        return self.result(flags, flags.astype(float), summary, examples, f"{flagged} rows break a task rule")


_ROWS = pa.schema([("row", pa.int64())])
_RULES = pa.schema([("rule", pa.string()), ("rows", pa.int64())])
_SHOWN_RULES = pa.schema([("row", pa.int64()), ("line", pa.int64()), ("reason", pa.string()), ("output", pa.string())])
_LABELS = pa.schema([("label", pa.string()), ("rows", pa.int64())])
_ABSENT = pa.schema([("rows", pa.int64())])


def js_divergence(p: dict[str, float], q: dict[str, float]) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two distributions over the same keys."""
    keys = sorted(set(p) | set(q))
    total = 0.0
    for k in keys:
        a, b = p.get(k, 0.0), q.get(k, 0.0)
        m = (a + b) / 2
        if a > 0:
            total += 0.5 * a * math.log2(a / m)
        if b > 0:
            total += 0.5 * b * math.log2(b / m)
    return max(0.0, min(1.0, total))


@register
class CoverageCheck(BatchCheck):
    """Training data covers what production asks: the share of each slice (``by``: a record field such as the default
    ``category``, or a style derived from the text, ``instruction_style``, ``input_style`` or ``instruction_length``,
    see :mod:`playbook_lib.checks.slices`) in the training data versus a traffic sample (``--traffic``). The metric
    ``js_divergence`` (0 = same mix, 1 = disjoint) is graded by the thresholds; a slice present in traffic but absent
    from training fails, and one whose training share is under ``min_ratio`` times its traffic share warns. Not
    evaluated without traffic or slice labels.

    In batches (:mod:`playbook_lib.checks.batch`): each batch stores its count of rows per slice label; the global
    step adds them up (the traffic sample, small, is read whole).
    """

    name = "coverage"
    metric = "js_divergence"
    tables = ("labels", "absent")

    def __init__(
        self, by: str = "category", min_ratio: float = 0.5, warn: float | None = 0.1, fail: float | None = 0.3
    ) -> None:
        super().__init__(warn, fail)
        self.require(min_ratio >= 0, f"min_ratio must be >= 0, got {min_ratio}")
        self.by = by
        self.min_ratio = min_ratio

    @staticmethod
    def _shares(values: list[object]) -> dict[str, float]:
        kept = [str(v) for v in values if v is not None and str(v).strip()]
        return {k: kept.count(k) / len(kept) for k in sorted(set(kept))} if kept else {}

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """The batch's count of rows per slice label (rows without one not counted); a row in ``absent`` when the
        slice field is neither a column nor derived (an error once the global step knows there is traffic)."""
        if self.by not in records.columns and self.by not in DERIVED:
            return {
                "labels": pa.table({"label": [], "rows": []}, schema=_LABELS),
                "absent": pa.table({"rows": [len(records)]}, schema=_ABSENT),
            }
        counts: dict[str, int] = {}
        for v in slice_values(records, self.by):
            if v is not None:
                text = str(v)
                if text.strip():
                    counts[text] = counts.get(text, 0) + 1
        return {
            "labels": pa.table({"label": list(counts), "rows": list(counts.values())}, schema=_LABELS),
            "absent": pa.table({"rows": []}, schema=_ABSENT),
        }

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        if context.traffic is None:
            return self.not_evaluated(n, "no production traffic sample given (--traffic)")
        if int(store.query(f'SELECT count(*) AS n FROM "{self.table("absent")}"')["n"][0]):
            valid = ", ".join(sorted(DERIVED))
            raise UsageError(f"coverage: unknown slice field {self.by!r} (derived slices: {valid})")
        found = store.query(f'SELECT label, sum("rows")::BIGINT AS n FROM "{self.table("labels")}" GROUP BY label')
        counts = dict(zip(found["label"].tolist(), found["n"].tolist()))
        total = sum(counts.values())
        train = {k: counts[k] / total for k in sorted(counts)} if total else {}
        traffic = self._shares(slice_values(context.traffic, self.by))
        if not train or not traffic:
            return self.not_evaluated(n, f"no {self.by!r} labels in the training data or the traffic sample")
        missing = [k for k in traffic if k not in train]
        under = [k for k in traffic if k in train and train[k] < self.min_ratio * traffic[k]]
        js = js_divergence(train, traffic)
        slices = {
            k: {"train": train.get(k, 0.0), "traffic": traffic.get(k, 0.0)} for k in sorted(set(train) | set(traffic))
        }
        summary = {
            "rows": n,
            "traffic_rows": len(context.traffic),
            "js_divergence": js,
            "missing_slices": missing,
            "under_covered": under,
            "slices": slices,
        }
        outcome = worst(
            [self.grade(js), Outcome.FAIL if missing else Outcome.PASS, Outcome.WARN if under else Outcome.PASS]
        )
        examples = [{"slice": k, "reason": "missing from training", "traffic_share": traffic[k]} for k in missing]
        examples += [
            {"slice": k, "reason": "under-covered", "train_share": train[k], "traffic_share": traffic[k]} for k in under
        ]
        detail = f"{len(missing)} slices missing, {len(under)} under-covered"
        return self.result(np.zeros(n, bool), np.zeros(n), summary, examples, detail, outcome=outcome)
