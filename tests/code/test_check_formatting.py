"""The formatting check: planted problems are found; clean data passes."""

from __future__ import annotations

import numpy as np

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.formatting import FormattingCheck
from playbook_lib.data import records_from_rows

CLEAN = [
    {"instruction": f"Explain step {i} of calibrating the meter", "output": f"Step {i}: rinse, dip and wait."}
    for i in range(20)
]


def test_clean_data_passes() -> None:
    result = FormattingCheck().run(records_from_rows(CLEAN), CheckContext())
    assert result.outcome is Outcome.PASS and not result.flags.any()
    assert result.summary["flagged_rate"] == 0.0


def test_planted_problems_are_each_found() -> None:
    bad = [
        {"instruction": "Empty answer", "output": "   "},
        {"instruction": "No output at all"},
        {"instruction": 42, "output": "a number as instruction"},
        {"instruction": "Bell\x07 character", "output": "ok"},
        {"instruction": "Mojibake", "output": "cafÃ© au lait"},
        {"instruction": "Give JSON", "output": "{not json}", "category": "json"},
        {"messages": [{"role": "assistant", "content": "I start"}, {"role": "user", "content": "wrong order"}]},
        {"instruction": "Very long", "output": "word " * 5000},
    ]
    records = records_from_rows(CLEAN + bad)
    result = FormattingCheck(json_categories=["json"]).run(records, CheckContext())
    assert result.flags[:20].sum() == 0
    assert result.flags[20:].all(), [e["reason"] for e in result.examples]
    problems = result.summary["problems"]
    for kind in (
        "empty output",
        "missing output",
        "instruction is int, expected text",
        "control character in instruction",
        "mojibake in output",
        "output is not valid JSON",
        "chat does not start with a user turn",
        "length outlier",
    ):
        assert kind in problems, (kind, problems)
    assert result.outcome is Outcome.FAIL and 0 < result.scores.max() <= 1


def test_sharegpt_conversations_are_read_as_chat() -> None:
    rows = [
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}]},
        {"conversations": [{"from": "gpt", "value": "I speak first"}]},
        {"messages": "not a list"},
    ]
    records = records_from_rows(rows)
    assert records["instruction"][0] == "Hi" and records["output"][0] == "Hello!"
    result = FormattingCheck().run(records, CheckContext())
    assert result.flags.tolist() == [False, True, True]


def test_thresholds_turn_a_small_rate_into_a_warning() -> None:
    records = records_from_rows(CLEAN + [{"instruction": "x", "output": ""}])
    assert FormattingCheck(warn=0.0, fail=0.5).run(records, CheckContext()).outcome is Outcome.WARN


def test_empty_chat_turns_are_flagged_and_valid_chat_passes() -> None:
    """An empty (or whitespace-only) assistant or user turn is a formatting problem; the bundled chat sample, an
    empty system prompt and a multi-turn chat are not."""
    from playbook_lib import sample_data
    from playbook_lib.data import load_records

    chat = load_records(sample_data.path("sft_chat_sample.jsonl"))
    found = FormattingCheck().run(chat, CheckContext())
    planted = np.array([r.get("planted") for r in chat["raw"]], dtype=object)
    structural = np.array([p is not None and p != "response repeats the prompt" for p in planted])
    assert found.flags.tolist() == structural.tolist(), found.examples
    empty_line = int(chat["line"][planted == "empty response"].iloc[0])
    assert {"line": empty_line, "reason": "empty assistant turn"}.items() <= next(
        e for e in found.examples if e["line"] == empty_line
    ).items()
    good = [
        {
            "messages": [
                {"role": "system", "content": ""},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Bye"},
                {"role": "assistant", "content": "Bye!"},
            ]
        },
    ]
    bad = [
        {"messages": [{"role": "user", "content": "What does E17 mean?"}, {"role": "assistant", "content": ""}]},
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "More?"},
                {"role": "assistant", "content": " \n "},
            ]
        },
        {"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "Hello!"}]},
    ]
    result = FormattingCheck().run(records_from_rows(good + bad), CheckContext())
    assert result.flags.tolist() == [False, False, True, True, True], result.examples
    assert result.summary["problems"] == {"empty assistant turn": 2, "empty user turn": 1}
