"""experiments.format_faults: each corruption breaks a line the way it says; the naive loader drops, shifts and
crashes exactly as described; the project loader and formatting check see the faults."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playbook_lib.checks import CheckContext, get_check
from playbook_lib.data import load_records
from playbook_lib.errors import UsageError
from playbook_lib.experiments.format_faults import (
    CORRUPTIONS,
    chat_line,
    corrupt_line,
    corrupt_lines,
    label_ids,
    mojibake,
    naive_load,
    write_lines,
)
from playbook_lib.experiments.tasks import TextTask

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
