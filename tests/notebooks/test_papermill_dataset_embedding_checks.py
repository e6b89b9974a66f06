"""The dataset engineering page run on a user's own files with the embedding checks' parameters overridden: a task
description, a z-score cut-off and a coverage threshold. Real all-MiniLM-L6-v2, headless papermill."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.notebooks.test_papermill import outputs_text, run_notebook

DEVICES = ["pH meter", "conductivity meter", "oxygen probe", "turbidity sensor"]
ACTIONS = ["calibrate", "clean", "store", "replace the battery of", "update the firmware of"]


def test_dataset_engineering_embedding_checks_on_own_files(tmp_path: Path) -> None:
    rows = [
        {
            "instruction": f"How do I {a} the {d}?",
            "output": f"To {a} the {d}, follow the steps in its manual.",
            "category": "support",
        }
        for d in DEVICES
        for a in ACTIONS
    ]
    rows.insert(
        7,
        {
            "instruction": "Share your favourite chocolate cake recipe.",
            "output": "Mix flour, sugar, cocoa and eggs and bake for forty minutes.",
            "category": "support",
        },
    )
    data = tmp_path / "own_train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    traffic = tmp_path / "own_traffic.jsonl"
    queries = [f"how to {a} my {d}" for d, a in zip(DEVICES, ACTIONS)]
    queries += ["When will my parcel be shipped?", "Track the delivery of my parcel", "Can I pay by bank transfer?"]
    traffic.write_text("".join(json.dumps({"instruction": q}) + "\n" for q in queries), encoding="utf-8")
    nb = run_notebook(
        tmp_path,
        "dm_02_dataset_engineering",
        {
            "data_path": str(data),
            "traffic_path": str(traffic),
            "relevance_z": 2.5,
            "coverage_threshold": 0.45,
            "shared_data": str(tmp_path / "absent"),  # real-data comparison: the GSM8K test's
            "task_description": "Support for water-quality meters: calibration, cleaning, storage, batteries, firmware.",
        },
    )
    text = outputs_text(nb)
    assert "own_train.jsonl: 21 rows" in text and "sft_sample" not in text and "sft_traffic" not in text
    assert "off-topic rows (similarity to the task description)" in text
    assert "chocolate cake" in text  # the planted row is in the table of flagged rows
    assert "relevance: FAIL" in text or "relevance: WARN" in text
    assert "traffic queries have no training example within 0.45" in text
    assert "groups by neighbours" in text  # the traffic has no category: uncovered queries are clustered
    assert "planted off-topic rows flagged" not in text  # the bundled sample's truth is not applied to user data


def test_dataset_engineering_grades_the_bundled_sample_against_its_planted_rows(tmp_path: Path) -> None:
    nb = run_notebook(tmp_path, "dm_02_dataset_engineering", {"shared_data": str(tmp_path / "absent")})
    text = outputs_text(nb)
    assert re.search(r"\*\*the checks find the planted problems\*\*: \*\*(held|did not hold|inconclusive)\*\*", text)
    assert "exact_duplicates: every planted row flagged (6 of 6)" in text
    assert "pooled over these checks: recall" in text and "(Wilson, 95 %)" in text
    # no public data: nothing to plant near copies into, so that claim is not measured, never held
    assert "no public data folder, so nothing to plant into" in text
    assert re.search(r"flags nothing else\*\* \(recall and precision > 0.9\): \*\*inconclusive\*\*", text)


def test_dataset_engineering_grades_near_copies_planted_into_gsm8k(tmp_path: Path, shared_data: Path) -> None:
    from playbook_lib.experiments.dataset_claims import gsm8k_rows, judge_near, run_near_plants

    nb = run_notebook(
        tmp_path,
        "dm_02_dataset_engineering",
        {"shared_data": str(shared_data), "near_threshold": 0.9, "compare_rows": 100},
    )
    text = outputs_text(nb)
    # the page's verdict is the library's on the same seeds, at the page's threshold (0.9 here, not the default)
    expected = judge_near(run_near_plants(gsm8k_rows(shared_data), seeds=range(5), threshold=0.9))
    assert f"**{expected.verdict.value}**" in text and f"recall {expected.recall}" in text
    assert f"precision {expected.precision}" in text and "pooled over 5 seeds" in text
    assert "edit rate" in text  # the recall-by-rate table
    assert f"- near copies planted into GSM8K: {expected.verdict.value}" in text
    # the threshold explorer starts at the page's threshold and shows the same plantings' recall there
    assert "data-pb-kind='near-threshold'" in text
    assert f"recall of the near pairs <b>{expected.recall.text()}</b>" in text
