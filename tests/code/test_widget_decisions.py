"""The decision explorers (dm_01, dm_08, dm_10) show, for each setting, what the library decides at it."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from playbook_lib.decide import recommend as rec
from playbook_lib.decide.evals import load_eval_results
from playbook_lib.decide.ladder import AgentBudget, BudgetExceeded, LadderState, Rung, recommend
from playbook_lib.decide.select import load_catalog, load_requirements
from playbook_lib.experiments.budget import Budget, budget_verdict, review_curve, upgrade_cost_per_1m
from playbook_lib.experiments.tasks import TextTask
from playbook_lib.sample_data import path as sample_path
from playbook_lib.widgets.decisions import (
    budget_split_explorer,
    budget_split_html,
    default_path_explorer,
    guard_explorer,
    guard_html,
    ladder_explorer,
    ladder_html,
    reviews_on_grid,
    steps_html,
)

SCENARIOS = [
    ("no evals", {"knowledge_missing": 30, "none": 70}, LadderState()),
    (
        "format after prompt fixes",
        {"behavior_format": 15, "none": 85},
        LadderState(has_evals=True, tried_prompt_constraints=True, n_curated_examples=120),
    ),
    ("facts on RAG", {"knowledge_missing": 18, "none": 82}, LadderState(rung=Rung.RAG, has_evals=True, has_rag=True)),
]


def test_ladder_explorer_shows_recommend_at_each_setting() -> None:
    explorer = ladder_explorer(SCENARIOS, tolerance=0.05, min_finetune_examples=300)
    assert explorer.initial() == {"tolerance": 0.05, "min_finetune_examples": 300}
    for tolerance in (0.0, 0.05, 0.2):
        for examples in (100, 300):
            shown = explorer.output(tolerance=tolerance, min_finetune_examples=examples)
            assert shown == ladder_html(SCENARIOS, tolerance, examples, baseline=(0.05, 300))
            for _, failures, state in SCENARIOS:
                action = recommend(failures, state, tolerance=tolerance, min_finetune_examples=examples).action
                assert f"data-pb-action='{action}'" in shown
    start = explorer.output(tolerance=0.05, min_finetune_examples=300)
    assert "0 of 3 scenarios change" in start and "collect_examples" in start
    assert "peft_fine_tune" in explorer.output(tolerance=0.05, min_finetune_examples=100)  # 120 examples now enough
    loose = explorer.output(tolerance=0.2, min_finetune_examples=300)
    assert "2 of 3 scenarios change" in loose and "(was advanced_rag)" in loose
    state = explorer.inputs["scenarios"][2]["state"]
    assert LadderState(**state) == SCENARIOS[2][2]  # the exported state rebuilds the scenario


@pytest.fixture(scope="module")
def dm10_inputs():
    req = load_requirements(sample_path("requirements_profile.yaml"))
    catalog = load_catalog(sample_path("model_catalog.yaml"))
    evals = load_eval_results(sample_path("model_evals.jsonl"))
    return req, catalog, evals, rec.DatasetFacts(120, True, True)


def test_default_path_explorer_shows_default_path_at_each_setting(dm10_inputs, tmp_path) -> None:
    req, catalog, evals, facts = dm10_inputs
    explorer = default_path_explorer(req, catalog, evals, facts, model="open-weights-8b")
    assert explorer.initial() == {
        "tolerance": 0.05,
        "min_examples": 300,
        "min_repeats": 3,
        "curated_examples": 120,
        "tried": "yes",
    }
    seen = set()
    for setting in (
        {"tolerance": 0.05, "min_examples": 300, "min_repeats": 3, "curated_examples": 120, "tried": "yes"},
        {"tolerance": 0.05, "min_examples": 300, "min_repeats": 3, "curated_examples": 300, "tried": "yes"},
        {"tolerance": 0.05, "min_examples": 100, "min_repeats": 3, "curated_examples": 120, "tried": "yes"},
        {"tolerance": 0.2, "min_examples": 300, "min_repeats": 1, "curated_examples": 1000, "tried": "no"},
    ):
        facts_at = dataclasses.replace(
            facts, curated_examples=setting["curated_examples"], tried_prompt_constraints=setting["tried"] == "yes"
        )
        steps = rec.default_path(
            req,
            catalog,
            evals,
            facts_at,
            model="open-weights-8b",
            tolerance=setting["tolerance"],
            min_examples=setting["min_examples"],
            min_repeats=setting["min_repeats"],
        )
        shown = explorer.output(**setting)
        assert shown == steps_html(steps)
        seen.add(shown)
    assert len(seen) == 4
    assert "PEFT fine-tune</td><td data-pb-taken='true'>" in explorer.output(
        tolerance=0.05, min_examples=300, min_repeats=3, curated_examples=300, tried="yes"
    )
    # every knob moves the page's own setting: the sample's behaviour gap spans 5 tasks, so 6 repeats block PEFT
    start = explorer.output(**explorer.initial())
    for name in ("tolerance", "min_examples", "min_repeats", "curated_examples", "tried"):
        control = next(c for c in explorer.controls if c.name == name)
        moved = {explorer.output(**{**explorer.initial(), name: v}) for v in control.values}
        assert moved - {start}, f"{name} never changes the path from the page's setting"
    # the exported eval rows, written back as JSONL, load into the same decisions
    path = tmp_path / "evals.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in explorer.inputs["evals"]))
    again = load_eval_results(path)
    assert rec.default_path(req, catalog, again, facts, model="open-weights-8b") == rec.default_path(
        req, catalog, evals, facts, model="open-weights-8b"
    )


def _curve() -> tuple[pd.DataFrame, list[int]]:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    x = np.vstack([rng.normal(c, 1.0, size=(40, 3)) for c in np.eye(3) * 4])
    task = TextTask("blobs", [f"t{i}" for i in range(len(y))], y, ["a", "b", "c"], [f"f:{i}" for i in range(len(y))])
    counts = reviews_on_grid(60.0, 0.5)
    better = x + rng.normal(0, 0.5, size=x.shape)
    return review_curve(task, x, better, counts, test_per_class=10, noise_rate=0.3, seeds=[0, 1, 2]), counts


def test_budget_split_explorer_shows_budget_and_arms_at_each_setting() -> None:
    curve, counts = _curve()
    assert 120 in counts and 240 in counts  # the page's 60 EUR at 0.50, and 60 at 0.25
    explorer = budget_split_explorer(curve, 10_000.0, 400.0, 60.0, 0.5, 0.05, 1e7)
    assert explorer.initial() == {
        "budget_eur": 60.0,
        "label_cost_eur": 0.5,
        "eur_per_cpu_hour": 0.05,
        "requests_per_month": 1e7,
    }
    seen = set()
    for euros, cost, cpu, traffic in (
        (60.0, 0.5, 0.05, 1e7),
        (10.0, 0.5, 0.05, 1e7),
        (60.0, 2.0, 0.05, 1e7),
        (60.0, 0.5, 0.2, 1e7),
        (60.0, 0.5, 0.05, 1e8),
    ):
        shown = explorer.output(budget_eur=euros, label_cost_eur=cost, eur_per_cpu_hour=cpu, requests_per_month=traffic)
        assert shown == budget_split_html(curve, 10_000.0, 400.0, euros, cost, cpu, traffic)
        b = Budget(euros, cost, upgrade_cost_per_1m(10_000.0, 400.0, cpu))
        assert f"{b.reviews:,} reviewed rows" in shown
        assert f"{b.months_covered(traffic):,.1f} months" in shown
        rows = curve[curve["reviews_bought"] == b.reviews]
        assert f"<td>{rows['data_centric'].mean():.3f}</td>" in shown
        assert f"data-pb-outcome='{budget_verdict(rows).value}'" in shown
        seen.add(shown)
    assert len(seen) == 5  # every knob moves the output
    assert {r["reviews_bought"] for r in explorer.inputs["curve"]} == set(counts)
    with pytest.raises(ValueError, match="lacks the review counts"):
        budget_split_explorer(curve[curve["reviews_bought"] != 120], 10_000.0, 400.0, 60.0, 0.5, 0.05, 1e7)


def test_guard_explorer_stops_where_agent_budget_does() -> None:
    costs = [0.02 + 0.01 * n for n in range(1, 101)]  # dm_08's runaway agent: each step dearer
    explorer = guard_explorer(costs, max_steps=8, max_cost=0.5)
    assert explorer.initial() == {"max_steps": 8, "max_cost": 0.5}
    for steps, cap in ((8, 0.5), (4, 0.5), (24, 4.0), (2, 0.1)):
        budget = AgentBudget(max_steps=steps, max_cost=cap)
        with pytest.raises(BudgetExceeded) as stop:
            for cost in costs:
                budget.step(cost)
        shown = explorer.output(max_steps=steps, max_cost=cap)
        assert shown == guard_html(costs, steps, cap)
        assert f"steps taken: {budget.steps}, spent ${budget.spent:.2f}" in shown
        assert str(stop.value) in shown
    assert "the cost limit fired first" in explorer.output(max_steps=8, max_cost=0.5)  # 0.52 after step 8
    assert "the step limit fired first" in explorer.output(max_steps=4, max_cost=0.5)
    assert "all 3 steps ran" in guard_html([0.001, 0.03, 0.002], 3, 0.5)  # the page's workflow finishes
