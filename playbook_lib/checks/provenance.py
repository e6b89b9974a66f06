"""Provenance: the share of synthetic, human and mixed examples, and rows without a provenance tag.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Provenance tags
and policy".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from playbook_lib.checks.base import Check, CheckContext, CheckResult, Outcome, worst
from playbook_lib.checks.registry import register
from playbook_lib.text.normal import snippet

VALUES = ("human", "synthetic", "mixed")


@register
class ProvenanceCheck(Check):
    """Warn or fail above a synthetic share (metric ``synthetic_share``, counting ``mixed`` as half); rows whose
    ``provenance`` is missing or not one of human/synthetic/mixed are flagged, and a missing share above
    ``max_untagged`` warns (above ``fail_untagged`` fails). Not evaluated when no row carries a tag.
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

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        raw = [v if isinstance(v, str) else "" for v in records["provenance"].tolist()]
        tags = [v.strip().lower() for v in raw]  # examples quote the raw value, masked before any lower-casing
        counts = {v: tags.count(v) for v in VALUES}
        flags = np.array([t not in VALUES for t in tags], bool)
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
        # masked: a provenance column can hold anything
        examples = [
            {"line": int(records["line"].iloc[i]), "reason": f"provenance {snippet(raw[i], 80) or 'missing'!r}"}
            for i in np.flatnonzero(flags)[:5]
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
