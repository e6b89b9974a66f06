"""Quantity: enough examples for the training method, overall and per slice.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quantity": a
first validation run needs 50-100 examples, parameter-efficient fine-tuning (LoRA/PEFT) hundreds to thousands, a
full fine-tune tens of thousands.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import CheckContext, CheckResult, Outcome, worst
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.registry import register
from playbook_lib.errors import UsageError

#: method -> (fail below, warn below) examples overall.
METHOD_MINIMUMS: dict[str, tuple[int, int]] = {
    "validation": (50, 100),
    "peft": (200, 1000),
    "full": (10_000, 30_000),
}


@register
class QuantityCheck(BatchCheck):
    """Counts examples against the minimum for ``method`` (``validation``, ``peft`` or ``full``); ``warn``/``fail``
    override the method's defaults. With ``by`` (e.g. ``category``), every slice needs ``min_per_slice`` rows:
    smaller slices are flagged and warn. The metric ``examples`` is the overall count (lower is worse).

    In batches (:mod:`playbook_lib.checks.batch`): each batch stores its rows' slice keys; the global step counts
    them per slice in the feature store and flags the rows of the small slices.
    """

    name = "quantity"
    metric = "examples"
    direction = "below"
    metric_range = (0.0, float("inf"))  # a count of rows

    def __init__(
        self,
        method: str = "peft",
        by: str | None = None,
        min_per_slice: int = 20,
        warn: float | None = None,
        fail: float | None = None,
    ) -> None:
        if method not in METHOD_MINIMUMS:
            raise UsageError(f"unknown quantity method {method!r}; valid: {', '.join(METHOD_MINIMUMS)}")
        default_fail, default_warn = METHOD_MINIMUMS[method]
        super().__init__(default_warn if warn is None else warn, default_fail if fail is None else fail)
        self.require(min_per_slice >= 1, f"min_per_slice must be at least 1, got {min_per_slice}")
        self.method = method
        self.by = by
        self.min_per_slice = min_per_slice

    tables = ("slices",)

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """Every row's slice key (``by``'s value as text, ``(none)`` when missing); no rows without ``by``."""
        if not self.by:
            return {"slices": pa.table({"row": [], "key": []}, schema=_SLICES)}
        if self.by not in records.columns:
            raise UsageError(f"quantity: unknown slice field {self.by!r}")
        keys = records[self.by].fillna("(none)").astype(str).tolist()
        return {"slices": pa.table({"row": row_numbers(records), "key": keys}, schema=_SLICES)}

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        flags = np.zeros(n, bool)
        summary: dict[str, object] = {
            "examples": n,
            "method": self.method,
            "warn_below": self.warn,
            "fail_below": self.fail,
        }
        outcomes = [self.grade(n)]
        detail = f"{n} examples for {self.method}"
        if self.by:
            table = self.table("slices")
            counts = store.query(f'SELECT key, count(*) AS n FROM "{table}" GROUP BY key')
            sizes = dict(sorted(zip(counts["key"].tolist(), counts["n"].tolist())))
            small = sorted(k for k, v in sizes.items() if v < self.min_per_slice)
            if small:
                flags[store.query(f'SELECT row FROM "{table}" WHERE list_contains(?, key)', [small])["row"]] = True
            summary.update({"slices": {str(k): int(v) for k, v in sizes.items()}, "small_slices": small})
            if small:
                outcomes.append(Outcome.WARN)
                detail += f"; {len(small)} slices under {self.min_per_slice}: {', '.join(small[:5])}"
        return self.result(flags, flags.astype(float), summary, [], detail, outcome=worst(outcomes))


_SLICES = pa.schema([("row", pa.int64()), ("key", pa.string())])
