"""The claims of the escalation-ladder page, judged as rules over the decisions it computes.

Taught in the book's *Prompt vs RAG vs fine-tune* page (``notebooks/dm_08_prompt_rag_finetune.ipynb``). The page
runs :func:`playbook_lib.decide.ladder.recommend` on a table of scenarios and states what the chapter says must
happen; :func:`judge_ladder` turns each statement into named :class:`~playbook_lib.experiments.verdict.Check`
results over those decisions and returns the :func:`~playbook_lib.experiments.verdict.rules` verdict. The checks
are coarser than the function (they test the chapter's sentences, not its code path): a statement no scenario
exercises is *not measured*, so a table without, say, a reasoning scenario makes the claim inconclusive, never held.
:func:`judge_boundary` judges the fine-tune threshold, :func:`judge_log` the decision log and :func:`judge_guard`
the agent budget guard.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from playbook_lib.decide.ladder import Action, AgentBudget, Decision, LadderState
from playbook_lib.experiments.verdict import Check, RuleVerdict, rule_verdict

#: Actions that climb the retrieval rungs (the fixes for missing knowledge).
RAG_ACTIONS = frozenset({Action.ADD_RAG, Action.ADVANCED_RAG, Action.FIX_CORPUS_OR_RETRIEVAL})
#: Actions that change the weights.
WEIGHT_ACTIONS = frozenset({Action.PEFT_FINE_TUNE, Action.DISTILL})
#: What the chapter allows for a behaviour/format failure.
BEHAVIOUR_ACTIONS = frozenset({Action.PROMPT_CONSTRAINTS, Action.PEFT_FINE_TUNE, Action.COLLECT_EXAMPLES})


@dataclass(frozen=True)
class Case:
    """One scenario: its eval failure counts, the project's state and the decision computed for them."""

    name: str
    failures: Mapping[str, int]
    state: LadderState
    decision: Decision


def _check(name: str, cases: Sequence[Case], ok: Sequence[bool], what: str) -> Check:
    if not cases:
        return Check(name, None, f"no scenario {what}")
    bad = [c.name for c, good in zip(cases, ok) if not good]
    detail = f"{len(cases) - len(bad)} of {len(cases)} scenarios {what}"
    return Check(name, not bad, detail + (f"; against it: {', '.join(bad)}" if bad else ""))


def _dominant(case: Case) -> str | None:
    value = case.decision.evidence.get("dominant")
    return str(value) if value is not None else None


def judge_ladder(cases: Sequence[Case], min_finetune_examples: int) -> RuleVerdict:
    """The page's claim over its scenarios: no evals -> build evals (whatever else is wrong); knowledge failures ->
    a RAG rung, never a weight change; behaviour failures -> prompt constraints first, a PEFT fine-tune only after
    them and with at least ``min_finetune_examples`` curated examples; reasoning failures -> neither RAG nor
    fine-tuning. One :class:`Check` per statement (module docstring)."""
    no_evals = [c for c in cases if not c.state.has_evals or sum(c.failures.values()) == 0]
    knowledge = [c for c in cases if _dominant(c) == "knowledge_missing"]
    behaviour = [c for c in cases if _dominant(c) == "behavior_format"]
    untried = [c for c in behaviour if not c.state.tried_prompt_constraints]
    tuned = [c for c in cases if c.decision.action is Action.PEFT_FINE_TUNE]
    reasoning = [c for c in cases if _dominant(c) == "reasoning"]
    checks = [
        _check(
            "no evals -> build evals first",
            no_evals,
            [c.decision.action is Action.BUILD_EVALS for c in no_evals],
            "without eval results build evals",
        ),
        _check(
            "knowledge failures -> a RAG rung, never a weight change",
            knowledge,
            [c.decision.action in RAG_ACTIONS for c in knowledge],
            "led by missing knowledge get a RAG rung",
        ),
        _check(
            "behaviour failures -> prompt constraints, examples or PEFT only",
            behaviour,
            [c.decision.action in BEHAVIOUR_ACTIONS for c in behaviour],
            "led by behaviour get one of those",
        ),
        _check(
            "prompt constraints before any fine-tune",
            untried,
            [c.decision.action is Action.PROMPT_CONSTRAINTS for c in untried],
            "led by behaviour with prompt constraints untried get them first",
        ),
        _check(
            f"PEFT only after prompt constraints and with >= {min_finetune_examples} curated examples",
            tuned,
            [
                _dominant(c) == "behavior_format"
                and c.state.tried_prompt_constraints
                and c.state.n_curated_examples >= min_finetune_examples
                for c in tuned
            ],
            "told to fine-tune meet all three conditions",
        ),
        _check(
            "reasoning failures -> neither RAG nor fine-tuning",
            reasoning,
            [c.decision.action not in RAG_ACTIONS | WEIGHT_ACTIONS for c in reasoning],
            "led by reasoning get neither",
        ),
    ]
    return rule_verdict("the ladder's rule on the scenario table", checks)


def judge_boundary(actions: Mapping[int, Action | str], min_finetune_examples: int) -> RuleVerdict:
    """The fine-tune threshold, on one behaviour-failure scenario (prompt constraints tried) decided at several
    curated-example counts (``actions``: count -> action): PEFT at every count >= ``min_finetune_examples``,
    collect examples below it. Not measured on a side with no count."""
    below = {n: a for n, a in actions.items() if n < min_finetune_examples}
    above = {n: a for n, a in actions.items() if n >= min_finetune_examples}

    def side(name: str, part: Mapping[int, Action | str], want: Action) -> Check:
        if not part:
            return Check(name, None, "no count on this side of the threshold")
        bad = sorted(n for n, a in part.items() if a != want)
        return Check(name, not bad, f"counts {sorted(part)}" + (f"; against it: {bad}" if bad else ""))

    return rule_verdict(
        f"the decision flips to PEFT at {min_finetune_examples} curated examples",
        [
            side(f"< {min_finetune_examples} examples -> collect examples", below, Action.COLLECT_EXAMPLES),
            side(f">= {min_finetune_examples} examples -> PEFT fine-tune", above, Action.PEFT_FINE_TUNE),
        ],
    )


def judge_guard(runaway: AgentBudget, stopped: bool, workflow: AgentBudget, workflow_steps: int) -> RuleVerdict:
    """The budget guard: the runaway loop was stopped (``stopped``: :class:`~playbook_lib.decide.ladder.BudgetExceeded`
    was raised) no later than the step that crossed a limit, and a workflow of ``workflow_steps`` steps within
    its budget ran to the end (``workflow.steps == workflow_steps``)."""
    over_steps = runaway.steps > runaway.max_steps
    over_cost = runaway.spent > runaway.max_cost
    return rule_verdict(
        "a step-and-cost budget stops a runaway agent and lets a workflow finish",
        [
            Check("the runaway loop was stopped", stopped, "BudgetExceeded raised" if stopped else "never stopped"),
            Check(
                "it stopped on crossing a limit, at most one step past max_steps",
                (over_steps or over_cost) and runaway.steps <= runaway.max_steps + 1,
                f"{runaway.steps} steps (limit {runaway.max_steps}), spent {runaway.spent:.2f} "
                f"(limit {runaway.max_cost:.2f})",
            ),
            Check(
                "the bounded workflow finished",
                workflow.steps == workflow_steps and workflow.spent <= workflow.max_cost,
                f"{workflow.steps} of {workflow_steps} steps, spent {workflow.spent:.3f}",
            ),
        ],
    )


def judge_log(lines: Sequence[str], decisions: Sequence[Decision]) -> RuleVerdict:
    """The decision log: one JSON line per decision, in order, each carrying its action, rung, reasons and
    evidence (what a reviewer reads to ask *why did we fine-tune?*)."""
    parsed: list[dict[str, object]] = []
    for line in lines:
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            parsed.append(value)
    keys = {"action", "rung", "reasons", "evidence"}
    return rule_verdict(
        "every decision is recorded as one JSON line",
        [
            Check(
                "one line per decision", len(lines) == len(decisions), f"{len(lines)} lines, {len(decisions)} decisions"
            ),
            Check("every line is a JSON record", len(parsed) == len(lines), f"{len(parsed)} of {len(lines)} parse"),
            Check(
                "each record carries its decision",
                len(parsed) == len(decisions)
                and all(keys <= set(p) and p["action"] == d.action.value for p, d in zip(parsed, decisions)),
                "action, rung, reasons and evidence, in order",
            ),
        ],
    )
