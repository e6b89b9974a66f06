"""Bad-input suite, class 8 of issue 12: no leak missed by default.

The contamination item of ``checklists/dataset_readiness.yaml``, as shipped, compares whole examples: an eval
answer copied into a training response, an eval question quoted in a training answer and an eval input pasted into
one are caught and the overlapping fields named (``eval field->train field``), next to the prompt leaks it always
caught; clean and merely templated data are not flagged. The vectorised pass equals the plain-Python one, field
pairs included. Every input is generated here, in ``tmp_path``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import yaml

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.contamination import ContaminationCheck, overlap, overlap_plain
from playbook_lib.data import records_from_rows
from playbook_lib.errors import ExitCode
from tests.cli import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[2]
rng = random.Random(8)
VOCAB = [f"w{i}" for i in range(3000)]


def words(k: int) -> str:
    """``k`` words that no other call shares a 13-gram with (3,000-word vocabulary, seeded)."""
    return " ".join(rng.sample(VOCAB, k))


TRAIN = [{"instruction": f"Train question {i}: {words(15)}?", "output": f"{words(30)}."} for i in range(30)]
EVAL = [
    {"instruction": f"Eval question {i}: {words(16)}?", "input": words(14) if i == 5 else "", "output": f"{words(25)}."}
    for i in range(10)
]


def default_item_checklist(folder: Path) -> Path:
    """The shipped checklist's contamination item alone (its defaults exactly as shipped), as a checklist file."""
    spec = yaml.safe_load((ROOT / "checklists" / "dataset_readiness.yaml").read_text(encoding="utf-8"))
    item = next(i for i in spec["items"] if i["check"] == "contamination")
    path = folder / "contamination.yaml"
    path.write_text(yaml.safe_dump({"name": "contamination_only", "items": [item]}), encoding="utf-8")
    return path


def run_item(folder: Path, train: list[dict], evals: list[dict]) -> dict:
    """Run the default contamination item through the CLI; return its JSON report entry."""
    data, eval_path, report = folder / "train.jsonl", folder / "eval.jsonl", folder / "report.json"
    data.write_text("".join(json.dumps(r) + "\n" for r in train), encoding="utf-8")
    eval_path.write_text("".join(json.dumps(r) + "\n" for r in evals), encoding="utf-8")
    result = run_cli(
        "check", default_item_checklist(folder), "--data", data, "--eval", eval_path, "--json", report, "-q"
    )
    assert result.code in (ExitCode.OK, ExitCode.FAIL), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    (item,) = json.loads(report.read_text(encoding="utf-8"))["items"]
    assert (result.code == ExitCode.FAIL) == (item["outcome"] == "fail")
    return item


def test_an_eval_answer_copied_into_a_training_response_is_caught_by_default(tmp_path: Path) -> None:
    """Four leaks of four kinds, one clean training set: each is flagged, on its own line, naming its fields."""
    leaks = [
        {"instruction": "Summarise the procedure for me", "output": EVAL[3]["output"]},  # answer copied
        {"instruction": "Rephrased: " + EVAL[7]["instruction"].split(": ", 1)[1].upper(), "output": words(30)},
        {"instruction": "What did the old FAQ say?", "output": f"It asked: {EVAL[1]['instruction']} {words(5)}"},
        {"instruction": "Use this context", "output": f"Context was {EVAL[5]['input']} and {words(20)}."},
    ]
    item = run_item(tmp_path, TRAIN + leaks, EVAL)
    assert item["outcome"] == "fail"
    assert item["flagged_lines"] == [31, 32, 33, 34]
    fields = {e["line"]: e["fields"] for e in item["examples"]}
    assert fields == {
        31: "output->output",
        32: "instruction->instruction",
        33: "instruction->output",
        34: "input->output",
    }
    assert item["summary"]["by_fields"] == {
        "output->output": 1,
        "instruction->instruction": 1,
        "instruction->output": 1,
        "input->output": 1,
    }
    assert item["summary"]["fields"] == ["instruction", "input", "output"]
    assert item["summary"]["eval_rows_contaminated"] == 4 and item["summary"]["contaminated_rate"] == 0.4
    assert {e["eval_line"] for e in item["examples"]} == {2, 4, 6, 8}
    assert "output->output 1" in item["message"] and "input->output 1" in item["message"]


def test_a_prompt_only_leak_and_an_exact_copy_are_still_caught(tmp_path: Path) -> None:
    exact = dict(EVAL[2], output="a different answer of its own")
    quoted = {
        "instruction": "Asked before: " + " ".join(EVAL[4]["instruction"].split()[3:16]) + " - again?",
        "output": words(20),
    }
    item = run_item(tmp_path, TRAIN + [exact, quoted], EVAL)
    assert item["outcome"] == "fail" and item["flagged_lines"] == [31, 32]
    reasons = {e["line"]: (e["reason"], e["fields"]) for e in item["examples"]}
    assert reasons == {
        31: ("exact copy", "instruction->instruction"),
        32: ("1 shared 13-grams", "instruction->instruction"),
    }
    assert item["summary"]["exact_copies"] == 1


def test_a_clean_pair_is_not_flagged(tmp_path: Path) -> None:
    item = run_item(tmp_path, TRAIN, EVAL)
    assert item["outcome"] == "pass" and item["flagged_lines"] == []
    assert item["summary"]["by_fields"] == {} and item["summary"]["eval_rows_contaminated"] == 0


def test_templated_answers_are_not_leaks_but_copied_ones_are() -> None:
    """Support answers assembled from shared sentences: one 14-word boilerplate sentence in a 60-word answer is a
    template, not a leak (it is caught when ``min_containment`` is 0 and no n-gram is boilerplate: the sentence is in
    all 20 training rows, above the default ``max_ngram_rows`` of 10); an answer that is mostly one eval answer is a
    leak."""
    boiler = "If the display shows error E20 repeat the step once before calling the support team."
    train = [
        {"instruction": f"Train {i}: {words(14)}?", "output": f"{words(20)}. {boiler} {words(25)}."} for i in range(20)
    ]
    evals = [
        {"instruction": f"Eval {i}: {words(14)}?", "output": f"{words(20)}. {boiler} {words(25)}."} for i in range(5)
    ]
    context = CheckContext(eval=records_from_rows(evals))
    clean = ContaminationCheck().run(records_from_rows(train), context)
    assert clean.outcome is Outcome.PASS and not clean.flags.any()
    assert not ContaminationCheck(min_containment=0).run(records_from_rows(train), context).flags.any()
    strict = ContaminationCheck(min_containment=0, max_ngram_rows=None).run(records_from_rows(train), context)
    assert strict.flags.all() and strict.summary["by_fields"] == {"output->output": 20}
    # all but the last 8 of the eval answer's 60 words: 13 of its 21 counted 13-grams (those clear of the boilerplate
    # sentence), above half; its first 40 words alone hold 8 of 21, below half, once the sentence is boilerplate
    most = evals[2]["output"].split()
    leaked = train + [{"instruction": "Explain", "output": " ".join(most[:-8]) + " " + words(10)}]
    found = ContaminationCheck().run(records_from_rows(leaked), context)
    assert found.flags.tolist() == [False] * 20 + [True]
    assert found.examples[0]["fields"] == "output->output" and found.examples[0]["eval_line"] == 3
    assert (found.examples[0]["shared_ngrams"], found.examples[0]["eval_ngrams"]) == (13, 21)
    assert found.examples[0]["boilerplate_ngrams"] == 3 and found.examples[0]["boilerplate"] == [boiler.lower()[:-1]]


def test_chat_rows_are_compared_by_their_turns() -> None:
    """A chat eval whose assistant answer reappears in a training chat: the record model carries the user turns as
    ``instruction`` and the last assistant turn as ``output``, so the default fields cover chat data."""
    answer = words(30)
    evals = [
        {"messages": [{"role": "user", "content": words(8)}, {"role": "assistant", "content": answer}]},
        {"messages": [{"role": "user", "content": words(8)}, {"role": "assistant", "content": words(30)}]},
    ]
    train = [
        {"messages": [{"role": "user", "content": words(9)}, {"role": "assistant", "content": words(30)}]},
        {"messages": [{"role": "user", "content": words(9)}, {"role": "assistant", "content": answer + " ok"}]},
    ]
    result = ContaminationCheck().run(records_from_rows(train), CheckContext(eval=records_from_rows(evals)))
    assert result.flags.tolist() == [False, True]
    assert result.summary["by_fields"] == {"output->output": 1}
    with_turns = ContaminationCheck(fields=["messages"]).run(
        records_from_rows(train), CheckContext(eval=records_from_rows(evals))
    )
    assert with_turns.flags.tolist() == [False, True] and with_turns.summary["by_fields"] == {"messages->messages": 1}


def test_hostile_field_values_are_compared_as_no_text() -> None:
    """Numbers, objects, lists of non-turns and missing values in compared fields are no text, not a crash."""
    answer = words(20)
    train = [
        {"instruction": "a", "output": 5},
        {"instruction": {"x": 1}, "output": [1, {"content": 2}]},
        {"instruction": "b", "output": None},
        {"instruction": "c", "output": answer},
    ]
    evals = [{"instruction": ["not", "text"], "output": answer}, {"instruction": 3.5, "output": {"a": answer}}]
    result = ContaminationCheck().run(records_from_rows(train), CheckContext(eval=records_from_rows(evals)))
    assert result.flags.tolist() == [False, False, False, True]


@pytest.mark.parametrize(
    "option, fragment",
    [
        ("fields: [instruction, answer]", "unknown field 'answer'"),
        ("fields: output", "contamination.fields must be"),
        ("fields: [output, output]", "lists a field twice"),
        ("exact_fields: [label]", "unknown field 'label'"),
        ("min_containment: 2", "min_containment must be a number in [0, 1]"),
        ("min_containment: yes", "contamination.min_containment must be"),
        ("ngram: 0", "ngram must be an integer of at least 1"),
        ("min_prompt_containment: -0.1", "min_prompt_containment must be a number in [0, 1]"),
        ("max_ngram_rows: 0", "max_ngram_rows must be a count of training rows"),
        ("max_ngram_rows: 1.5", "max_ngram_rows must be a count of training rows"),
        ("max_ngram_rows: many", "contamination.max_ngram_rows must be"),
    ],
)
def test_bad_contamination_options_are_one_line_usage_errors(tmp_path: Path, option: str, fragment: str) -> None:
    checklist = tmp_path / "c.yaml"
    checklist.write_text(
        f"name: c\nitems:\n  - id: c\n    title: c\n    check: contamination\n    {option}\n", encoding="utf-8"
    )
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps(TRAIN[0]) + "\n", encoding="utf-8")
    result = run_cli("check", checklist, "--data", data, "--eval", data, "-q")
    assert_one_line_error(result, ExitCode.USAGE, fragment)


def test_the_vectorised_pass_equals_the_plain_one_with_field_pairs() -> None:
    """Random texts over a small vocabulary (so n-grams repeat within and across rows) with planted copies and
    quotes: flags, scores, shared counts, first eval rows, eval rows hit and every (train, eval, shared) pair agree,
    with and without the exact-copy pass."""
    r = random.Random(3)
    vocab = [f"v{i}" for i in range(40)]
    evals = [" ".join(r.choice(vocab) for _ in range(r.randint(0, 30))) for _ in range(60)]
    evals += [evals[0] + " " + evals[0], ""]
    train = [" ".join(r.choice(vocab) for _ in range(r.randint(0, 30))) for _ in range(300)]
    train += [evals[3].upper(), "x " + evals[7] + " y", evals[10][: len(evals[10]) // 2], "  "]
    for n in (1, 2, 13):
        for exact in (True, False):
            fast, plain = overlap(train, evals, n, exact=exact, pairs=True), overlap_plain(train, evals, n, exact, True)
            assert np.array_equal(fast.flags, plain.flags) and np.allclose(fast.scores, plain.scores)
            assert np.array_equal(fast.exact, plain.exact) and np.array_equal(fast.shared, plain.shared)
            assert np.array_equal(fast.first_eval, plain.first_eval) and fast.hit_eval == plain.hit_eval
            assert np.array_equal(fast.distinct, plain.distinct)
            assert np.array_equal(fast.eval_distinct, plain.eval_distinct)
            assert fast.pairs is not None and plain.pairs is not None
            for a, b in zip(fast.pairs, plain.pairs):
                assert np.array_equal(a, b), (n, exact)
            if n == 2:
                assert fast.pairs[0].size > 100
