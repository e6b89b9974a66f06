"""The escalation ladder on table-driven cases (one per branch), decision records, and the agent budget guard."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from playbook_lib.decide.ladder import Action, AgentBudget, BudgetExceeded, Decision, LadderState, Rung, recommend

S = LadderState
CASES = [
    # id, failure counts, state, expected action, expected rung
    ("no evals", {"knowledge_missing": 50, "none": 10}, S(has_evals=False), "build_evals", Rung.CUSTOM_EVALS),
    ("no results", {}, S(has_evals=True), "build_evals", Rung.CUSTOM_EVALS),
    ("within tolerance", {"knowledge_missing": 2, "none": 98}, S(has_evals=True), "stay", Rung.PROMPTING),
    (
        "knowledge, no rag",
        {"knowledge_missing": 30, "behavior_format": 5, "none": 65},
        S(has_evals=True),
        "add_rag",
        Rung.RAG,
    ),
    (
        "knowledge, on rag",
        {"knowledge_missing": 30, "none": 70},
        S(Rung.RAG, has_evals=True, has_rag=True),
        "advanced_rag",
        Rung.ADVANCED_RAG,
    ),
    (
        "knowledge, on advanced rag",
        {"knowledge_missing": 30, "none": 70},
        S(Rung.ADVANCED_RAG, has_evals=True, has_rag=True, n_curated_examples=5000),
        "fix_corpus_or_retrieval",
        Rung.ADVANCED_RAG,
    ),
    (
        "behaviour, untried prompts",
        {"behavior_format": 40, "knowledge_missing": 10, "none": 50},
        S(has_evals=True, n_curated_examples=1000),
        "prompt_constraints",
        Rung.PROMPTING,
    ),
    (
        "behaviour, untried prompts, on rag",
        {"behavior_format": 40, "none": 60},
        S(Rung.RAG, has_evals=True, has_rag=True),
        "prompt_constraints",
        Rung.RAG,
    ),
    (
        "behaviour, untried prompts, on advanced rag",
        {"behavior_format": 40, "none": 60},
        S(Rung.ADVANCED_RAG, has_evals=True, has_rag=True, n_curated_examples=1000),
        "prompt_constraints",
        Rung.ADVANCED_RAG,
    ),
    (
        "behaviour, untried prompts, on custom evals",
        {"behavior_format": 40, "none": 60},
        S(Rung.CUSTOM_EVALS, has_evals=True, has_rag=True),
        "prompt_constraints",
        Rung.CUSTOM_EVALS,
    ),
    (
        "behaviour, enough examples",
        {"behavior_format": 40, "none": 60},
        S(Rung.RAG, has_evals=True, has_rag=True, tried_prompt_constraints=True, n_curated_examples=300),
        "peft_fine_tune",
        Rung.FINE_TUNE,
    ),
    (
        "behaviour, too few examples",
        {"behavior_format": 40, "none": 60},
        S(has_evals=True, tried_prompt_constraints=True, n_curated_examples=299),
        "collect_examples",
        Rung.PROMPTING,
    ),
    (
        "reasoning",
        {"reasoning": 25, "knowledge_missing": 5, "none": 70},
        S(has_evals=True, has_rag=True),
        "reasoning_model",
        Rung.PROMPTING,
    ),
    ("cost, no routing", {"cost_latency": 20, "none": 80}, S(has_evals=True), "route_cheap_strong", Rung.PROMPTING),
    ("cost, routed", {"cost_latency": 20, "none": 80}, S(has_evals=True, has_routing=True), "distill", Rung.FINE_TUNE),
    (
        "tie knowledge/behaviour -> knowledge",
        {"knowledge_missing": 10, "behavior_format": 10, "none": 80},
        S(has_evals=True),
        "add_rag",
        Rung.RAG,
    ),
]


@pytest.mark.parametrize(("failures", "state", "action", "rung"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_ladder_branches(failures: dict[str, int], state: LadderState, action: str, rung: Rung) -> None:
    d = recommend(failures, state)
    assert (d.action, d.rung) == (action, rung)
    assert isinstance(d.action, Action) and d.action is Action(action)
    assert d.reasons and all(isinstance(r, str) and r for r in d.reasons)
    assert d.evidence["counts"]["none"] == failures.get("none", 0)


def test_actions_read_as_their_strings() -> None:
    """Action is a str enum: equal to, hashed as, printed, formatted and serialised as its value."""
    d = recommend({"knowledge_missing": 5, "none": 5}, LadderState(has_evals=True))
    assert d.action == "add_rag" and d.action in {"add_rag"} and {"add_rag": 1}[d.action] == 1
    assert (str(d.action), f"{d.action}", f"{d.action:>8}") == ("add_rag", "add_rag", " add_rag")
    assert json.dumps(d.action) == '"add_rag"' and type(d.to_dict()["action"]) is str
    assert json.loads(d.to_json())["action"] == "add_rag"
    assert {a.value for a in Action} == {c[3] for c in CASES}


def test_every_action_is_covered_by_the_table() -> None:
    actions = {c[3] for c in CASES}
    assert actions == {
        "build_evals",
        "stay",
        "add_rag",
        "advanced_rag",
        "fix_corpus_or_retrieval",
        "prompt_constraints",
        "peft_fine_tune",
        "collect_examples",
        "reasoning_model",
        "route_cheap_strong",
        "distill",
    }


def test_never_steps_down_a_rung_except_to_build_evals() -> None:
    # Whatever the failures, the recommended rung is never below the current one (building evals is the only
    # move that can go "sideways", and it goes to CUSTOM_EVALS).
    mixes = [
        {"knowledge_missing": 30, "none": 70},
        {"behavior_format": 30, "none": 70},
        {"reasoning": 30, "none": 70},
        {"cost_latency": 30, "none": 70},
        {"none": 100},
    ]
    for rung in Rung:
        for tried in (False, True):
            state = S(rung, has_evals=True, has_rag=rung >= Rung.RAG, tried_prompt_constraints=tried)
            for failures in mixes:
                d = recommend(failures, state)
                assert d.rung >= rung, (rung, tried, failures, d.action, d.rung)


def test_rag_for_knowledge_never_fine_tune() -> None:
    # Thousands of curated examples do not make fine-tuning the answer to missing knowledge.
    for rung in (Rung.RAG, Rung.ADVANCED_RAG):
        d = recommend(
            {"knowledge_missing": 90, "none": 10},
            S(rung, has_evals=True, has_rag=True, tried_prompt_constraints=True, n_curated_examples=10**5),
        )
        assert d.rung != Rung.FINE_TUNE


def test_tolerance_and_threshold_are_parameters() -> None:
    f = {"behavior_format": 4, "none": 96}
    assert recommend(f, S(has_evals=True)).action == "stay"
    assert recommend(f, S(has_evals=True), tolerance=0.01).action == "prompt_constraints"
    st = S(has_evals=True, tried_prompt_constraints=True, n_curated_examples=150)
    assert recommend({"behavior_format": 40, "none": 60}, st, min_finetune_examples=100).action == "peft_fine_tune"


def test_decision_records_as_json_line(tmp_path: Path) -> None:
    d = recommend({"knowledge_missing": 30, "none": 70}, S(has_evals=True))
    row = json.loads(d.to_json())
    assert row["action"] == "add_rag" and row["rung"] == "rag"
    assert row["evidence"]["dominant"] == "knowledge_missing"
    assert row["evidence"]["failure_share"] == pytest.approx(0.3)
    assert row["evidence"]["state"]["rung"] == "prompting"
    assert "\n" not in d.to_json()
    log = tmp_path / "decisions.jsonl"
    d.append_to(log)
    d.append_to(log)
    assert [json.loads(x)["action"] for x in log.read_text().splitlines()] == ["add_rag", "add_rag"]
    assert isinstance(d, Decision)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: recommend({"hallucination": 3}, S(has_evals=True)), "unknown failure categories"),
        (lambda: recommend({"reasoning": -1}, S(has_evals=True)), ">= 0"),
        (lambda: S(Rung.RAG, has_rag=False), "has_rag"),
        (lambda: S("moonshot"), "unknown rung"),
        (lambda: S(n_curated_examples=-1), ">= 0"),
        (lambda: recommend({"none": 1}, S(has_evals=True), tolerance=1.5), "tolerance"),
    ],
)
def test_bad_inputs(call, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        call()


def test_state_accepts_rung_names() -> None:
    assert S("advanced_rag", has_rag=True).rung is Rung.ADVANCED_RAG


def test_budget_stops_on_steps() -> None:
    b = AgentBudget(max_steps=3)
    for _ in range(3):
        b.step(0.1)
    assert b.remaining_steps == 0
    with pytest.raises(BudgetExceeded, match="step 4 exceeds max_steps=3"):
        b.step(0.1)


def test_budget_stops_on_cost() -> None:
    b = AgentBudget(max_steps=100, max_cost=1.0)
    b.step(0.6)
    with pytest.raises(BudgetExceeded, match="exceeds max_cost=1"):
        b.step(0.5)
    assert b.spent == pytest.approx(1.1)


def test_budget_in_a_loop() -> None:
    b = AgentBudget(max_steps=10, max_cost=2.5)
    done = 0
    with pytest.raises(BudgetExceeded):
        while True:  # an agent that never decides it is done
            b.step(0.5)
            done += 1
    assert done == 5  # the 6th step would spend 3.0 > 2.5


@pytest.mark.parametrize("kwargs", [{"max_steps": 0}, {"max_steps": 1, "max_cost": -1.0}])
def test_budget_rejects_bad_limits(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        AgentBudget(**kwargs)
    assert math.isinf(AgentBudget(1).max_cost)
