"""The experiments' tasks load from the real public SFT datasets, deterministically."""

from __future__ import annotations

import pytest

from playbook_lib.errors import DataError
from playbook_lib.experiments.tasks import load_task


def test_tool_routing_loads_balanced_and_deterministic(shared_data) -> None:
    task = load_task(shared_data, n_per_class=40, seed=0)
    assert task.label_names == ["news", "python", "request", "search", "shell", "weather", "wikipedia", "wolfram"]
    assert set(task.label_counts().values()) == {40}
    assert len(set(task.texts)) == len(task)
    assert all(s.startswith("gpteacher_toolformer-dedupe-only.json:") for s in task.sources)
    # the tool name in the instruction header is not part of the text
    assert not any("toolformer" in t for t in task.texts)
    again = load_task(shared_data, n_per_class=40, seed=0)
    assert again.texts == task.texts and (again.labels == task.labels).all()
    assert load_task(shared_data, n_per_class=40, seed=1).texts != task.texts


def test_task_family_loads_every_family(shared_data) -> None:
    task = load_task(shared_data, n_per_class=30, seed=0, task="task_family")
    assert task.label_counts() == {"code": 30, "general": 30, "math": 30, "roleplay": 30}
    assert {s.split(":")[0] for s in task.sources} >= {"gsm8k_train.jsonl", "gpteacher_codegen-instruct.json"}
    records = task.to_records()
    assert set(records["provenance"]) == {"human", "synthetic"}


def test_too_many_rows_per_class_is_a_data_error(shared_data) -> None:
    with pytest.raises(DataError, match="fewer than n_per_class"):
        load_task(shared_data, n_per_class=100_000)
