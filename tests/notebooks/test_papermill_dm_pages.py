"""Papermill runs of the post-training, probabilistic-outputs and production-checklist pages with other inputs."""

from __future__ import annotations

import json
import re
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
    # one format instruction (15 generations, not 60): the live run itself is test_papermill_dm_05.py's
    instructions = tmp_path / "instructions.jsonl"
    one = {"id": "mine-1", "kind": "yes_no", "instruction": "Is ice cold? Answer yes or no, nothing else."}
    instructions.write_text(json.dumps(one) + "\n", encoding="utf-8")
    nb = run_notebook(
        tmp_path,
        "dm_05_post_training",
        {
            "preference_path": str(pairs),
            "instructions_path": str(instructions),
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
    assert "1 tasks x 5 settings x 3 samples" in text
    assert "Colour: teal" in text
    # the live verdicts come from the library; one task gives no interval, so the paired claims cannot hold
    assert "**Live small run.** On 1 tasks, 3 samples per task and setting" in text
    assert "**randomness costs correct extractions**: **inconclusive**" in text
    assert "validator loop:" in text and "model calls per answer" in text
    assert "**Committed full run.** On 40 tasks, 20 samples per task and setting" in text


def test_model_selection_judges_cost_and_routing_over_six_seeds(tmp_path: Path) -> None:
    nb = run_notebook(tmp_path, "dm_07_model_selection", {"n_tasks": 60, "seed": 5})
    text = outputs_text(nb)
    verdict = r"\*\*(held|did not hold|inconclusive)\*\*"
    assert re.search(
        r"\(3\) cost per successful task carries a premium, larger for weaker models\*\*: " + verdict, text
    )
    assert re.search(r"\(4\) routing keeps most of the strong model's success .+\*\*: " + verdict, text)
    assert "over 6 seeds" in text and "on 5 held-out runs" in text
    assert re.search(
        r"\*\*\(1\)\*\* \*\*every exclusion and every point of score has a stated reason\*\*: " + verdict, text
    )
    assert re.search(
        r"\*\*\(2\)\*\* \*\*one requirement changes the ranking, in the direction of the constraint\*\*: " + verdict,
        text,
    )
    assert "(95%, n=6)" in text and "(95%, n=5)" in text
