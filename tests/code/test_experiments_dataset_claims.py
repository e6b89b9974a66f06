"""The dataset-engineering page's planted rows, checked by methods of their own, and its verdict on flags."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from playbook_lib import sample_data
from playbook_lib.experiments.dataset_claims import (
    MIN_ITEM_RECALL,
    PLANTED_LINES,
    NearRun,
    grade_near,
    judge_checklist_plants,
    judge_near,
    judge_planted,
)
from playbook_lib.experiments.planting import NearPlant, ProblemPlant
from playbook_lib.experiments.verdict import Verdict


def rows() -> dict[int, dict[str, object]]:
    out = {}
    for n, line in enumerate(sample_data.path("sft_sample.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            out[n] = value
    return out


def norm(value: object) -> str:
    return " ".join(str(value).lower().split())


def test_the_planted_lines_are_what_the_readme_says_found_without_the_checks() -> None:
    data = rows()
    seen: dict[tuple[str, ...], int] = {}
    later_copies = []
    for n, r in data.items():
        key = tuple(norm(r.get(k, "")) for k in ("instruction", "input", "output"))
        if key in seen:
            later_copies.append(n)
        seen.setdefault(key, n)
    assert tuple(later_copies) == PLANTED_LINES["exact_duplicates"]  # 6 exact duplicates
    evals = [json.loads(x) for x in sample_data.path("sft_eval.jsonl").read_text(encoding="utf-8").splitlines() if x]
    eval_keys = {(norm(e["instruction"]), norm(e["output"])) for e in evals}
    copied = [n for n, r in data.items() if (norm(r.get("instruction")), norm(r.get("output"))) in eval_keys]
    assert tuple(copied) == PLANTED_LINES["contamination"]  # 5 rows of sft_eval.jsonl copied into training
    fmt = PLANTED_LINES["formatting"]
    empty = [n for n in fmt if isinstance(data[n]["output"], str) and not str(data[n]["output"]).strip()]
    assert len(empty) == 4 and sum(not isinstance(data[n]["instruction"], str) for n in fmt) == 1
    assert any("Ã" in str(data[n]["output"]) for n in fmt)  # the mojibake output
    assert len(PLANTED_LINES["pii"]) == 7
    assert all(re.search(r"\d|@", str(data[n]["instruction"])) for n in PLANTED_LINES["pii"])
    assert PLANTED_LINES["relevance"] == tuple(sorted(data)[-4:])  # the 4 off-topic rows at the end
    assert "Heronsgate" not in " ".join(str(data[n]["instruction"]) for n in PLANTED_LINES["relevance"])


def test_every_planted_row_flagged_holds_and_extra_flags_only_lower_precision() -> None:
    flagged = {check: list(lines) for check, lines in PLANTED_LINES.items()}
    flagged["contamination"] += [3, 10]
    v = judge_planted(flagged)
    assert v.rule.verdict is Verdict.HELD
    assert v.recall.estimate == 1.0 and v.precision.estimate < 1.0
    row = v.table.set_index("check").loc["contamination"]
    assert row["precision"] == 5 / 7 and row["other lines flagged"] == "3, 10"
    assert "pooled over these checks: recall +1.000" in v.markdown()


def test_one_missed_planted_row_does_not_hold_and_a_check_not_run_is_inconclusive() -> None:
    flagged = {check: list(lines) for check, lines in PLANTED_LINES.items()}
    flagged["relevance"] = [139, 140, 141]
    v = judge_planted(flagged)
    assert v.rule.verdict is Verdict.DID_NOT_HOLD
    assert [c.name for c in v.rule.failed] == ["relevance: every planted row flagged"]
    assert "missed line 142" in v.rule.markdown()
    partial = {check: list(lines) for check, lines in PLANTED_LINES.items() if check != "pii"}
    w = judge_planted(partial)
    assert w.rule.verdict is Verdict.INCONCLUSIVE and "pii" not in set(w.table.check)


# --- near duplicates planted into rows, and checklist items against planted problems ---------------------------


def small_plant() -> NearPlant:
    # rows 0-5 real; 6 near copy of 0, 7 near copy of 1, 8 far copy of 2
    kind = np.array(["real"] * 6 + ["near", "near", "far"], dtype=object)
    source = np.array([-1] * 6 + [0, 1, 2])
    return NearPlant(pd.DataFrame({"line": range(1, 10)}), kind, source)


def test_grade_near_counts_pairs_in_one_cluster_whichever_row_is_kept() -> None:
    plant = small_plant()
    flags = np.zeros(9, bool)
    flags[[6, 1, 8, 4]] = True  # 6 with 0 kept; 1 with its copy 7 kept; far copy 8 with 2; real 4 with 3
    details = {6: {"kept_row": 0}, 1: {"kept_row": 7}, 8: {"kept_row": 2}, 4: {"kept_row": 3}}
    run = grade_near(flags, details, plant)
    assert (run.near, run.found, run.flagged, run.correct) == (2, 2, 4, 2)
    assert (run.far_flagged, run.other_flagged) == (1, 1)
    flags[:] = False
    flags[6] = True
    none = grade_near(flags, {6: {"kept_row": 3}}, plant)  # clustered with the wrong row
    assert (none.found, none.correct, none.other_flagged) == (0, 0, 1)


def near_runs(found: int, correct: int, near: int = 100, flagged: int = 100, seeds: int = 5) -> list[NearRun]:
    return [NearRun(s, 1000, near, found, flagged, correct, 0, flagged - correct) for s in range(seeds)]


def test_near_claim_held_did_not_hold_and_inconclusive() -> None:
    assert judge_near(near_runs(99, 99, flagged=99)).verdict is Verdict.HELD
    low_recall = judge_near(near_runs(70, 70, flagged=70))
    assert low_recall.verdict is Verdict.DID_NOT_HOLD and low_recall.recall.high < 0.9
    low_precision = judge_near(near_runs(99, 60))
    assert low_precision.verdict is Verdict.DID_NOT_HOLD
    few = judge_near(near_runs(9, 9, near=10, flagged=9, seeds=1))  # 90 % of 10: the interval straddles 0.9
    assert few.verdict is Verdict.INCONCLUSIVE and few.recall.low < 0.9 < few.recall.high
    assert judge_near([]).verdict is Verdict.INCONCLUSIVE
    assert "**held**" in judge_near(near_runs(99, 99, flagged=99)).markdown()


def problem_plant() -> ProblemPlant:
    # 400 rows; 40 PII rows (0-39), 40 exact copies (100-139) of rows 200-239
    rows = {"personal_data": np.arange(40), "exact_duplicate": np.arange(100, 140)}
    records = pd.DataFrame({"line": range(1, 401)})
    return ProblemPlant(records, pd.DataFrame(), rows, {100 + k: 200 + k for k in range(40)})


ITEMS = {"pii": ("personal_data",), "exact": ("exact_duplicate",)}


def results(pii_caught: int, exact_outcome: str = "fail", pii_outcome: str = "fail") -> dict:
    pii, exact = np.zeros(400, bool), np.zeros(400, bool)
    pii[:pii_caught] = True
    pii[390] = True  # one flag on an unplanted row: lowers precision only
    exact[100:120] = True  # half the copies flagged...
    exact[220:240] = True  # ...the other half by their source: every pair caught
    return {"pii": (pii_outcome, pii), "exact": (exact_outcome, exact)}


def test_checklist_plants_held_when_every_item_flags_and_finds_its_rows() -> None:
    v = judge_checklist_plants(results(40), problem_plant(), ITEMS, golden_outcome="warn")
    assert v.rule.verdict is Verdict.HELD
    table = v.table.set_index("item")
    assert table.loc["exact", "caught"] == 40 and table.loc["exact", "precision"] == 1.0
    assert table.loc["pii", "precision"] == 40 / 41 and v.recall.estimate == 1.0


def test_checklist_plants_did_not_hold_on_a_passing_item_or_low_recall() -> None:
    passed = judge_checklist_plants(results(40, exact_outcome="pass"), problem_plant(), ITEMS)
    assert passed.rule.verdict is Verdict.DID_NOT_HOLD and [c.name.split(":")[0] for c in passed.rule.failed] == [
        "exact"
    ]
    low = judge_checklist_plants(results(20), problem_plant(), ITEMS)  # 20 of 40: wholly below 0.8
    assert low.rule.verdict is Verdict.DID_NOT_HOLD
    golden = judge_checklist_plants(results(40), problem_plant(), ITEMS, golden_outcome="pass")
    assert golden.rule.verdict is Verdict.DID_NOT_HOLD


def test_checklist_plants_inconclusive_when_recall_straddles_or_an_item_did_not_run() -> None:
    straddle = judge_checklist_plants(results(35), problem_plant(), ITEMS)  # 35 of 40: [0.74, 0.95]
    assert straddle.rule.verdict is Verdict.INCONCLUSIVE
    row = straddle.table.set_index("item").loc["pii"]
    assert row["caught"] == 35 and float(row["recall 95 %"][1:5]) < MIN_ITEM_RECALL
    assert row["missed lines"] == "36, 37, 38, 39, 40"  # rows 35-39, by their line
    skipped = judge_checklist_plants(results(40, pii_outcome="not_evaluated"), problem_plant(), ITEMS)
    assert skipped.rule.verdict is Verdict.INCONCLUSIVE and "pii" not in set(skipped.table["item"])
