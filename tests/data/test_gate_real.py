"""The default checklist as a CI gate on real data nobody on this project wrote: clean data passes (warnings allowed),
planted problems fail their items, and the false-alarm rate of every check on clean shared datasets is measured,
printed, and held to at most 0.5 % of rows.

The embedding items (relevance, embedding coverage) have their own false-alarm test with the model
(``tests/data/test_checks_embedding_real.py``); here every other item of ``checklists/dataset_readiness.yaml`` runs.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from playbook_lib.checklist.parse import parse_checklist
from playbook_lib.checklist.run import exit_code, run_checklist
from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.data import load_records
from playbook_lib.errors import ExitCode
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "checklists" / "dataset_readiness.yaml"
EMBEDDING = ("relevance", "embedding_coverage")
#: Clean datasets in the formats teams have: curated human-written (LIMA, GSM8K), model-generated and deduplicated
#: by its author (GPTeacher). The Alpaca seed tasks are left out: their answers sit in a nested "instances" list, a
#: layout the record model does not read (every row would be "empty output", rightly).
CLEAN = (
    "lima_llamafactory.json",
    "gsm8k_train.jsonl",
    "gsm8k_test.jsonl",
    "gpteacher_codegen-instruct.json",
    "gpteacher_roleplay-simple-deduped.json",
    "gpteacher_toolformer-similarity-0.8.json",
)
MAX_FALSE_ALARMS = 0.005


def _model_free(path: Path = DEFAULT):  # type: ignore[no-untyped-def]
    spec = parse_checklist(path)
    return replace(spec, items=[i for i in spec.items if i.check not in EMBEDDING])


def test_false_alarm_rate_of_every_check_on_clean_real_data(shared_data: Path) -> None:
    """Every model-free item of the default checklist, on each clean dataset (GSM8K test as the eval set, a licence
    declared): the share of rows each item flags. GSM8K train vs test holds a handful of genuinely near-identical
    problems (same question, new numbers), which count here too."""
    spec = _model_free()
    test = load_records(shared_data / "sft" / "gsm8k_test.jsonl")
    rates: dict[str, dict[str, float]] = {}
    for name in CLEAN:
        records = load_records(shared_data / "sft" / name)
        context = CheckContext(eval=None if name == "gsm8k_test.jsonl" else test, licence="declared-by-the-team")
        report = run_checklist(spec, records, context)
        rates[name] = {
            r.item.id: len(r.flagged_rows) / len(records)
            for r in report.items
            if r.result.outcome is not Outcome.NOT_EVALUATED
        }
        assert exit_code(report) == ExitCode.OK, [(r.item.id, r.result.message) for r in report.items]
    width = max(len(item) for by_item in rates.values() for item in by_item)
    print("\nfalse-alarm share of rows per item (clean data):")
    for item in sorted({item for by_item in rates.values() for item in by_item}):
        shares = "  ".join(f"{name.split('.')[0][:18]:>18} {rates[name].get(item, float('nan')):.4f}" for name in CLEAN)
        print(f"  {item:<{width}}  {shares}")
    too_high = {
        (name, item): share for name, by in rates.items() for item, share in by.items() if share > MAX_FALSE_ALARMS
    }
    assert not too_high, too_high


def _planted(shared_data: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, list[int]]]:
    """LIMA as JSONL with one kind of problem planted per block of rows, and GSM8K test as the eval set; returns the
    paths and the 0-based rows of each kind."""
    lima = json.loads((shared_data / "sft" / "lima_llamafactory.json").read_text(encoding="utf-8"))
    test = [json.loads(line) for line in (shared_data / "sft" / "gsm8k_test.jsonl").read_text().splitlines()]
    rows = [dict(r) for r in lima[:600]]
    planted: dict[str, list[int]] = {}
    # exact duplicates: 40 rows repeated as they are; near duplicates: 40 rows with one word changed
    planted["exact"] = list(range(600, 640))
    rows += [dict(rows[i]) for i in range(40)]
    planted["near"] = list(range(640, 680))
    for i in range(40, 80):
        words = rows[i]["output"].split()
        words[len(words) // 2] = "indeed"
        rows.append(dict(rows[i], output=" ".join(words)))
    # personal data in running text (rows of LIMA not used above, so they are no near-duplicates)
    planted["pii"] = list(range(680, 700))
    for k in range(20):
        row = lima[600 + k]
        rows.append(dict(row, output=row["output"] + f" Reach me at dana.whitfield{k}@brightmail.co.uk."))
    # contamination: 20 eval questions copied into training prompts
    planted["contamination"] = list(range(700, 720))
    rows += [
        {"instruction": t["question"], "input": "", "output": "Let us work it out step by step."} for t in test[:20]
    ]
    # formatting: 60 empty answers
    planted["formatting"] = list(range(720, 780))
    rows += [dict(lima[620 + k], output="") for k in range(60)]
    data = tmp_path / "lima_planted.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    evals = tmp_path / "gsm8k_test.jsonl"
    evals.write_text("".join(json.dumps(t) + "\n" for t in test), encoding="utf-8")
    return data, evals, planted


def test_planted_problems_fail_their_items_and_nothing_else(shared_data: Path, tmp_path: Path) -> None:
    """Each planted problem type fails its item (the default thresholds), names the planted rows and only them
    (the near-duplicate item also finds the exact copies, as near-duplicates include exact ones)."""
    data, evals, planted = _planted(shared_data, tmp_path)
    checklist = tmp_path / "model_free.yaml"
    text = DEFAULT.read_text(encoding="utf-8")
    checklist.write_text(text, encoding="utf-8")
    spec = _model_free(checklist)
    report = run_checklist(spec, load_records(data), CheckContext(eval=load_records(evals), licence="CC-BY-NC-SA-4.0"))
    by_id = {r.item.id: r for r in report.items}
    expect = {
        "quality.uniqueness.exact": planted["exact"],
        "quality.uniqueness.near": planted["exact"] + planted["near"],
        "quality.compliance.pii": planted["pii"],
        "split.contamination": planted["contamination"],
        "quality.formatting": planted["formatting"],
    }
    for item, rows in expect.items():
        result = by_id[item]
        assert result.result.outcome is Outcome.FAIL, (item, result.result.message)
        assert set(rows) <= set(result.flagged_rows), (item, sorted(set(rows) - set(result.flagged_rows))[:5])
        extra = set(result.flagged_rows) - set(rows)
        assert len(extra) <= 2, (item, sorted(extra)[:10])  # LIMA itself: at most a stray real finding
        assert "to fix:" in result.result.message
    assert exit_code(report) == ExitCode.FAIL


@pytest.mark.slow
def test_clean_lima_with_its_licence_and_gsm8k_as_eval_exits_0(shared_data: Path, tmp_path: Path) -> None:
    """The issue's bar, through the CLI with the whole default checklist (embedding items included): clean LIMA with
    its licence declared and GSM8K test as the eval set exits 0; warnings allowed, no item fails."""
    report = tmp_path / "r.json"
    result = run_cli(
        "check", DEFAULT,
        "--data", shared_data / "sft" / "lima_llamafactory.json",
        "--eval", shared_data / "sft" / "gsm8k_test.jsonl",
        "--licence", "CC-BY-NC-SA-4.0",
        "--json", report, "--quiet",
    )  # fmt: skip
    body = json.loads(report.read_text())
    outcomes = {i["id"]: (i["outcome"], i["message"]) for i in body["items"]}
    assert result.code == ExitCode.OK, outcomes
    assert body["counts"]["fail"] == 0 and outcomes["quality.compliance.licence"][0] == "pass"
    assert outcomes["post_training.preference"][0] == "not_evaluated" and body["data"]["shape"] == "sft"
