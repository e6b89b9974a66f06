"""The quantity check: too few examples for the method, and thin slices, are found; enough data passes."""

from __future__ import annotations

import pytest

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.quantity import QuantityCheck
from playbook_lib.data import records_from_rows
from playbook_lib.errors import UsageError


def rows(n: int, categories: tuple[str, ...] = ("a",)) -> list[dict]:
    return [{"instruction": f"q{i}", "output": "x", "category": categories[i % len(categories)]} for i in range(n)]


def test_method_thresholds() -> None:
    assert QuantityCheck(method="validation").run(records_from_rows(rows(120)), CheckContext()).outcome is Outcome.PASS
    assert QuantityCheck(method="validation").run(records_from_rows(rows(70)), CheckContext()).outcome is Outcome.WARN
    assert QuantityCheck(method="validation").run(records_from_rows(rows(30)), CheckContext()).outcome is Outcome.FAIL
    assert QuantityCheck(method="full").run(records_from_rows(rows(120)), CheckContext()).outcome is Outcome.FAIL
    with pytest.raises(UsageError, match="valid: validation, peft, full"):
        QuantityCheck(method="lots")


def test_thin_slice_warns() -> None:
    data = rows(1200, ("support", "billing")) + rows(5, ("legal",))
    result = QuantityCheck(method="peft", by="category", min_per_slice=20).run(records_from_rows(data), CheckContext())
    assert result.outcome is Outcome.WARN and result.summary["small_slices"] == ["legal"]
    assert result.flags.sum() == 5
