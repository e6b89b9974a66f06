"""Shared by the batch-contract tests: run a check whole and in batches, and compare every part of the result."""

from __future__ import annotations

import numpy as np
import pandas as pd

from playbook_lib.checks import CheckContext, CheckResult
from playbook_lib.checks.batch import BatchCheck, FeatureStore, FrameRows, run_batched


def batches(records: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    """``records`` cut into batches of ``size`` rows, each indexed by its global row numbers."""
    out = []
    for lo in range(0, len(records), size):
        part = records.iloc[lo : lo + size].copy()
        part.index = pd.RangeIndex(lo, lo + len(part))
        out.append(part)
    return out


def run_in_batches(
    check: BatchCheck, records: pd.DataFrame, size: int, context: CheckContext | None = None, spill: bool = False
) -> CheckResult:
    """``check`` over ``records`` in batches of ``size`` rows (a spilling store with a small memory limit when
    ``spill``)."""
    with FeatureStore(memory_limit="256MB" if spill else None) as store:
        return run_batched(check, batches(records, size), FrameRows(records), context or CheckContext(), store)


def assert_same(whole: CheckResult, batched: CheckResult) -> None:
    """Every part of two results is equal: outcome, message, flags, scores, summary, examples, details."""
    assert batched.outcome == whole.outcome
    assert batched.message == whole.message
    np.testing.assert_array_equal(batched.flags, whole.flags)
    np.testing.assert_array_equal(batched.scores, whole.scores)
    assert batched.to_dict() == whole.to_dict()
    assert batched.examples == whole.examples
    assert batched.details == whole.details
