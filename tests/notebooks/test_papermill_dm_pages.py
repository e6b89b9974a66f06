"""Papermill runs of the post-training, probabilistic-outputs and production-checklist pages with other inputs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.notebooks.test_papermill import outputs_text, run_notebook


def test_post_training_on_other_files(tmp_path: Path, shared_data: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {
            "prompt": f"How do I clean probe {i}?",
            "chosen": f"Rinse probe {i} with deionised water.",
            "rejected": f"Probe {i} needs no care at all, ever.",
        }
        for i in range(12)
    ]
    rows.append({"prompt": "Same?", "chosen": "Yes.", "rejected": "yes."})
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    nb = run_notebook(
        tmp_path,
        "dm_05_post_training",
        {
            "preference_path": str(pairs),
            "real_sft_path": str(shared_data / "sft" / "gpteacher_codegen-instruct.json"),
            "max_real_rows": 300,
        },
    )
    text = outputs_text(nb)
    assert "1 of 13 rows (chosen identical to rejected 1)" in text
    assert "gpteacher_codegen-instruct.json: 300 rows" in text
    assert "hold" in text  # the verdict cell ran


def test_probabilistic_outputs_on_own_tasks(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        json.dumps(
            {"id": "mine", "context": "Colour: teal. Size: 4.", "question": "What is the colour?", "answer": "teal"}
        )
        + "\n",
        encoding="utf-8",
    )
    nb = run_notebook(
        tmp_path, "dm_06_probabilistic_outputs", {"tasks_path": str(tasks), "seed": 3, "widget_temperature": 1.2}
    )
    text = outputs_text(nb)
    assert "1 tasks x 4 settings x 3 samples" in text
    assert "Colour: teal" in text
    assert "greedy is perfectly consistent" in text


def test_production_checklists_with_another_plan(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "name: no-routing\nsuperpower: accuracy\nmodel: open-weights-70b\n"
        "cost_model: {target_cost_per_success: 0.01}\n",
        encoding="utf-8",
    )
    nb = run_notebook(tmp_path, "dm_09_production_checklists", {"plan_path": str(plan)})
    text = outputs_text(nb)
    assert "plan 'no-routing'" in text
    assert "no routing plan" in text
    assert "overall fail: exit code 2" in text
