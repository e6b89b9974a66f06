"""The batch contract for the checks that compare the training rows with another set (contamination, splits,
golden_set): run in batches, they give exactly their whole-frame result.

Real data (GSM8K train and test from ../shared/data) with planted problems: test questions copied (in other case
and spacing, or split over instruction and input) and quoted into training prompts, test answers and questions
copied into training answers, a chat row quoting a test question, a sentence planted in many rows on both sides
(boilerplate), one question quoted in more rows than the boilerplate limit; rows tagged with splits (aliases, a
value holding an e-mail address) and repeated across them, a validation file overlapping train, golden rows. Cut
into batches of several sizes (the contamination check's second pass reads the rows again in batches of the same
size), with and without a spilling feature store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batching import assert_same, batches, run_in_batches

from playbook_lib.checks import CheckContext, CheckResult, get_check
from playbook_lib.checks.batch import BatchCheck, FeatureStore, FrameRows, run_batched
from playbook_lib.data import load_records, records_from_rows

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
#: A sentence planted in 30 training rows and 15 eval rows: more than the default 10 rows, so boilerplate.
BOILER = "Please read the whole question twice before you start and show every step of your working clearly."


def _gsm8k(name: str) -> pd.DataFrame:
    path = SHARED / "sft" / name
    if not path.is_file():
        pytest.skip("needs ../shared/data (see its README)")
    return load_records(path)


@pytest.fixture(scope="module")
def evals() -> pd.DataFrame:
    """300 GSM8K test rows, 15 of them ending in the boilerplate sentence, and one with a blank question."""
    test = _gsm8k("gsm8k_test.jsonl").iloc[:300]
    rows = [{"instruction": q, "output": a} for q, a in zip(test["instruction"], test["output"])]
    for k in range(0, 150, 10):
        rows[k]["instruction"] += " " + BOILER
    rows.append({"instruction": "   ", "output": "nothing asked"})
    return records_from_rows(rows)


@pytest.fixture(scope="module")
def planted(evals: pd.DataFrame) -> pd.DataFrame:
    """2,000 GSM8K train rows plus planted leaks of the eval rows, boilerplate, split tags and golden rows, in a
    seeded order."""
    base = _gsm8k("gsm8k_train.jsonl").iloc[:2000]
    rows: list[dict] = [{"instruction": q, "output": a} for q, a in zip(base["instruction"], base["output"])]
    questions, answers = evals["instruction"].tolist(), evals["output"].tolist()
    rng = np.random.default_rng(14)
    extra: list[dict] = []
    for j in (1, 4, 9, 16, 25):  # exact copies of the prompt, in other case and spacing; one split over two fields
        extra.append({"instruction": "  " + questions[j].upper().replace(" ", "  "), "output": "Copied."})
    first, _, rest = questions[36].partition(". ")
    extra.append({"instruction": first + ".", "input": rest, "output": "Split over two fields."})
    for j in (2, 7, 12, 31, 44, 57):  # 20-word quotes of test questions
        words = questions[j].split()
        extra.append({"instruction": "Consider this: " + " ".join(words[:20]) + " What then?", "output": "Maybe."})
    for j in (3, 8, 13):  # test answers copied into training answers, and a test question into an answer
        extra.append({"instruction": f"Work out problem {j} again.", "output": "Answer: " + answers[j]})
    extra.append({"instruction": "Restate the problem.", "output": "The problem: " + questions[66]})
    extra.append(
        {
            "messages": [
                {"role": "user", "content": "Solve: " + questions[77]},
                {"role": "assistant", "content": "Let me see."},
            ]
        }
    )
    quote = " ".join(questions[88].split()[:16])  # one question quoted in 12 rows: over the limit of 10
    extra += [{"instruction": f"Variant {k}: {quote} and then?", "output": f"Reply {k}."} for k in range(12)]
    for i in rng.choice(2000, 30, replace=False).tolist():
        rows[i]["instruction"] += " " + BOILER
    for k, i in enumerate(rng.choice(2000, 60, replace=False).tolist()):
        rows[i]["split"] = ["val", "dev", "test", "validation", "golden", "Eval"][k % 6]
    for k, i in enumerate(rng.choice(2000, 8, replace=False).tolist()):  # a training row again in another split
        again = rows[i]["output"].upper() if k % 2 else "again"  # half with the answer too
        extra.append({"instruction": rows[i]["instruction"].lower(), "output": again, "split": "test"})
    extra += [
        {"instruction": "Where do I send this?", "output": "x", "split": "ops@heronsgate.org"},
        {"instruction": "", "output": "no question", "category": "golden"},
        {"instruction": ["a", "list"], "output": "typed", "split": "TRAIN"},
    ]
    mixed = rows + extra
    order = rng.permutation(len(mixed))
    return records_from_rows([mixed[i] for i in order])


@pytest.fixture(scope="module")
def validation(planted: pd.DataFrame) -> pd.DataFrame:
    """A validation file: 100 other GSM8K train rows and 5 training prompts in other case."""
    other = _gsm8k("gsm8k_train.jsonl").iloc[2000:2100]
    rows = [{"instruction": q, "output": a} for q, a in zip(other["instruction"], other["output"])]
    rows += [{"instruction": q.title(), "output": "seen"} for q in planted["instruction"].iloc[100:105]]
    return records_from_rows(rows)


@pytest.fixture(scope="module")
def golden() -> pd.DataFrame:
    test = _gsm8k("gsm8k_test.jsonl").iloc[1000:1060]
    return records_from_rows([{"instruction": q, "output": a} for q, a in zip(test["instruction"], test["output"])])


class ScanRows(FrameRows):
    """A frame as the row source whose second pass reads ``size`` rows at a time, like the batches."""

    def __init__(self, records: pd.DataFrame, size: int) -> None:
        super().__init__(records)
        self.size = size

    def scan(self, batch_rows: int = 65_536) -> Iterator[pd.DataFrame]:
        return super().scan(self.size)


def batched(check: BatchCheck, records: pd.DataFrame, size: int, context: CheckContext, spill: bool = False):
    """``check`` in batches of ``size`` rows, its second pass in batches of ``size`` rows too."""
    with FeatureStore(memory_limit="256MB" if spill else None) as store:
        return run_batched(check, batches(records, size), ScanRows(records, size), context, store)


CONTAMINATION = [
    {},
    {"fields": ["instruction"]},
    {"max_ngram_rows": None},
    {"max_ngram_rows": 0.01},
    {"min_containment": 0.0, "min_prompt_containment": 0.2},
    {"exact_fields": ["instruction", "output"], "ngram": 8},
    {"fields": ["messages", "instruction"], "max_ngram_rows": 3},
]


def _contamination(whole: CheckResult, options: dict) -> None:
    """What the planted leaks make the whole-frame result hold, so the comparison compares something."""
    assert whole.flags.any() and whole.details
    assert whole.summary["eval_rows_contaminated"] >= 2
    if options.get("max_ngram_rows", 10) is not None:
        assert whole.summary["boilerplate"]["ngrams"]


@pytest.mark.parametrize("options", CONTAMINATION, ids=str)
@pytest.mark.parametrize("size", [7, 333, 5000])
def test_contamination_batched_equals_whole(planted: pd.DataFrame, evals: pd.DataFrame, options: dict, size: int):
    context = CheckContext(eval=evals)
    whole = get_check("contamination")(**options).run(planted, context)
    _contamination(whole, options)
    assert_same(whole, batched(get_check("contamination")(**options), planted, size, context))
    assert_same(whole, run_in_batches(get_check("contamination")(**options), planted, size, context))


def test_contamination_finds_each_kind_of_planted_leak(planted: pd.DataFrame, evals: pd.DataFrame) -> None:
    """The default item finds the exact copies (one split over two fields), the quotes, the copied answers and
    question, the chat row; the question quoted in 12 rows reads as boilerplate; the shared sentence is boilerplate."""
    result = get_check("contamination")().run(planted, CheckContext(eval=evals))
    s = result.summary
    assert s["exact_copies"] == 6 and s["by_fields"]["instruction->instruction"] >= 6 + 6 + 1
    assert s["by_fields"]["output->output"] == 3 and s["by_fields"]["instruction->output"] == 1
    hit = {d["eval_row"] for d in result.details.values()}
    assert {1, 4, 9, 16, 25, 36, 2, 7, 12, 31, 44, 57, 3, 8, 13, 66, 77} <= hit and 88 not in hit
    assert s["boilerplate"]["most_common"][0]["train_rows"] >= 30 and s["boilerplate"]["eval_rows_with_boilerplate"]


def test_contamination_without_an_eval_set(planted: pd.DataFrame) -> None:
    whole = get_check("contamination")().run(planted, CheckContext())
    assert not whole.flags.any() and whole.summary == {"contaminated_rate": None}
    assert_same(whole, run_in_batches(get_check("contamination")(), planted, 333))


SPLITS = [{}, {"required": ["train", "test"]}, {"fields": ["instruction", "output"]}]


@pytest.mark.parametrize("options", SPLITS, ids=str)
@pytest.mark.parametrize("size", [7, 333, 5000])
@pytest.mark.parametrize("files", [True, False], ids=["eval+validation", "no-files"])
def test_splits_batched_equals_whole(
    planted: pd.DataFrame, evals: pd.DataFrame, validation: pd.DataFrame, options: dict, size: int, files: bool
) -> None:
    context = CheckContext(eval=evals, validation=validation) if files else CheckContext()
    whole = get_check("splits")(**options).run(planted, context)
    assert whole.flags.any() and whole.examples  # rows in two splits
    assert_same(whole, run_in_batches(get_check("splits")(**options), planted, size, context))


def test_splits_find_the_planted_overlaps(planted: pd.DataFrame, evals: pd.DataFrame, validation: pd.DataFrame):
    result = get_check("splits")().run(planted, CheckContext(eval=evals, validation=validation))
    sizes = result.summary["split_sizes"]
    assert sizes["validation"] == 30 + 105 and sizes["test"] >= 10 + 8 + 301 and sizes["golden"] == 10
    assert not any("heronsgate" in name for name in sizes)  # the e-mail in a split value is masked
    assert result.summary["rows_in_several_splits"] >= 8 + 6 + 5


@pytest.mark.parametrize("size", [7, 333, 5000])
@pytest.mark.parametrize("with_file", [True, False], ids=["golden-file", "tagged-rows"])
def test_golden_set_batched_equals_whole(planted: pd.DataFrame, golden: pd.DataFrame, size: int, with_file: bool):
    context = CheckContext(golden=golden) if with_file else CheckContext()
    whole = get_check("golden_set")().run(planted, context)
    assert whole.summary["golden_examples"] == (60 if with_file else 11)
    assert_same(whole, run_in_batches(get_check("golden_set")(), planted, size, context))


def test_golden_set_without_any_is_not_evaluated_in_batches(planted: pd.DataFrame) -> None:
    untagged = planted[(planted["split"] != "golden") & (planted["category"] != "golden")].reset_index(drop=True)
    whole = get_check("golden_set")().run(untagged, CheckContext())
    assert whole.outcome.value == "not_evaluated"
    assert_same(whole, run_in_batches(get_check("golden_set")(), untagged, 333))


@pytest.mark.parametrize(
    ("name", "options"), [("contamination", {}), ("contamination", {"max_ngram_rows": 0.01}), ("splits", {})]
)
def test_one_row_batches_and_a_spilling_store(
    planted: pd.DataFrame, evals: pd.DataFrame, validation: pd.DataFrame, name: str, options: dict
) -> None:
    part = planted.iloc[:300]
    context = CheckContext(eval=evals, validation=validation)
    whole = get_check(name)(**options).run(part, context)
    assert whole.flags.any()
    assert_same(whole, batched(get_check(name)(**options), part, 1, context, spill=True))


def test_golden_set_one_row_batches_and_a_spilling_store(planted: pd.DataFrame) -> None:
    part = planted.iloc[:300]
    whole = get_check("golden_set")().run(part, CheckContext())
    assert_same(whole, run_in_batches(get_check("golden_set")(), part, 1, spill=True))


def test_a_second_finish_on_one_store_gives_the_same_result(planted: pd.DataFrame, evals: pd.DataFrame) -> None:
    """The contamination check stores its second pass in tables of its own: finishing twice gives one result."""
    check, context = get_check("contamination")(), CheckContext(eval=evals)
    with FeatureStore() as store:
        first = run_batched(check, batches(planted, 500), FrameRows(planted), context, store)
        assert_same(first, check.finish(store, FrameRows(planted), context))
