"""Contamination false alarms on clean real pairs, with the shipped ``split.contamination`` item (issue 18).

LIMA (curated human-written prompts) shares no example with GSM8K test, and GPTeacher codegen's training rows have
nothing to do with GPTeacher toolformer's tasks: the share of eval rows flagged is the false-alarm rate. Printed
(``pytest -s``) beside the planted-leak recall on the same pair, so a loose rule cannot pass by being blind.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from playbook_lib.checks import CheckContext
from playbook_lib.checks.contamination import ContaminationCheck
from playbook_lib.data import load_records
from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]
MAX_FALSE_ALARMS = 0.005


def shipped_item() -> ContaminationCheck:
    spec = yaml.safe_load((ROOT / "checklists" / "dataset_readiness.yaml").read_text(encoding="utf-8"))
    item = next(i for i in spec["items"] if i["check"] == "contamination")
    return ContaminationCheck(**{k: v for k, v in item.items() if k not in ("id", "section", "title", "check")})


def load(shared_data: Path, name: str) -> pd.DataFrame:
    path = shared_data / "sft" / name
    need(path.is_file(), f"{path} not found")
    return load_records(path)


def test_false_alarms_on_clean_real_pairs_are_at_most_half_a_percent(shared_data: Path) -> None:
    check = shipped_item()
    gsm_test = load(shared_data, "gsm8k_test.jsonl")
    lima = load(shared_data, "lima_llamafactory.json")
    codegen = load(shared_data, "gpteacher_codegen-instruct.json")
    toolformer = load(shared_data, "gpteacher_toolformer-dedupe-only.json")
    for name, train, evals in (
        ("LIMA vs GSM8K test", lima, gsm_test),
        ("GPTeacher codegen vs toolformer", codegen, toolformer),
    ):
        result = check.run(train, CheckContext(eval=evals))
        rate = result.summary["contaminated_rate"]
        print(f"{name}: {result.summary['eval_rows_contaminated']} of {len(evals)} eval rows flagged ({rate:.4f})")
        assert rate <= MAX_FALSE_ALARMS, (name, result.message)
        # not blind: 20 test items pasted into the training rows' prompts (after a line of their own) are found
        planted = train.copy()
        for k in range(20):
            planted.at[k, "instruction"] = f"{planted.at[k, 'instruction']}\n{evals['instruction'].iloc[100 + k]}"
        found = check.run(planted, CheckContext(eval=evals))
        leaks = int(found.flags[:20].sum())
        print(f"  planted: {leaks} of 20 found")
        assert leaks >= 19, (name, found.message)
