"""The default checklist as a gate: optional inputs that are absent are "not evaluated" with the line that says how to
supply them, --strict turns that into a failure, --validation / --licence supply them, and the data's shape picks
the post-training items that run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playbook_lib.checklist.parse import parse_checklist_text
from playbook_lib.checklist.run import exit_code, run_checklist
from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.data import records_from_rows
from playbook_lib.data.shape import Shape, detect_shape
from playbook_lib.errors import ExitCode
from tests.cli import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "checklists" / "dataset_readiness.yaml"


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("row", "shape"),
    [
        ({"instruction": "q", "output": "a"}, Shape.SFT),
        ({"question": "q", "answer": "a"}, Shape.SFT),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}, Shape.CHAT),
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}, Shape.SHAREGPT),
        ({"prompt": "q", "chosen": "a", "rejected": "b"}, Shape.PREFERENCE),
        ({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}, Shape.PREFERENCE),
        ({"note": "nothing a model could learn from"}, Shape.UNKNOWN),
    ],
)
def test_shape_is_detected_from_the_fields(row: dict[str, object], shape: Shape) -> None:
    assert detect_shape(records_from_rows([row] * 3)) is shape


def test_the_shape_of_most_rows_wins() -> None:
    rows = [{"prompt": "q", "chosen": "a", "rejected": "b"}] * 5 + [{"instruction": "q", "output": "a"}] * 2
    assert detect_shape(records_from_rows(rows)) is Shape.PREFERENCE


def _preference_rows(n: int, broken: str) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        chosen = f"Answer {i}: add the numbers, then divide the total by {i + 2} to get the share."
        rejected = {"same": chosen, "empty": "", "fine": f"The share is {i}."}[broken]
        rows.append(
            {"prompt": f"Question {i}: how is the share of group {i} computed?", "chosen": chosen, "rejected": rejected}
        )
    return rows


@pytest.mark.parametrize("broken", ["same", "empty"])
def test_the_default_checklist_fails_preference_pairs_that_hold_no_choice(tmp_path: Path, broken: str) -> None:
    """A DPO file whose every pair has rejected == chosen (or an empty rejected) used to pass formatting and
    duplicates with nothing saying the preference checks exist: the default checklist runs them on preference data."""
    data = _jsonl(tmp_path / "dpo.jsonl", _preference_rows(40, broken))
    report = tmp_path / "r.json"
    result = run_cli("check", DEFAULT, "--data", data, "--json", report, "--quiet")
    assert result.code == ExitCode.FAIL, result.stderr
    items = {i["id"]: i for i in json.loads(report.read_text())["items"]}
    assert items["post_training.preference"]["outcome"] == "fail"
    assert items["post_training.sft"]["outcome"] == "not_evaluated"
    assert (
        "applies to sft or chat or sharegpt data; this dataset is preference" in items["post_training.sft"]["message"]
    )
    assert json.loads(report.read_text())["data"]["shape"] == "preference"


def test_preference_items_are_not_evaluated_on_sft_data(tmp_path: Path) -> None:
    rows = [
        {"instruction": f"Explain idea number {i} in two sentences.", "output": f"Idea {i} is this."} for i in range(40)
    ]
    data = _jsonl(tmp_path / "sft.jsonl", rows)
    report = tmp_path / "r.json"
    run_cli("check", DEFAULT, "--data", data, "--json", report, "--quiet")
    items = {i["id"]: i for i in json.loads(report.read_text())["items"]}
    for item in ("post_training.preference", "post_training.length_bias"):
        assert items[item]["outcome"] == "not_evaluated", items[item]
        assert "this dataset is sft" in items[item]["message"]
    assert items["post_training.sft"]["outcome"] == "pass"


def test_length_bias_counts_pairs_of_equal_length() -> None:
    """Equal-length pairs are comparable too (each counts one half): 40 pairs of equal length read 0.5, not "only
    0 comparable pairs"."""
    spec = parse_checklist_text("name: t\nitems:\n  - {id: l, title: length, check: length_bias}\n")
    rows = [{"prompt": f"q{i}", "chosen": f"answer one {i}", "rejected": f"answer two {i}"} for i in range(40)]
    result = run_checklist(spec, records_from_rows(rows)).items[0].result
    assert result.summary["pairs"] == 40 and result.summary["equal_length"] == 40
    assert result.summary["longer_chosen_rate"] == 0.5 and result.outcome is Outcome.PASS


def test_strict_turns_not_evaluated_into_a_failure(tmp_path: Path) -> None:
    spec = parse_checklist_text("name: t\nitems:\n  - {id: g, title: golden, check: golden_set}\n")
    report = run_checklist(spec, records_from_rows([{"instruction": "q", "output": "a"}]), CheckContext())
    assert report.items[0].result.outcome is Outcome.NOT_EVALUATED
    assert exit_code(report) == ExitCode.OK and exit_code(report, strict=True) == ExitCode.FAIL
    strict = parse_checklist_text("name: t\nstrict: true\nitems:\n  - {id: g, title: golden, check: golden_set}\n")
    assert exit_code(run_checklist(strict, records_from_rows([{"instruction": "q", "output": "a"}]))) == ExitCode.FAIL
    checklist = tmp_path / "c.yaml"
    checklist.write_text("name: t\nitems:\n  - {id: g, title: golden, check: golden_set}\n", encoding="utf-8")
    data = _jsonl(tmp_path / "d.jsonl", [{"instruction": "q", "output": "a"}])
    assert run_cli("check", checklist, "--data", data, "--quiet").code == ExitCode.OK
    assert run_cli("check", checklist, "--data", data, "--quiet", "--strict").code == ExitCode.FAIL


def test_strict_must_be_a_boolean(tmp_path: Path) -> None:
    checklist = tmp_path / "c.yaml"
    checklist.write_text("name: t\nstrict: yes please\nitems:\n  - {id: g, title: golden, check: golden_set}\n")
    result = run_cli("check", checklist, "--data", _jsonl(tmp_path / "d.jsonl", [{"instruction": "q", "output": "a"}]))
    assert_one_line_error(result, ExitCode.USAGE, "c.yaml:2: 'strict' must be true or false")


def test_validation_and_licence_options_supply_the_inputs(tmp_path: Path) -> None:
    checklist = tmp_path / "c.yaml"
    checklist.write_text(
        "name: t\nitems:\n  - {id: s, title: split, check: splits}\n  - {id: l, title: licence, check: licence}\n",
        encoding="utf-8",
    )
    train = _jsonl(tmp_path / "train.jsonl", [{"instruction": f"q{i}", "output": "a"} for i in range(20)])
    val = _jsonl(tmp_path / "val.jsonl", [{"instruction": f"v{i}", "output": "a"} for i in range(5)])
    test = _jsonl(tmp_path / "test.jsonl", [{"instruction": f"t{i}", "output": "a"} for i in range(5)])
    report = tmp_path / "r.json"
    run_cli("check", checklist, "--data", train, "--eval", test, "--json", report, "--quiet")
    items = {i["id"]: i for i in json.loads(report.read_text())["items"]}
    assert items["s"]["outcome"] == "not_evaluated"
    assert "--validation FILE" in items["s"]["message"]
    given = run_cli(
        "check", checklist, "--data", train, "--eval", test, "--validation", val, "--licence", "CC-BY-4.0",
        "--json", report, "--quiet", "--strict",
    )  # fmt: skip
    body = json.loads(report.read_text())
    items = {i["id"]: i for i in body["items"]}
    assert items["s"]["outcome"] == "pass" and items["s"]["summary"]["split_sizes"]["validation"] == 5
    assert body["data"]["validation"]["rows"] == 5 and body["data"]["licence"] == "CC-BY-4.0"
    assert given.code == ExitCode.OK, (given.stdout, items)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 201, "MIT\x1b[2J"])
def test_a_bad_licence_name_is_a_one_line_usage_error(tmp_path: Path, bad: str) -> None:
    data = _jsonl(tmp_path / "d.jsonl", [{"instruction": "q", "output": "a"}])
    result = run_cli("check", DEFAULT, "--data", data, "--licence", bad, "--quiet")
    assert_one_line_error(result, ExitCode.USAGE, "--licence must be a licence name")


def test_every_check_says_what_to_do_and_failing_messages_end_with_it() -> None:
    from playbook_lib.checks import REGISTRY
    from playbook_lib.checks.advice import ADVICE

    assert sorted(REGISTRY) == sorted(ADVICE), set(REGISTRY) ^ set(ADVICE)
    spec = parse_checklist_text("name: t\nitems:\n  - {id: x, title: exact, check: exact_duplicates, fail: 0.1}\n")
    rows = [{"instruction": "same question", "output": "same answer"}] * 4
    result = run_checklist(spec, records_from_rows(rows)).items[0].result
    assert result.outcome is Outcome.FAIL
    assert result.message.endswith("; to fix: " + ADVICE["exact_duplicates"])
    passing = run_checklist(spec, records_from_rows(rows[:1])).items[0].result
    assert passing.outcome is Outcome.PASS and "to fix" not in passing.message
