"""Cost per successful task and routing-plan arithmetic, checked against hand-computed numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from playbook_lib.decide.cost import (
    PathStats,
    cost_per_successful_task,
    cost_table,
    plan_routing,
    plan_routing_from_evals,
)

ATTEMPTS = [
    # task a: fails once, succeeds on the retry; task b: succeeds first time; task c: fails twice.
    {"task_id": "a", "attempt": 1, "cost": 0.02, "success": False},
    {"task_id": "a", "attempt": 2, "cost": 0.02, "success": True},
    {"task_id": "b", "attempt": 1, "cost": 0.02, "success": True},
    {"task_id": "c", "attempt": 1, "cost": 0.03, "success": False},
    {"task_id": "c", "attempt": 2, "cost": 0.03, "success": False},
]


def test_cost_per_success_counts_failed_attempts_and_retries() -> None:
    r = cost_per_successful_task(ATTEMPTS)
    assert r.total_cost == pytest.approx(0.12)
    assert (r.n_attempts, r.n_tasks, r.n_successes) == (5, 3, 2)
    assert r.cost_per_success == pytest.approx(0.06)  # not 0.02 per call, not 0.12/5
    assert r.success_rate == pytest.approx(2 / 3)
    assert r.attempts_per_task == pytest.approx(5 / 3)
    assert r.note == ""


def test_dataframe_input_and_task_counted_once() -> None:
    df = pd.DataFrame(ATTEMPTS + [{"task_id": "b", "attempt": 2, "cost": 0.04, "success": True}])
    r = cost_per_successful_task(df)
    assert r.n_successes == 2
    assert r.cost_per_success == pytest.approx(0.16 / 2)


def test_no_success_is_infinite_not_a_crash() -> None:
    r = cost_per_successful_task([{"task_id": 1, "attempt": 1, "cost": 0.5, "success": False}])
    assert r.cost_per_success == math.inf
    assert r.n_successes == 0
    assert "no task succeeded" in r.note


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([], "no eval attempts"),
        ([{"task_id": "a", "attempt": 1, "cost": 1.0}], "success"),
        ([{"task_id": "a", "attempt": 1, "cost": -1.0, "success": True}], "cost must be"),
        ([{"task_id": "a", "attempt": 1, "cost": "cheap", "success": True}], "cost must be"),
        ([{"task_id": "a", "attempt": 1, "cost": 1.0, "success": "maybe"}], "success must be"),
        (
            [{"task_id": "a", "attempt": 1, "cost": 1.0, "success": True}] * 2,
            "duplicate attempt",
        ),
    ],
)
def test_impossible_inputs_raise(rows: list[dict], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cost_per_successful_task(rows)


def test_routing_plan_hand_computed() -> None:
    cheap = PathStats("small", cost=0.001, success_rate=0.8)
    strong = PathStats("large", cost=0.02, success_rate=0.95)
    plan = plan_routing(cheap, strong, escalate_if_failed=0.9, escalate_if_succeeded=0.1)
    # escalated: 0.8*0.1 + 0.2*0.9 = 0.26; success: 0.8*0.9 + 0.26*0.95 = 0.967; cost: 0.001 + 0.26*0.02 = 0.0062
    assert plan.escalation_rate == pytest.approx(0.26)
    assert plan.expected_success == pytest.approx(0.967)
    assert plan.expected_cost == pytest.approx(0.0062)
    assert plan.cost_per_success == pytest.approx(0.0062 / 0.967)
    assert plan.baselines["strong_only"]["cost_per_success"] == pytest.approx(0.02 / 0.95)
    assert plan.baselines["cheap_only"]["expected_success"] == 0.8
    # Routing beats "always strong" on cost per success here.
    assert plan.cost_per_success < plan.baselines["strong_only"]["cost_per_success"]


def test_perfect_detection_and_no_escalation_limits() -> None:
    cheap = PathStats("c", 1.0, 0.5)
    strong = PathStats("s", 10.0, 1.0)
    perfect = plan_routing(cheap, strong)
    assert (perfect.expected_success, perfect.expected_cost) == (1.0, 6.0)
    never = plan_routing(cheap, strong, escalate_if_failed=0.0)
    assert (never.expected_success, never.expected_cost, never.escalation_rate) == (0.5, 1.0, 0.0)
    dead = plan_routing(PathStats("c", 1.0, 0.0), PathStats("s", 1.0, 0.0))
    assert dead.cost_per_success == math.inf


def test_routing_from_eval_confidences() -> None:
    conf = [0.9, 0.8, 0.3, 0.95, 0.2, 0.6]
    ok = [True, True, True, False, False, True]
    strong = PathStats("strong", 0.05, 0.9)
    plan = plan_routing_from_evals(conf, ok, cheap_cost=0.01, strong=strong, threshold=0.5, failures_detectable=False)
    # escalated: conf < 0.5 -> tasks 2 (ok) and 4 (fail): 1/4 of successes, 1/2 of failures
    assert plan.cheap.success_rate == pytest.approx(4 / 6)
    assert plan.escalation_rate == pytest.approx(2 / 6)
    assert plan.expected_success == pytest.approx(3 / 6 + (2 / 6) * 0.9)
    assert plan.expected_cost == pytest.approx(0.01 + (2 / 6) * 0.05)
    caught = plan_routing_from_evals(conf, ok, 0.01, strong, threshold=0.5, failures_detectable=True)
    assert caught.escalation_rate == pytest.approx(3 / 6)
    assert caught.expected_success > plan.expected_success


@pytest.mark.parametrize(
    "call",
    [
        lambda: PathStats("x", -1.0, 0.5),
        lambda: PathStats("x", 1.0, 1.5),
        lambda: plan_routing(PathStats("a", 1, 0.5), PathStats("b", 1, 0.5), escalate_if_failed=2.0),
        lambda: plan_routing_from_evals([0.5], [True, False], 1.0, PathStats("b", 1, 0.5), 0.5),
        lambda: plan_routing_from_evals([], [], 1.0, PathStats("b", 1, 0.5), 0.5),
    ],
)
def test_routing_rejects_impossible_inputs(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()


def test_cost_table_per_model_cheap_per_call_is_not_cheap_per_success() -> None:
    rows = [
        # "mini" costs 1 per call but needs retries and fails a task; "max" costs 3 and succeeds first time.
        {"model": "mini", "task_id": t, "attempt": a, "cost": 1.0, "success": ok}
        for t, a, ok in [
            (1, 1, False),
            (1, 2, False),
            (1, 3, True),
            (2, 1, False),
            (2, 2, False),
            (2, 3, False),
            (3, 1, False),
            (3, 2, True),
        ]
    ] + [{"model": "max", "task_id": t, "attempt": 1, "cost": 3.0, "success": True} for t in (1, 2, 3)]
    table = cost_table(rows, by="model")
    assert table["model"].tolist() == ["max", "mini"]
    assert table["cost_per_success"].tolist() == pytest.approx([3.0, 4.0])  # mini: 8 spent / 2 successes
    assert table.loc[1, "success_rate"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="grouping column"):
        cost_table(rows, by="provider")
