"""The coverage check: a slice missing from training and a skewed mix are found; a matching mix passes. Slices may
be record fields or styles derived from the text (instruction style, input style, instruction length)."""

from __future__ import annotations

import pytest

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.relevance import CoverageCheck, js_divergence
from playbook_lib.checks.slices import input_style, instruction_style, length_bucket
from playbook_lib.data import records_from_rows
from playbook_lib.errors import UsageError


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


def test_instruction_and_input_styles_are_derived() -> None:
    assert instruction_style("How do I calibrate the probe") == "question"
    assert instruction_style("The meter shows E20, is that bad?") == "question"
    assert instruction_style("Please explain error E20.") == "imperative"
    assert instruction_style("Write a haiku about rivers") == "imperative"
    assert instruction_style("warranty HG-340 json") == "keywords"
    assert instruction_style("My meter shows E20 after the update and the logger stopped.") == "other"
    assert (
        instruction_style(
            "hi",
            [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "and?"},
            ],
        )
        == "chat"
    )
    assert instruction_style(None) == instruction_style("  ") == "none"
    assert input_style("") == input_style(None) == "none"
    assert input_style('{"model": "HG-340"}') == "json"
    assert input_style("def f(x):\n    return x") == "code" and input_style("```\nls -la\n```") == "code"
    assert input_style("The probe drifts by 2 % a week.") == "text"
    assert [length_bucket(t) for t in ("a b c", " ".join("w" * 20), " ".join("w" * 31), "")] == [
        "short",
        "medium",
        "long",
        "none",
    ]


def test_coverage_by_instruction_style_finds_keyword_traffic_missing_from_training() -> None:
    train = records_from_rows(
        [{"instruction": f"How do I clean probe {i}?", "output": "x"} for i in range(10)]
        + [{"instruction": f"Explain error E{i}.", "output": "x"} for i in range(10)]
    )
    traffic = records_from_rows(
        [{"instruction": f"how do I reset meter {i}?"} for i in range(5)]
        + [{"instruction": f"Describe error E{i}."} for i in range(5)]
        + [{"instruction": f"E{i} error fix"} for i in range(5)]
    )
    result = CoverageCheck(by="instruction_style").run(train, CheckContext(traffic=traffic))
    assert result.summary["missing_slices"] == ["keywords"] and result.outcome is Outcome.FAIL
    same = CoverageCheck(by="instruction_style").run(
        train,
        CheckContext(
            traffic=records_from_rows([{"instruction": "Why does it beep?"}, {"instruction": "List the error codes."}])
        ),
    )
    assert same.outcome is Outcome.PASS and same.summary["slices"]["question"] == {"train": 0.5, "traffic": 0.5}
    inputs = CoverageCheck(by="input_style").run(
        train, CheckContext(traffic=records_from_rows([{"instruction": "Fix this", "input": '{"a": 1}'}]))
    )
    assert inputs.summary["missing_slices"] == ["json"]
    with pytest.raises(UsageError, match="derived slices: input_style, instruction_length, instruction_style"):
        CoverageCheck(by="tone").run(train, CheckContext(traffic=traffic))
