"""The coverage check: a slice missing from training and a skewed mix are found; a matching mix passes."""

from __future__ import annotations

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.relevance import CoverageCheck, js_divergence
from playbook_lib.data import records_from_rows


def rows(mix: dict[str, int]) -> list[dict]:
    return [{"instruction": f"{c} {i}", "output": "x", "category": c} for c, k in mix.items() for i in range(k)]


def test_js_divergence_bounds() -> None:
    assert js_divergence({"a": 1.0}, {"a": 1.0}) == 0.0
    assert js_divergence({"a": 1.0}, {"b": 1.0}) == 1.0


def test_matching_mix_passes_and_no_traffic_is_not_evaluated() -> None:
    train = records_from_rows(rows({"billing": 50, "repair": 50}))
    traffic = records_from_rows(rows({"billing": 9, "repair": 11}))
    assert CoverageCheck().run(train, CheckContext(traffic=traffic)).outcome is Outcome.PASS
    assert CoverageCheck().run(train, CheckContext()).outcome is Outcome.NOT_EVALUATED


def test_missing_and_under_covered_slices_are_found() -> None:
    train = records_from_rows(rows({"billing": 90, "repair": 10}))
    traffic = records_from_rows(rows({"billing": 10, "repair": 10, "returns": 10}))
    result = CoverageCheck().run(train, CheckContext(traffic=traffic))
    assert result.summary["missing_slices"] == ["returns"] and result.summary["under_covered"] == ["repair"]
    assert result.outcome is Outcome.FAIL and result.summary["js_divergence"] > 0.3
