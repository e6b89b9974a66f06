"""The instruction-following experiment of the post-training page: format checkers, the instructions file, the
three conditions on a scripted model and on the real SmolLM2, the verdicts (held, did not hold, inconclusive), the
committed table, and the post-training validators' verdicts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playbook_lib.errors import DataError, UsageError
from playbook_lib.experiments import instruction_following as inf
from playbook_lib.experiments.instruction_following import FormatInstruction, complies
from playbook_lib.experiments.tables import write_table
from playbook_lib.experiments.verdict import Verdict, proportion_interval

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "notebooks" / "results" / "dm_05_post_training.csv"


def item(kind: str, **kw: object) -> FormatInstruction:
    return FormatInstruction("t", kind, "an instruction", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("instruction", "good", "bad"),
    [
        (item("choice", options=("A", "B", "C")), ["B", " b. ", '"C"'], ["B) apple", "D", "The answer is B", ""]),
        (item("yes_no"), ["yes", "No.", " YES! "], ["No, it is not.", "yes\nno", "maybe", ""]),
        (item("number"), ["8", "-3.5", "1,000", "42."], ["eight", "8 legs", "A spider has 8 legs.", "1,00"]),
        (
            item("json_key", key="colour"),
            ['{"colour": "green"}', ' {"colour": 1, "x": 2}\n'],
            ['```json\n{"colour": "green"}\n```', '{"color": "green"}', '["colour"]', '{"colour": "g"} ok', ""],
        ),
        (item("one_word"), ["cold", "Cold.", "well-known", "o'clock"], ["very cold", "cold\nwarm", "42", ""]),
        (
            item("comma_list", count=3),
            ["red, orange, yellow", "Red,Green,Blue.", "dark blue, light green, red"],
            ["red, orange", "red, orange, yellow, green", "red,, yellow", "1. red\n2. orange\n3. yellow"],
        ),
    ],
)
def test_each_checker_accepts_the_format_and_nothing_more(
    instruction: FormatInstruction, good: list[str], bad: list[str]
) -> None:
    assert all(complies(instruction, g) for g in good), [g for g in good if not complies(instruction, g)]
    assert not any(complies(instruction, b) for b in bad), [b for b in bad if complies(instruction, b)]


def test_an_unknown_kind_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown format kind"):
        complies(item("haiku"), "x")


def test_the_bundled_instructions_cover_every_kind_in_turn() -> None:
    items = inf.format_instructions()
    assert len(items) >= 30 and len({i.id for i in items}) == len(items)
    assert [i.kind for i in items[: len(inf.KINDS)]] == list(inf.KINDS)  # the small profile gets one of each
    assert {k: sum(i.kind == k for i in items) for k in inf.KINDS} == {k: 7 for k in inf.KINDS}
    assert inf.format_instructions(3) == items[:3]
    for i in items:  # every requirement is stated in the instruction itself
        if i.kind == "json_key":
            assert f'"{i.key}"' in i.instruction and "JSON" in i.instruction
        if i.kind == "choice":
            assert all(o in i.instruction for o in i.options)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"kind": "yes_no"}, "instruction"),
        ({"kind": "poem", "instruction": "x"}, "kind must be one of"),
        ({"kind": "choice", "instruction": "x", "options": []}, "options"),
        ({"kind": "json_key", "instruction": "x"}, "key"),
        ({"kind": "comma_list", "instruction": "x", "count": True}, "count"),
    ],
)
def test_a_row_without_its_requirement_is_a_data_error(tmp_path: Path, row: dict, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"kind": "yes_no", "instruction": "ok?"}) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError, match=message):
        inf.format_instructions(path=path)
    path.write_text(json.dumps({"id": "a", "kind": "yes_no", "instruction": "ok?"}) + "\n" * 2 + json.dumps(
        {"id": "a", "kind": "number", "instruction": "how many?"}) + "\n")  # fmt: skip
    with pytest.raises(DataError, match="unique"):
        inf.format_instructions(path=path)
    with pytest.raises(DataError, match="not found"):
        inf.format_instructions(path=tmp_path / "missing.jsonl")


@dataclass
class Sample:
    text: str
    token_ids: list[int]


class FakeLlm:
    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        assert not add_bos and not special  # condition 1 is plain text
        return [0] + list(text)


class ScriptedModel:
    """Raw prompts (starting with token 0) answer "Yes, because ..."; chat prompts (token 1) answer a compliant
    "yes" with probability ``p_chat`` per draw. Records the prompts it was given."""

    name = "scripted"

    def __init__(self, p_chat: float) -> None:
        self.p_chat = p_chat
        self.llm = FakeLlm()
        self.calls: list[int] = []

    def chat_tokens(self, user: str, system: str | None = None) -> list[int]:
        return [1] + list(user.encode())

    def generate(
        self,
        tokens: Sequence[int],
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        max_tokens: int = 16,
        rng: np.random.Generator | int | None = None,
    ) -> Sample:
        assert isinstance(rng, np.random.Generator) and temperature == inf.TEMPERATURE
        self.calls.append(tokens[0])
        draw = rng.random()
        if tokens[0] == 0:
            return Sample("Yes, because it is.\nQuestion: next", [5] * max_tokens)
        return Sample("yes" if draw < self.p_chat else "Sure! The answer is yes.", [7, 8])


def test_three_conditions_one_model_and_retries_continue_the_chat_sample() -> None:
    items = [FormatInstruction(f"q{i}", "yes_no", f"Question {i}? Answer yes or no.") for i in range(4)]
    model = ScriptedModel(p_chat=0.5)
    frame = inf.run_instruction_following(model, items, seeds=5)
    assert len(frame) == 4 * 5 * 3 and list(frame["condition"].unique()) == list(inf.CONDITIONS)
    by = frame.set_index(["condition", "id", "seed"]).sort_index()
    assert not by.loc["raw text", "complies"].any()
    assert by.loc["raw text", "first_line_complies"].eq(False).all()  # "Yes, because it is." is still not "yes"
    chat, valid = by.loc["chat template"], by.loc["chat + validator"]
    assert (valid["complies"] >= chat["complies"]).all()  # a validator keeps a compliant first sample
    assert (valid.loc[chat["complies"], "attempts"] == 1).all()
    assert valid["attempts"].max() <= inf.MAX_ATTEMPTS and (valid["tokens"] == 2 * valid["attempts"]).all()
    assert (valid.loc[~valid["complies"], "attempts"] == inf.MAX_ATTEMPTS).all()
    # one model call per raw and chat sample plus one per retry
    assert len(model.calls) == 2 * 20 + int((valid["attempts"] - 1).sum())
    again = inf.run_instruction_following(ScriptedModel(0.5), items[:2], seeds=5)
    pd.testing.assert_frame_equal(
        again.drop(columns="seconds").reset_index(drop=True),
        frame[frame["id"].isin(["q0", "q1"])].drop(columns="seconds").reset_index(drop=True),
    )  # a subset of instructions reproduces the same rows (the small profile is part of the full one)


def test_run_rejects_no_seeds() -> None:
    with pytest.raises(UsageError):
        inf.run_instruction_following(ScriptedModel(1.0), [item("yes_no")], seeds=0)


def test_the_scripted_heuristic_holds_when_the_template_brings_compliance() -> None:
    items = [FormatInstruction(f"q{i}", "yes_no", f"Question {i}?") for i in range(10)]
    verdicts = inf.judge_instruction_following(inf.run_instruction_following(ScriptedModel(0.9), items, 5))
    assert verdicts.stack is Verdict.HELD and verdicts.template is Verdict.HELD
    assert verdicts.prompts == 10 and verdicts.seeds == 5
    assert verdicts.lines()[0].startswith("- **the heuristic**: held")


def frame_of(rates: dict[str, Sequence[float]], seeds: int = 5) -> pd.DataFrame:
    """A run whose instruction ``i`` complies under each condition in ``round(rate * seeds)`` of ``seeds``."""
    rows = []
    for condition, values in rates.items():
        for i, rate in enumerate(values):
            for s in range(seeds):
                ok = s < round(rate * seeds)
                rows.append({"id": f"q{i}", "kind": "yes_no", "condition": condition, "seed": s, "output": "",
                             "complies": ok, "first_line_complies": ok, "attempts": 1})  # fmt: skip
    return pd.DataFrame(rows)


def test_the_verdicts_hold_fail_and_straddle_by_the_interval() -> None:
    n = 8
    held = inf.judge_instruction_following(
        frame_of({"raw text": [0.0] * n, "chat template": [0.6, 0.8] * 4, "chat + validator": [0.8, 1.0] * 4})
    )
    assert (held.stack, held.template, held.validator) == (Verdict.HELD, Verdict.HELD, Verdict.HELD)
    same = inf.judge_instruction_following(
        frame_of({"raw text": [0.4, 0.6] * 4, "chat template": [0.4, 0.6] * 4, "chat + validator": [0.4, 0.6] * 4})
    )
    assert same.stack is Verdict.DID_NOT_HOLD and same.intervals["stack"].estimate == 0.0
    noisy = inf.judge_instruction_following(
        frame_of({"raw text": [0.0, 1.0] * 4, "chat template": [1.0, 0.0] * 4, "chat + validator": [1.0, 0.4] * 4})
    )
    assert noisy.stack is Verdict.INCONCLUSIVE and noisy.template is Verdict.INCONCLUSIVE
    one = inf.judge_instruction_following(frame_of({c: [0.0] if c == "raw text" else [1.0] for c in inf.CONDITIONS}))
    assert one.stack is Verdict.INCONCLUSIVE  # one instruction: no interval
    with pytest.raises(UsageError, match="lacks condition"):
        inf.judge_instruction_following(frame_of({"raw text": [0.0, 1.0], "chat template": [1.0, 1.0]}))
    with pytest.raises(UsageError, match="missing columns"):
        inf.judge_instruction_following(pd.DataFrame({"id": ["q"]}))


def test_compliance_table_counts_every_sample() -> None:
    frame = frame_of({"raw text": [0.0, 0.2], "chat template": [0.4, 1.0], "chat + validator": [1.0, 1.0]})
    table = inf.compliance_table(frame.assign(tokens=3))
    assert list(table.index) == list(inf.CONDITIONS) and (table["samples"] == 10).all()
    assert table["compliance"].tolist() == pytest.approx([0.1, 0.7, 1.0])


def test_results_round_trip_through_the_table_format(tmp_path: Path) -> None:
    frame = frame_of({"raw text": [0.0, 0.2], "chat template": [0.4, 1.0], "chat + validator": [1.0, 1.0]})
    frame.loc[0, "output"] = "a, b\nc"
    write_table(frame, tmp_path / "t.csv", {"command": "test"})
    back, meta = inf.read_results(tmp_path / "t.csv")
    assert meta == {"command": "test"} and back["output"].iloc[0] == "a, b\nc" and back["output"].iloc[1] == ""
    assert inf.judge_instruction_following(back) == inf.judge_instruction_following(frame)
    assert inf.matching_share(frame.head(3), back) == 1.0
    changed = back.assign(output=back["output"] + "!")
    assert inf.matching_share(frame.head(4), changed) == 0.0
    assert np.isnan(inf.matching_share(frame.head(2), back.iloc[5:]))


def test_the_committed_full_table_is_complete_and_judged() -> None:
    frame, meta = inf.read_results(TABLE)
    assert {"command", "date", "machine", "versions", "model", "settings"} <= set(meta)
    assert meta["profile"] == "full" and "instruction_following.py" in meta["command"]
    items = inf.format_instructions()
    assert set(frame["id"]) == {i.id for i in items} and frame["seed"].nunique() >= 5
    assert len(frame) == len(items) * frame["seed"].nunique() * len(inf.CONDITIONS)
    by_id = {i.id: i for i in items}  # the stored verdicts are what the checkers say of the stored outputs
    assert all(complies(by_id[r.id], r.output) == r.complies for r in frame.itertuples())
    verdicts = inf.judge_instruction_following(frame)
    assert verdicts.prompts == len(items) and verdicts.stack in set(Verdict)


def test_kind_summary_shows_a_kinds_compliance_and_the_rule_judged_on_it() -> None:
    n = 8  # yes_no: the template and validator bring compliance (held); number: nothing changes (did not hold)
    yes = frame_of({"raw text": [0.0] * n, "chat template": [0.6, 0.8] * 4, "chat + validator": [0.8, 1.0] * 4})
    num = frame_of({c: [0.4, 0.6] * 4 for c in inf.CONDITIONS}).assign(kind="number")
    num["id"] = "n" + num["id"]
    frame = pd.concat([yes, num], ignore_index=True).assign(tokens=3)
    frame.loc[frame["kind"] == "number", "attempts"] = 2
    a, b, both = inf.kind_summary(frame, "yes_no"), inf.kind_summary(frame, "number"), inf.kind_summary(frame, "all")
    assert len({a, b, both}) == 3  # the setting changes what is shown
    assert "yes_no (yes or no): 8 instructions x 5 seeds" in a and "16 instructions x 5 seeds" in both
    raw_yes = proportion_interval(0, 40).text(2)
    chat_yes = proportion_interval(28, 40).text(2)  # 0.6 and 0.8 of 5 seeds: 3 + 4 per pair of instructions
    assert f"<td>raw text</td><td>40</td><td>{raw_yes}</td><td>0.00</td><td>1.00</td><td>3.0</td>" in a
    assert f"<td>chat template</td><td>40</td><td>{chat_yes}</td><td>0.70</td>" in a
    chat_num = proportion_interval(20, 40).text(2)
    assert f"<td>chat template</td><td>40</td><td>{chat_num}</td><td>0.50</td><td>2.00</td>" in b
    assert "<strong>The heuristic on yes_no (yes or no): held</strong>" in a
    assert "<strong>The heuristic on number (a number only): did not hold</strong>" in b
    judged = inf.judge_instruction_following(frame)
    assert f"<strong>The heuristic on all formats: {judged.stack.value}</strong>" in both
    assert f"= {judged.intervals['stack']}" in both and "held for 1." in both
    assert "subgroup" in a and "subgroup" not in both
    with pytest.raises(UsageError, match="unknown format kind"):
        inf.kind_summary(frame, "haiku")
    with pytest.raises(UsageError, match="no instructions of kind"):
        inf.kind_summary(frame, "choice")


def test_kind_summary_reads_the_committed_table_the_same_from_either_reader() -> None:
    from playbook_lib.experiments.tables import read_table  # lazy: only this test reads the table both ways

    plain, _ = read_table(TABLE)
    results, _ = inf.read_results(TABLE)
    for kind in ("all", *inf.KINDS):  # the page passes read_results' frame, the site's oracle read_table's
        assert inf.kind_summary(plain, kind) == inf.kind_summary(results, kind)


def test_the_real_model_runs_all_three_conditions_on_one_instruction() -> None:
    from playbook_lib.models.next_token import NextTokenModel  # lazy: loads the LLM; only this test needs it

    model = NextTokenModel(threads=1)
    first = inf.format_instructions(1)
    raw = inf.raw_tokens(model, first[0].instruction)
    assert model.decode(raw).endswith("\nAnswer:") and raw != model.chat_tokens(first[0].instruction)[: len(raw)]
    frame = inf.run_instruction_following(model, first, seeds=2)
    assert len(frame) == 6 and (frame["tokens"] <= inf.MAX_TOKENS * frame["attempts"]).all()
    again = inf.run_instruction_following(model, first, seeds=2)
    assert again["output"].tolist() == frame["output"].tolist()  # seeded: the same samples


# --- the validators' verdicts ---------------------------------------------------------------------------------------


def test_validator_verdicts_from_counts() -> None:
    planted = [np.array([True] * 50 + [False] * 30)]
    v = inf.judge_validators(planted, planted, chosen_longer=20, pairs=27, real_flagged=0, real_rows=1029)
    assert (v.planted, v.length_bias, v.real) == (Verdict.HELD, Verdict.HELD, Verdict.HELD)
    assert len(v.lines()) == 4 and "50 of 50 planted problems flagged" in v.lines()[0]
    small = inf.judge_validators([np.array([True] * 8 + [False] * 21)], [np.array([True] * 8 + [False] * 21)])
    assert small.planted is Verdict.INCONCLUSIVE  # 8 of 8: the Wilson interval reaches below 0.9
    assert small.length_bias is None and small.real is None and len(small.lines()) == 2
    missed = inf.judge_validators(planted, [np.array([False] * 80)])
    assert missed.planted is Verdict.DID_NOT_HOLD
    noisy = inf.judge_validators([], [], chosen_longer=14, pairs=27, real_flagged=300, real_rows=1000)
    assert noisy.length_bias is Verdict.INCONCLUSIVE and noisy.real is Verdict.DID_NOT_HOLD
    with pytest.raises(UsageError):
        inf.judge_validators(planted, [])
    with pytest.raises(UsageError):
        inf.judge_validators([np.array([True])], [np.array([True, False])])
    with pytest.raises(UsageError):
        inf.judge_validators(chosen_longer=30, pairs=27)


def test_importing_the_module_loads_no_model_and_nothing_heavy() -> None:
    import subprocess
    import sys

    heavy = ["llama_cpp", "torch", "transformers", "matplotlib", "sklearn", "scipy"]
    code = (
        "import sys, playbook_lib.experiments.instruction_following\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported at import time: {out}"
