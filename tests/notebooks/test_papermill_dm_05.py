"""Papermill run of the post-training page with instructions of one's own (section 6) and no committed table."""

from __future__ import annotations

import json
from pathlib import Path

from tests.notebooks.test_papermill import outputs_text, run_notebook


def test_post_training_with_own_instructions(tmp_path: Path) -> None:
    rows = [
        {"id": "mine-1", "kind": "yes_no", "instruction": "Is snow cold? Answer yes or no, nothing else."},
        {"id": "mine-2", "kind": "number", "instruction": "What is 3 plus 4? Reply with the number only."},
    ]
    path = tmp_path / "instructions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    nb = run_notebook(
        tmp_path,
        "dm_05_post_training",
        {"instructions_path": str(path), "results_file": "", "real_sft_path": ""},
    )
    text = outputs_text(nb)
    assert "2 instructions x 5 seeds x 3 conditions" in text
    assert "Is snow cold?" in text and "What is 3 plus 4?" in text
    assert "**The heuristic, live run (small profile)** (2 instructions x 5 seeds)" in text
    assert "committed full profile" not in text  # no table given: the full profile is not judged
    assert "curated rows flagged" not in text  # no real data given: that claim is not judged
    assert "share of planted problems flagged" in text
