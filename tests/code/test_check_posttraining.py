"""Post-training validators: SFT pairs, preference pairs and length bias, issue found and clean data passes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from playbook_lib import sample_data
from playbook_lib.checklist.parse import parse_checklist_text
from playbook_lib.checklist.run import run_checklist
from playbook_lib.checks import REGISTRY, CheckContext, get_check
from playbook_lib.checks.posttraining import repeats_prompt
from playbook_lib.data import load_records, records_from_rows
from playbook_lib.errors import UsageError

PREF = sample_data.path("preference_sample.jsonl")
CHAT = sample_data.path("sft_chat_sample.jsonl")


def planted_lines(path: Path, key: str) -> set[int]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    return {
        i + 1
        for i, r in enumerate(rows)
        if str(r.get(key, "")).startswith("planted") or (key == "planted" and "planted" in r)
    }


def run(name: str, records, **kwargs):  # type: ignore[no-untyped-def]
    return get_check(name)(**kwargs).run(records, CheckContext())


def test_registered_with_the_dataset_checks() -> None:
    assert {"sft_pairs", "preference_pairs", "length_bias"} <= set(REGISTRY)


def test_preference_sample_flags_exactly_the_planted_rows() -> None:
    records = load_records(PREF)
    result = run("preference_pairs", records)
    flagged = set(records["line"][result.flags])
    assert flagged == planted_lines(PREF, "source")
    assert result.outcome.value == "fail"
    problems = result.summary["problems"]
    for kind in (
        "chosen identical to rejected",
        "empty chosen",
        "empty rejected",
        "missing prompt",
        "chosen repeats the prompt",
    ):
        assert problems.get(kind), kind
    assert sum(v for k, v in problems.items() if k.startswith("prompt mismatch")) == 2


def test_sft_chat_sample_flags_exactly_the_planted_rows() -> None:
    records = load_records(CHAT)
    result = run("sft_pairs", records)
    assert set(records["line"][result.flags]) == planted_lines(CHAT, "planted")
    assert any("unknown chat role" in k for k in result.summary["problems"])


def test_clean_pairs_pass() -> None:
    rows = [
        {
            "prompt": f"Question {i} about the Wren-3?",
            "chosen": f"Answer {i}: rinse the probe " + "x " * (i % 3),
            "rejected": f"Answer {i}: do not " + "y " * ((i + 1) % 3),
        }
        for i in range(20)
    ]
    records = records_from_rows(rows)
    assert run("preference_pairs", records).outcome.value == "pass"
    sft = records_from_rows(
        [{"instruction": f"Explain step {i}.", "output": f"Step {i} means calibrating first."} for i in range(5)]
    )
    assert run("sft_pairs", sft).outcome.value == "pass"


def test_length_bias_is_the_share_of_longer_chosen() -> None:
    biased = records_from_rows(
        [{"prompt": f"q{i}", "chosen": "long answer " * (3 + i % 4), "rejected": "short"} for i in range(20)]
    )
    r = run("length_bias", biased)
    assert r.summary["longer_chosen_rate"] == 1.0 and r.outcome.value == "fail"
    assert r.flags.sum() == r.summary["much_longer"] > 0
    balanced = records_from_rows(
        [
            {"prompt": f"q{i}", "chosen": "a b c" if i % 2 else "a", "rejected": "a" if i % 2 else "a b c"}
            for i in range(20)
        ]
    )
    r = run("length_bias", balanced)
    assert r.summary["longer_chosen_rate"] == pytest.approx(0.5) and r.outcome.value == "pass"
    few = records_from_rows([{"prompt": "q", "chosen": "a b", "rejected": "a"}] * 3)
    assert run("length_bias", few).outcome.value == "not_evaluated"
    sample = run("length_bias", load_records(PREF))
    assert 0.5 < sample.summary["longer_chosen_rate"] < 1.0


def test_repeats_prompt() -> None:
    assert repeats_prompt("What is E17?", "what is  E17?")
    assert repeats_prompt("What is E17?", "What is E17? It is")  # two new tokens < 3
    assert not repeats_prompt("What is E17?", "What is E17? It is a damaged membrane.")
    assert not repeats_prompt("", "anything") and not repeats_prompt("q", None)


def _repeats_plainly(prompt: str, response: str, min_new_tokens: int = 3) -> bool:
    """repeats_prompt's definition, without its shortcut on the first characters."""
    p, r = " ".join(prompt.split()).casefold(), " ".join(response.split()).casefold()
    return bool(p) and (r == p or (r.startswith(p) and len(r[len(p) :].split()) < min_new_tokens))


@pytest.mark.parametrize(
    "prompt",
    ["What is E17?", "  \u2003what is e17?", "\u00dfa b", "SSa b", "\u0130x", "\u03a3\u03b1", "\t\n", "\ufb03 x"],
)
@pytest.mark.parametrize(
    "response",
    ["what is  E17?", "\u00a0WHAT IS E17? It is", "ssa b c", "\u00dfA B", "i\u0307x y", "\u03c3\u03b1", " ", "ffi x"],
)
def test_repeats_prompt_shortcut_never_changes_the_answer(prompt: str, response: str) -> None:
    assert repeats_prompt(prompt, response) == _repeats_plainly(prompt, response)
    assert repeats_prompt(prompt, prompt + " a") == _repeats_plainly(prompt, prompt + " a")


def test_checklist_yaml_and_bad_options() -> None:
    spec = parse_checklist_text(
        "name: pt\nitems:\n  - {id: p, title: pairs, check: preference_pairs}\n"
        "  - {id: l, title: length, check: length_bias, ratio: 3.0, warn: 0.6}\n"
    )
    report = run_checklist(spec, load_records(PREF))
    assert [r.result.outcome.value for r in report.items] == ["fail", "warn"]
    with pytest.raises(UsageError, match="ratio must be > 1"):
        parse_checklist_text("name: pt\nitems:\n  - {id: l, title: length, check: length_bias, ratio: 0.5}\n")
    assert np.all(report.items[0].result.scores[report.items[0].result.flags] > 0)
