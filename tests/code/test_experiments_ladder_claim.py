"""The escalation-ladder page's rule verdicts on constructed scenario tables: held on the real decisions, did not
hold when a decision breaks the chapter's rule, inconclusive when no scenario exercises a statement."""

from __future__ import annotations

import json

from playbook_lib.decide.ladder import Action, AgentBudget, BudgetExceeded, Decision, LadderState, Rung, recommend
from playbook_lib.experiments.ladder_claim import Case, judge_boundary, judge_guard, judge_ladder, judge_log
from playbook_lib.experiments.verdict import Verdict

S = LadderState
SCENARIOS = [
    ("no harness", {"knowledge_missing": 30, "none": 70}, S(has_evals=False)),
    ("facts missing", {"knowledge_missing": 35, "none": 65}, S(has_evals=True)),
    ("facts missing on RAG", {"knowledge_missing": 18, "none": 82}, S(rung=Rung.RAG, has_evals=True, has_rag=True)),
    ("format, untried", {"behavior_format": 25, "none": 75}, S(has_evals=True)),
    (
        "format, 450",
        {"behavior_format": 15, "none": 85},
        S(has_evals=True, tried_prompt_constraints=True, n_curated_examples=450),
    ),
    ("reasoning", {"reasoning": 20, "none": 80}, S(has_evals=True)),
]


def cases(scenarios=SCENARIOS, min_examples: int = 300) -> list[Case]:
    return [Case(n, f, s, recommend(f, s, min_finetune_examples=min_examples)) for n, f, s in scenarios]


def test_the_real_decisions_hold_the_ladders_rule() -> None:
    v = judge_ladder(cases(), 300)
    assert v.verdict is Verdict.HELD, v.markdown()
    assert len(v.checks) == 6


def test_a_fine_tune_for_missing_knowledge_does_not_hold() -> None:
    table = cases()
    bad = Decision(Action.PEFT_FINE_TUNE, Rung.FINE_TUNE, ["tune it"], dict(table[1].decision.evidence))
    table[1] = Case(table[1].name, table[1].failures, table[1].state, bad)
    v = judge_ladder(table, 300)
    assert v.verdict is Verdict.DID_NOT_HOLD
    assert {c.name for c in v.failed} == {
        "knowledge failures -> a RAG rung, never a weight change",
        "PEFT only after prompt constraints and with >= 300 curated examples",
    }
    assert "facts missing" in v.failed[0].detail


def test_a_fine_tune_below_the_example_threshold_does_not_hold() -> None:
    # the function's own threshold (100) is lower than the one the claim states (300)
    v = judge_ladder(
        cases(
            SCENARIOS[:4]
            + [
                (
                    "format, 150",
                    {"behavior_format": 15, "none": 85},
                    S(has_evals=True, tried_prompt_constraints=True, n_curated_examples=150),
                )
            ]
            + SCENARIOS[5:],
            100,
        ),
        300,
    )
    assert v.verdict is Verdict.DID_NOT_HOLD


def test_a_table_without_a_reasoning_scenario_is_inconclusive() -> None:
    v = judge_ladder(cases(SCENARIOS[:-1]), 300)
    assert v.verdict is Verdict.INCONCLUSIVE
    assert any(c.passed is None and c.name.startswith("reasoning") for c in v.checks)


def test_boundary_flips_at_the_threshold_and_not_elsewhere() -> None:
    fmt = {"behavior_format": 15, "none": 85}
    actions = {
        n: recommend(fmt, S(has_evals=True, tried_prompt_constraints=True, n_curated_examples=n)).action
        for n in (0, 299, 300, 600)
    }
    assert judge_boundary(actions, 300).verdict is Verdict.HELD
    assert judge_boundary(actions, 200).verdict is Verdict.DID_NOT_HOLD  # 299 collects examples although >= 200
    assert judge_boundary({0: Action.COLLECT_EXAMPLES}, 300).verdict is Verdict.INCONCLUSIVE


def test_guard_stops_the_runaway_and_lets_a_workflow_finish() -> None:
    runaway, stopped = AgentBudget(max_steps=4, max_cost=10.0), False
    try:
        while True:
            runaway.step(0.1)
    except BudgetExceeded:
        stopped = True
    workflow = AgentBudget(max_steps=3, max_cost=1.0)
    for cost in (0.1, 0.1, 0.1):
        workflow.step(cost)
    assert judge_guard(runaway, stopped, workflow, 3).verdict is Verdict.HELD
    assert judge_guard(runaway, False, workflow, 3).verdict is Verdict.DID_NOT_HOLD
    unstopped = AgentBudget(max_steps=4)
    unstopped.step()
    assert judge_guard(unstopped, True, workflow, 3).verdict is Verdict.DID_NOT_HOLD  # raised below every limit
    assert judge_guard(runaway, stopped, workflow, 5).verdict is Verdict.DID_NOT_HOLD  # workflow cut short


def test_log_needs_one_json_record_per_decision_in_order() -> None:
    ds = [c.decision for c in cases()]
    lines = [d.to_json() for d in ds]
    assert judge_log(lines, ds).verdict is Verdict.HELD
    assert judge_log(lines[:-1], ds).verdict is Verdict.DID_NOT_HOLD
    assert judge_log(lines[:-1] + ["not json"], ds).verdict is Verdict.DID_NOT_HOLD
    swapped = [lines[1], lines[0], *lines[2:]]
    assert judge_log(swapped, ds).verdict is Verdict.DID_NOT_HOLD
    stripped = [json.dumps({"action": d.action.value}) for d in ds]
    assert judge_log(stripped, ds).verdict is Verdict.DID_NOT_HOLD
