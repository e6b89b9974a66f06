"""The production-checklists page's rule verdicts on constructed reports: held when the planted items are flagged
and the CLI agrees, did not hold when an item misses its planted problem or a grade ignores its thresholds,
inconclusive when nothing is planted or a metric cannot be placed between thresholds."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from playbook_lib.checklist.parse import parse_checklist_text
from playbook_lib.checklist.report import to_json
from playbook_lib.checklist.run import exit_code, run_checklist
from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.statistics import wilson_interval
from playbook_lib.data import records_from_rows
from playbook_lib.experiments.checklist_claim import (
    detection,
    judge_cli,
    judge_planted,
    judge_routing,
    judge_thresholds,
    outcomes,
)
from playbook_lib.experiments.verdict import Verdict

SPEC = parse_checklist_text(
    "name: t\nitems:\n"
    "  - id: dup\n    title: duplicates\n    check: exact_duplicates\n    warn: 0.0\n    fail: 0.05\n"
    "  - id: fmt\n    title: formatting\n    check: formatting\n    warn: 0.0\n    fail: 0.5\n"
)


def report(duplicates: int = 1):
    rows = [{"instruction": f"question {i}", "output": f"answer {i}"} for i in range(8)]
    rows += [{"instruction": "question 0", "output": "answer 0"}] * duplicates
    return run_checklist(SPEC, records_from_rows(rows), CheckContext())


def test_planted_items_flagged_hold_and_a_missed_one_does_not() -> None:
    planted = {"a": "dups", "b": "pii"}
    assert judge_planted({"a": "warn", "b": "fail", "c": "pass"}, planted).verdict is Verdict.HELD
    missed = judge_planted({"a": "warn", "b": "pass"}, planted)
    assert missed.verdict is Verdict.DID_NOT_HOLD and [c.name for c in missed.failed] == ["b warns or fails"]
    # an item that could not run (or is missing from the checklist) is not measured: never a pass
    assert judge_planted({"a": "warn", "b": "not_evaluated"}, planted).verdict is Verdict.INCONCLUSIVE
    assert judge_planted({"a": "warn"}, planted).verdict is Verdict.INCONCLUSIVE
    assert judge_planted({"a": "warn"}, {}).verdict is Verdict.INCONCLUSIVE  # other files: no ground truth


def test_only_the_planted_gap_is_flagged() -> None:
    planted = {"g": "no audit log"}
    assert judge_planted({"g": "warn", "x": "pass", "y": "not_evaluated"}, planted, True).verdict is Verdict.HELD
    v = judge_planted({"g": "warn", "x": "fail"}, planted, True)
    assert v.verdict is Verdict.DID_NOT_HOLD and "flagged: x" in v.failed[0].detail


def test_detection_is_a_wilson_share_of_the_evaluated_planted_items() -> None:
    found = {"a": "warn", "b": "fail", "c": "pass", "d": "not_evaluated", "e": "fail"}
    share = detection(found, dict.fromkeys("abcde", "x"))
    low, high = wilson_interval(3, 4, 1.959963984540054)
    assert share.n == 4 and share.estimate == 0.75
    assert abs(share.low - low) < 1e-9 and abs(share.high - high) < 1e-9


def test_thresholds_move_the_outcome() -> None:
    dup = report().items[0]
    assert dup.result.outcome is Outcome.FAIL  # 1 of 9 rows, above fail 0.05
    v = judge_thresholds(dup, sliders=(0.0, 0.05))
    assert v.verdict is Verdict.HELD, v.markdown()
    assert "warn > 0, fail > 0.05: fail" in v.checks[0].detail
    # a widget that shows other thresholds than the file's does not agree with what was used
    assert judge_thresholds(dup, sliders=(0.01, 0.05)).verdict is Verdict.DID_NOT_HOLD
    # a recorded outcome that its own thresholds do not give
    wrong = dataclasses.replace(dup, result=dataclasses.replace(dup.result, outcome=Outcome.PASS))
    assert judge_thresholds(wrong).verdict is Verdict.DID_NOT_HOLD


def test_a_metric_at_its_edge_cannot_be_placed_between_thresholds() -> None:
    clean = report(duplicates=0).items[0]
    v = judge_thresholds(clean)
    assert clean.result.summary["duplicate_rate"] == 0.0
    assert v.verdict is Verdict.INCONCLUSIVE
    assert {c.name for c in v.checks if c.passed is None} == {
        "warns at thresholds placed for it",
        "fails at thresholds placed for it",
    }


def test_cli_must_agree_item_by_item() -> None:
    r = report()
    code = int(exit_code(r))
    cli = json.loads(to_json(r))
    assert judge_cli(r, code, code, cli).verdict is Verdict.HELD
    assert judge_cli(r, code, 0, cli).verdict is Verdict.DID_NOT_HOLD
    changed = {**cli, "items": [{**cli["items"][0], "outcome": "pass"}, *cli["items"][1:]]}
    v = judge_cli(r, code, code, changed)
    assert v.verdict is Verdict.DID_NOT_HOLD and "differ: dup" in v.failed[0].detail
    assert judge_cli(r, code, code, None).verdict is Verdict.INCONCLUSIVE
    assert outcomes(r) == {"dup": "fail", "fmt": "pass"}


def sweep(success, cost, rates=None) -> pd.DataFrame:
    t = [0.0, 0.5, 0.7, 1.0]
    return pd.DataFrame(
        {
            "threshold": t,
            "escalation_rate": rates or [0.0, 0.2, 0.5, 1.0],
            "routed_success": success,
            "strong_only_success": [0.9] * 4,
            "routed_cost_per_task": cost,
            "strong_only_cost_per_task": [1.0] * 4,
        }
    )


def test_routing_trades_cost_for_success() -> None:
    assert judge_routing(sweep([0.6, 0.8, 0.95, 0.9], [0.1, 0.3, 0.7, 1.1])).verdict is Verdict.HELD
    # no threshold is both cheaper and as good: the trade the plan relies on is not there
    no_gain = judge_routing(sweep([0.6, 0.8, 0.85, 0.9], [0.1, 0.3, 0.7, 1.1]))
    assert no_gain.verdict is Verdict.DID_NOT_HOLD
    falling = judge_routing(sweep([0.6, 0.8, 0.95, 0.9], [0.1, 0.3, 0.2, 1.1]))
    assert [c.name for c in falling.failed] == ["routed cost per task never falls as the threshold rises"]
    assert judge_routing(sweep([0.6, 0.8, 0.95, 0.9], [0.1, 0.3, 0.7, 1.1]).head(1)).verdict is Verdict.INCONCLUSIVE
