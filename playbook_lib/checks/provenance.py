"""Provenance: the share of synthetic, human and mixed examples, and rows without a provenance tag.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Provenance tags
and policy".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import CheckContext, CheckResult, Outcome, worst
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.registry import register
from playbook_lib.text.normal import snippet

VALUES = ("human", "synthetic", "mixed")


@register
class ProvenanceCheck(BatchCheck):
    """Warn or fail above a synthetic share (metric ``synthetic_share``, counting ``mixed`` as half); rows whose
    ``provenance`` is missing or not one of human/synthetic/mixed are flagged, and a missing share above
    ``max_untagged`` warns (above ``fail_untagged`` fails). Not evaluated when no row carries a tag.

    In batches (:mod:`playbook_lib.checks.batch`): each batch stores its count of each tag and its untagged rows;
    the global step adds the counts up and reads back the first untagged rows for the examples.
    """

    name = "provenance"
    metric = "synthetic_share"

    def __init__(
        self, max_untagged: float = 0.0, fail_untagged: float = 0.5, warn: float | None = 0.5, fail: float | None = 0.9
    ) -> None:
        super().__init__(warn, fail)
        self.require(0 <= max_untagged <= 1 and 0 <= fail_untagged <= 1, "untagged shares must be in [0, 1]")
        self.max_untagged = max_untagged
        self.fail_untagged = fail_untagged

    tables = ("tags", "untagged")

    @staticmethod
    def _raw(records: pd.DataFrame) -> list[str]:
        """The rows' provenance values as text (``""`` when missing or not text)."""
        return [v if isinstance(v, str) else "" for v in records["provenance"].tolist()]

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """The batch's count of each tag, and its rows without one of them."""
        tags = [v.strip().lower() for v in self._raw(records)]
        untagged = np.array([t not in VALUES for t in tags], bool)
        return {
            "tags": pa.table({"tag": list(VALUES), "rows": [tags.count(v) for v in VALUES]}, schema=_TAGS),
            "untagged": pa.table({"row": row_numbers(records)[untagged]}, schema=_UNTAGGED),
        }

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        found = store.query(f'SELECT tag, sum("rows")::BIGINT AS n FROM "{self.table("tags")}" GROUP BY tag')
        totals = dict(zip(found["tag"].tolist(), found["n"].tolist()))
        counts = {v: int(totals.get(v, 0)) for v in VALUES}
        untagged_rows = store.query(f'SELECT row FROM "{self.table("untagged")}" ORDER BY row')["row"]
        flags = np.zeros(n, bool)
        flags[untagged_rows] = True
        tagged = n - int(flags.sum())
        if tagged == 0:
            return self.not_evaluated(n, "no row has a provenance tag (human, synthetic or mixed)")
        share = (counts["synthetic"] + 0.5 * counts["mixed"]) / tagged
        untagged = float(flags.mean())
        summary = {
            "rows": n,
            **counts,
            "untagged": int(flags.sum()),
            "untagged_share": untagged,
            "synthetic_share": share,
        }
        tag_outcome = (
            Outcome.FAIL
            if untagged > self.fail_untagged
            else Outcome.WARN
            if untagged > self.max_untagged
            else Outcome.PASS
        )
        outcome = worst([self.grade(share), tag_outcome])
        shown = rows.take(untagged_rows[:5])
        # masked: a provenance column can hold anything
        examples = [
            {"line": int(line), "reason": f"provenance {snippet(raw, 80) or 'missing'!r}"}
            for line, raw in zip(shown["line"].tolist(), self._raw(shown))
        ]
        return self.result(
            flags,
            flags.astype(float),
            summary,
            examples,
            f"human {counts['human']}, synthetic {counts['synthetic']}, mixed {counts['mixed']}, "
            f"untagged {int(flags.sum())}",
            outcome=outcome,
        )


_TAGS = pa.schema([("tag", pa.string()), ("rows", pa.int64())])
_UNTAGGED = pa.schema([("row", pa.int64())])
