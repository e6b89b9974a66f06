"""PEFT vs full fine-tuning (notebooks/exp_03_peft_vs_full.ipynb) with non-default parameters."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import need_module
from tests.notebooks.test_papermill import outputs_text, run_notebook

need_module("peft")


def test_peft_page_with_another_rank_seed_and_no_committed_table(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(
        tmp_path,
        "exp_03_peft_vs_full",
        {"data_dir": str(shared_data), "methods": ["probe", "lora"], "lora_r": 4, "seed": 1, "results_file": ""},
    )
    text = outputs_text(nb)
    # the rank-4 adapters were built and counted: 6 layers x 2 projections x 4 x (384 + 384)
    assert "LoRA r=4: 39,944 trainable parameters = 36,864 (formula) + 3,080 (head)" in text
    assert "training pool 32 requests, test 64" in text
    # the live run produced a score per method, and the verdict was computed on it (not on the committed table)
    assert re.search(r"lora\s+4\s+32\s+[01]\.\d+", text) and re.search(r"probe\s+4\s+32\s+[01]\.\d+", text)
    assert re.search(r"\(c\) (held|did not hold|inconclusive)\*\* \(live small run\)", text)
    assert "(a)" not in text and "command: python bench/finetune.py" not in text
