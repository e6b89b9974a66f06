"""experiments.format_faults: each corruption breaks a line the way it says; the naive loader drops, shifts and
crashes exactly as described; the project loader and formatting check see the faults; the page's verdict rule gives
held, did not hold and inconclusive on constructed runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playbook_lib.checks import CheckContext, get_check
from playbook_lib.data import load_records
from playbook_lib.errors import UsageError
from playbook_lib.experiments.format_faults import (
    CORRUPTIONS,
    MAX_LOSS,
    MIN_DROP,
    MIN_PRECISION,
    MIN_RECALL,
    VARIANTS,
    FaultRun,
    caught_by_fault,
    chat_line,
    check_file,
    corrupt_line,
    corrupt_lines,
    judge_format_faults,
    label_ids,
    mojibake,
    naive_load,
    recall_table,
    run_seeds,
    seeds_record,
    write_lines,
)
from playbook_lib.experiments.tasks import TextTask
from playbook_lib.experiments.verdict import Verdict

TASK = TextTask(
    "t",
    [f"Route request {i} to the right tool" for i in range(20)],
    np.arange(20) % 2,
    ["news", "shell"],
    [f"t:{i}" for i in range(20)],
)


def test_each_corruption() -> None:
    good = json.loads(chat_line("Show files", "shell"))
    assert [t["role"] for t in good["messages"]] == ["user", "assistant"]
    assert json.loads(corrupt_line("Show files", "shell", "empty_output"))["messages"][1]["content"] == ""
    roles = [t["role"] for t in json.loads(corrupt_line("Show files", "shell", "wrong_role"))["messages"]]
    assert roles == ["assistant", "user"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(corrupt_line("Show files", "shell", "truncated_json"))
    assert "â€" in mojibake("It's here") and "â€" in mojibake("quoted")
    with pytest.raises(UsageError):
        corrupt_line("x", "y", "bitrot")


def test_corrupt_lines_breaks_the_stated_share_in_turn() -> None:
    lines, applied = corrupt_lines(TASK, 0.4, seed=0)
    assert len(lines) == 20 and (applied != "ok").sum() == 8
    assert sorted(applied[applied != "ok"]) == sorted(list(CORRUPTIONS) * 2)
    again, applied2 = corrupt_lines(TASK, 0.4, seed=0)
    assert again == lines and (applied2 == applied).all()
    assert (corrupt_lines(TASK, 0.0)[1] == "ok").all()


def test_naive_loader_drops_shifts_and_crashes(tmp_path) -> None:
    lines, applied = corrupt_lines(TASK, 0.2, seed=3, kinds=["truncated_json"])
    path = write_lines(lines, tmp_path / "train.jsonl")
    with pytest.raises(json.JSONDecodeError):
        naive_load(path, on_error="raise")
    lenient = naive_load(path)
    bad = list(np.flatnonzero(applied != "ok") + 1)
    assert lenient.skipped_lines == bad and len(lenient.texts) == 16
    truth = [TASK.label_names[y] for y in TASK.labels]
    shifted = naive_load(path, labels=truth)
    true_of = dict(zip(TASK.texts, truth))
    wrong = sum(true_of[t] != label for t, label in zip(shifted.texts, shifted.labels))
    assert wrong > 0 and all(true_of[t] == label for t, label in zip(lenient.texts, lenient.labels))
    with pytest.raises(UsageError):
        naive_load(path, on_error="ignore")


def test_label_ids_give_garbage_labels_classes_of_their_own() -> None:
    assert label_ids(["shell", "", "news", "", "Show files"], ["news", "shell"]).tolist() == [1, 2, 0, 2, 3]


def test_project_loader_and_formatting_check_see_the_faults(tmp_path) -> None:
    lines, applied = corrupt_lines(TASK, 0.4, seed=1, kinds=["wrong_role", "truncated_json", "mojibake"])
    path = write_lines(lines, tmp_path / "train.jsonl")
    records = load_records(path)
    assert len(records.attrs["skipped"]) == int((applied == "truncated_json").sum())
    result = get_check("formatting")().run(records, CheckContext())
    flagged = set(records["line"][result.flags].astype(int))
    expected = {i + 1 for i in np.flatnonzero((applied == "wrong_role") | (applied == "mojibake"))}
    assert flagged == expected
    assert path.read_text(encoding="utf-8").count("\n") == 20  # written atomically, one line per row


def _run(seed: int, clean: float, shifted: float, checked: float, caught: int = 4, false_flags: int = 0) -> FaultRun:
    """A constructed seed: 4 planted lines per fault, ``caught`` of each found, ``false_flags`` clean lines flagged."""
    planted = {k: 4 for k in CORRUPTIONS}
    found = {k: caught for k in CORRUPTIONS}
    accuracy = dict(zip(VARIANTS, [clean, clean, shifted, checked]))
    return FaultRun(seed, planted, {"either": found}, 4 * caught + false_flags, false_flags, True, 4, 100, accuracy)


def test_judge_format_faults_held() -> None:
    runs = [_run(s, 0.80 + 0.01 * s, 0.30 + 0.02 * s, 0.80 + 0.01 * s - 0.005 * (s % 2)) for s in range(25)]
    v = judge_format_faults(runs)
    assert v.a is Verdict.HELD and v.b is Verdict.HELD and v.seeds == 25
    assert v.recall.estimate == 1.0 and v.recall.low > MIN_RECALL and v.precision.low > MIN_PRECISION
    assert v.drop.low > MIN_DROP and v.loss.low > -MAX_LOSS
    assert len(v.lines()) == 5 and v.lines()[0].startswith("- **(a)** held")


def test_judge_format_faults_did_not_hold() -> None:
    # no damage from the shifted labels, and the checks miss half the faults
    runs = [_run(s, 0.80 + 0.01 * s, 0.81 + 0.01 * s, 0.80, caught=2) for s in range(5)]
    v = judge_format_faults(runs)
    assert v.a is Verdict.DID_NOT_HOLD and v.b is Verdict.DID_NOT_HOLD
    assert v.recall.high < MIN_RECALL
    # everything caught, but the checked rows lose ten points: (b) did not hold on its loss part alone
    lossy = [_run(s, 0.80 + 0.01 * s, 0.3, 0.70 + 0.01 * s) for s in range(25)]
    assert judge_format_faults(lossy).b is Verdict.DID_NOT_HOLD


def test_judge_format_faults_inconclusive() -> None:
    # one seed: no accuracy interval, so neither claim can be judged
    one = judge_format_faults([_run(0, 0.8, 0.2, 0.8)])
    assert one.a is Verdict.INCONCLUSIVE and one.b is Verdict.INCONCLUSIVE
    # a drop that straddles the 0.05 bar, and a loss that straddles -0.03
    noisy = [
        _run(s, 0.8, 0.8 - d, 0.8 + e)
        for s, (d, e) in enumerate([(0.0, -0.06), (0.1, 0.0), (0.05, -0.03), (0.02, 0.01), (0.08, -0.05)])
    ]
    v = judge_format_faults(noisy)
    assert v.drop.low < MIN_DROP < v.drop.high and v.a is Verdict.INCONCLUSIVE
    assert v.loss.low < -MAX_LOSS < v.loss.high and v.b is Verdict.INCONCLUSIVE
    with pytest.raises(UsageError):
        judge_format_faults([])


def test_check_file_and_caught_by_fault(tmp_path) -> None:
    lines, applied = corrupt_lines(TASK, 0.4, seed=2)
    checked = check_file(write_lines(lines, tmp_path / "train.jsonl"))
    assert checked.unreadable == {i + 1 for i in np.flatnonzero(applied == "truncated_json")}
    caught = caught_by_fault(applied, checked.flagged["either"])
    assert caught == {k: int((applied == k).sum()) for k in CORRUPTIONS}
    assert caught_by_fault(applied, checked.flagged["sft_pairs"])["mojibake"] == 0
    assert len(checked.kept) == int((applied == "ok").sum())
    assert not any(applied[line - 1] == "ok" for line in checked.flagged["either"])


def test_run_seeds_and_recall_table(tmp_path) -> None:
    """The whole experiment on a constructed task with a fake embedder: one run per seed, all fields filled."""

    class Fake:
        dim = 8

        def embed_documents(self, texts):
            out = np.zeros((len(texts), 8), np.float32)
            for i, t in enumerate(texts):
                out[i, ("shell" in t) + 2 * ("news" in t)] = 1.0
                out[i, 4 + len(t) % 4] = 0.5
            return out

        def embed_query(self, text):
            return self.embed_documents([text])[0]

    task = TextTask(
        "t",
        [f"Route {'news' if i % 2 else 'shell'} request {i} it's here" for i in range(60)],
        np.arange(60) % 2,
        ["news", "shell"],
        [f"t:{i}" for i in range(60)],
    )
    runs = run_seeds(task, [0, 1], 0.2, 10, 5, tmp_path, embedder=Fake(), cache_dir="")
    assert [r.seed for r in runs] == [0, 1] and all(r.crashed for r in runs)
    assert all(set(r.accuracy) == set(VARIANTS) for r in runs)
    assert all(sum(r.planted.values()) == 4 for r in runs)
    table = recall_table(runs)
    assert list(table.index) == list(CORRUPTIONS) and "either" in table.columns
    with pytest.raises(UsageError):
        run_seeds(task, [], 0.2, 10, 5, tmp_path)


def test_seeds_record_counts_what_happened() -> None:
    runs = [_run(s, 0.8, 0.3, 0.8, caught=4 if s else 3, false_flags=s % 2) for s in range(4)]
    for r in runs:  # a second check that never finds mojibake
        r.caught["sft_pairs"] = {k: 0 if k == "mojibake" else 4 for k in CORRUPTIONS}
    lines = seeds_record(runs)
    assert lines[0].startswith("- The strict loader crashed in 4 of 4 seeds")
    assert "without a message in 4 of 4 (16 lines in all)" in lines[0] and "400 rows in all" in lines[0]
    assert "every planted line in 3 of 4 seeds and flagged 2 clean lines" in lines[1]  # seed 0 missed one per fault
    assert lines[2] == "- A check alone: `sft_pairs` found none of the 16 mojibake lines."
    assert "judged on 64 planted lines" in lines[3] and "is 0.94" in lines[3]
    with pytest.raises(UsageError):
        seeds_record([])
