"""Controls for the decision pages: the budget split, the escalation ladder and the default recommendation.

Used on ``notebooks/dm_01_data_centric.ipynb`` (:func:`budget_split_explorer`),
``notebooks/dm_08_prompt_rag_finetune.ipynb`` (:func:`ladder_explorer`, :func:`guard_explorer`) and
``notebooks/dm_10_default_recommendation.ipynb`` (:func:`default_path_explorer`). Controls only: the decisions are
:mod:`playbook_lib.experiments.budget`, :func:`playbook_lib.decide.ladder.recommend` (and its ``AgentBudget``)
and :func:`playbook_lib.decide.recommend.default_path`, called for every setting on the grid when the explorer is made,
so the published page shows the library's answer for each setting without a kernel
(:mod:`playbook_lib.widgets.explorer`). Each explorer exports the inputs a test needs to call the library again.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from playbook_lib.decide.ladder import (
    DEFAULT_TOLERANCE,
    MIN_FINETUNE_EXAMPLES,
    AgentBudget,
    BudgetExceeded,
    LadderState,
    recommend,
)
from playbook_lib.decide.recommend import MIN_REPEATS, DatasetFacts, Step, default_path
from playbook_lib.experiments.budget import Budget, budget_interval, budget_verdict, upgrade_cost_per_1m
from playbook_lib.widgets.explorer import Explorer, choice, slider

if TYPE_CHECKING:
    from playbook_lib.decide.select import ModelSpec, Requirements

# -- dm_01: the same budget spent on a better model or on label reviews ------------------------------------------

#: The budget-split explorer's grids (the page's own values are added): euros, euros per review, euros per CPU
#: hour, requests per month.
BUDGETS_EUR = (10.0, 30.0, 60.0, 120.0, 240.0)
LABEL_COSTS_EUR = (0.25, 0.5, 1.0, 2.0)
CPU_HOUR_EUR = (0.01, 0.05, 0.2)
REQUESTS_PER_MONTH = (1e6, 1e7, 1e8)


def _grid(values: Sequence[float], own: float, cast: Callable[[float], Any] = float) -> list[Any]:
    """A control's grid: ``values`` with the page's own value, each as ``cast`` (``float``, or ``int`` for counts)."""
    return sorted({*(cast(v) for v in values), cast(own)})


def reviews_on_grid(
    budget_eur: float,
    label_cost_eur: float,
    budgets: Sequence[float] = BUDGETS_EUR,
    label_costs: Sequence[float] = LABEL_COSTS_EUR,
) -> list[int]:
    """The review counts the budget-split explorer's budget and label-cost grids buy (``Budget.reviews`` of each
    pair): the counts :func:`~playbook_lib.experiments.budget.review_curve` must measure for it."""
    return sorted(
        {
            Budget(euros, cost, 1.0).reviews
            for euros in _grid(budgets, budget_eur)
            for cost in _grid(label_costs, label_cost_eur)
        }
    )


def budget_split_html(
    curve: pd.DataFrame,
    cheap_per_s: float,
    better_per_s: float,
    budget_eur: float,
    label_cost_eur: float,
    eur_per_cpu_hour: float,
    requests_per_month: float,
) -> str:
    """What one budget buys each way, and the two arms' accuracy at that spend.

    The model upgrade is priced by :func:`~playbook_lib.experiments.budget.upgrade_cost_per_1m` from the two measured
    throughputs; :class:`~playbook_lib.experiments.budget.Budget` gives the reviews bought and the months of upgraded
    traffic paid for. The accuracies are ``curve``'s rows (:func:`~playbook_lib.experiments.budget.review_curve`)
    for that many reviews, and the line below the table judges the page's claim on them
    (:func:`~playbook_lib.experiments.budget.budget_verdict`).
    """
    per_1m = upgrade_cost_per_1m(cheap_per_s, better_per_s, eur_per_cpu_hour)
    b = Budget(budget_eur, label_cost_eur, per_1m)
    rows = curve[curve["reviews_bought"] == b.reviews]
    if rows.empty:
        raise ValueError(f"the review curve has no rows for {b.reviews} reviews: measure it with review_curve")
    monthly = per_1m * requests_per_month / 1e6
    months = b.months_covered(requests_per_month)
    flipped, fixed = rows["flipped"].mean(), rows["fixed"].mean()
    verdict = budget_verdict(rows).value
    return (
        "<table class='dataframe'><thead><tr><th>spend</th><th>what EUR "
        f"{budget_eur:g} buys</th><th>after it is spent</th><th>accuracy (mean of {len(rows)} seeds)</th></tr>"
        "</thead><tbody>"
        f"<tr><td>model-centric (MiniLM)</td><td>{b.upgraded_requests / 1e6:,.1f}M requests at EUR {per_1m:.3f} "
        f"per 1M = {months:,.1f} months at {requests_per_month / 1e6:g}M requests/month</td>"
        f"<td>EUR {monthly:,.2f} per month, again</td><td>{rows['model_centric'].mean():.3f}</td></tr>"
        f"<tr><td>data-centric (label reviews)</td><td>{b.reviews:,} reviewed rows at EUR {label_cost_eur:g} "
        f"({rows['reviews'].iloc[0]:,} done; {fixed:.1f} of {flipped:.1f} flipped labels fixed)</td>"
        f"<td>nothing: the fixed labels stay</td><td>{rows['data_centric'].mean():.3f}</td></tr>"
        f"<tr><td>cheap baseline</td><td></td><td></td><td>{rows['baseline'].mean():.3f}</td></tr>"
        "</tbody></table>"
        f"<p data-pb-outcome='{verdict}'>At this spend: data-centric minus model-centric accuracy "
        f"{html.escape(str(budget_interval(rows)))}: <b>{verdict}</b> (the page's claim judged at this budget; its "
        "stated verdict is the one at the parameters' budget)</p>"
    )


def budget_split_explorer(
    curve: pd.DataFrame,
    cheap_per_s: float,
    better_per_s: float,
    budget_eur: float,
    label_cost_eur: float,
    eur_per_cpu_hour: float,
    requests_per_month: float,
) -> Explorer:
    """Sliders for the budget, the price of a review, the price of a CPU hour and the traffic; each setting's
    :func:`budget_split_html`. ``curve`` is :func:`~playbook_lib.experiments.budget.review_curve` at (at least)
    :func:`reviews_on_grid`'s counts; the throughputs are the cheap and better embedders' texts per second."""
    needed = set(reviews_on_grid(budget_eur, label_cost_eur))
    missing = sorted(needed - {int(r) for r in curve["reviews_bought"]})
    if missing:
        raise ValueError(f"the review curve lacks the review counts {missing}: pass reviews_on_grid(...) to it")
    records = curve[curve["reviews_bought"].isin(needed)].to_dict("records")

    def render(budget_eur: float, label_cost_eur: float, eur_per_cpu_hour: float, requests_per_month: float) -> str:
        return budget_split_html(
            curve, cheap_per_s, better_per_s, budget_eur, label_cost_eur, eur_per_cpu_hour, requests_per_month
        )

    return Explorer(
        render,
        [
            slider("budget_eur", _grid(BUDGETS_EUR, budget_eur), float(budget_eur), label="budget (EUR)"),
            slider(
                "label_cost_eur", _grid(LABEL_COSTS_EUR, label_cost_eur), float(label_cost_eur), label="EUR per review"
            ),
            slider(
                "eur_per_cpu_hour",
                _grid(CPU_HOUR_EUR, eur_per_cpu_hour),
                float(eur_per_cpu_hour),
                label="EUR per CPU hour",
            ),
            slider(
                "requests_per_month",
                _grid(REQUESTS_PER_MONTH, requests_per_month),
                float(requests_per_month),
                label="requests per month",
                fmt="{:.0e}",
            ),
        ],
        kind="budget-split",
        caption="Move the prices: what the budget buys each way, and each arm's measured accuracy at that spend.",
        inputs={
            "curve": json.loads(json.dumps(records, default=float)),
            "cheap_per_s": float(cheap_per_s),
            "better_per_s": float(better_per_s),
        },
    )


# -- dm_08: the escalation ladder's decision for each scenario ------------------------------------------------

#: The ladder explorer's grids (the page's own values are added): failure-share tolerances and curated-example
#: thresholds for a PEFT fine-tune.
LADDER_TOLERANCES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
FINETUNE_EXAMPLES = (50, 100, 200, 300, 450, 1000)

Scenario = tuple[str, Mapping[str, int], LadderState]


def ladder_html(
    scenarios: Sequence[Scenario],
    tolerance: float,
    min_finetune_examples: int,
    baseline: tuple[float, int] | None = None,
) -> str:
    """An HTML table of :func:`~playbook_lib.decide.ladder.recommend` on each scenario ``(name, failure counts,
    state)``: failure share, action, rung and reasons. With ``baseline`` (a ``(tolerance, min_finetune_examples)``
    pair, the page's own), a line first names the scenarios whose action differs from the baseline's."""
    rows, changed = [], []
    for name, failures, state in scenarios:
        d = recommend(failures, state, tolerance=tolerance, min_finetune_examples=min_finetune_examples)
        share = d.evidence["failure_share"]
        moved = ""
        if baseline is not None:
            before = recommend(failures, state, tolerance=baseline[0], min_finetune_examples=baseline[1]).action
            if before != d.action:
                changed.append(name)
                moved = f" (was {before})"
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{'n/a' if share is None else f'{share:.1%}'}</td>"
            f"<td data-pb-action='{d.action}'><b>{d.action}</b>{html.escape(moved)}</td><td>{d.rung.label}</td>"
            f"<td>{html.escape(' / '.join(d.reasons))}</td></tr>"
        )
    head = ""
    if baseline is not None:
        at = f"tolerance {baseline[0]:.0%}, {baseline[1]} examples"
        names = ", ".join(changed) if changed else "none"
        head = f"<p>{len(changed)} of {len(scenarios)} scenarios change action from the page's setting ({at}): "
        head += f"{html.escape(names)}</p>"
    return (
        head + "<table class='dataframe'><thead><tr><th>scenario</th><th>failure share</th><th>action</th>"
        "<th>rung of the fix</th><th>why</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def ladder_explorer(
    scenarios: Sequence[Scenario],
    tolerance: float = DEFAULT_TOLERANCE,
    min_finetune_examples: int = MIN_FINETUNE_EXAMPLES,
) -> Explorer:
    """Sliders for the ladder's tolerance and its fine-tune threshold over the page's scenarios; each setting's
    :func:`ladder_html`, marking the decisions that differ from the page's own setting."""
    if not scenarios:
        raise ValueError("ladder_explorer needs at least one scenario")
    own = (float(tolerance), int(min_finetune_examples))

    def render(tolerance: float, min_finetune_examples: int) -> str:
        return ladder_html(scenarios, tolerance, int(min_finetune_examples), baseline=own)

    examples = _grid(FINETUNE_EXAMPLES, own[1], int)
    return Explorer(
        render,
        [
            slider(
                "tolerance", _grid(LADDER_TOLERANCES, own[0]), own[0], label="tolerated failure share", fmt="{:.0%}"
            ),
            slider("min_finetune_examples", examples, own[1], label="examples before a fine-tune", fmt="{:d}"),
        ],
        kind="ladder",
        caption="Move the policy: the action recommend() returns for each scenario, and why.",
        inputs={
            "scenarios": [
                {"name": n, "failures": dict(f), "state": {**dataclasses.asdict(s), "rung": s.rung.label}}
                for n, f, s in scenarios
            ],
            "baseline": list(own),
        },
    )


#: The agent-guard explorer's grids (the page's own values are added): most steps, most spend.
AGENT_MAX_STEPS = (2, 4, 8, 12, 16, 24)
AGENT_MAX_COSTS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


def guard_run(step_costs: Sequence[float], max_steps: int, max_cost: float) -> tuple[AgentBudget, str | None]:
    """An :class:`~playbook_lib.decide.ladder.AgentBudget` stepped through ``step_costs`` (one cost per step) until
    it raises; the guard after the run and the message it stopped with (``None``: every step ran)."""
    budget = AgentBudget(max_steps=max_steps, max_cost=max_cost)
    for cost in step_costs:
        try:
            budget.step(cost)
        except BudgetExceeded as stop:
            return budget, str(stop)
    return budget, None


def guard_html(step_costs: Sequence[float], max_steps: int, max_cost: float) -> str:
    """Where :func:`guard_run` stops an agent whose steps cost ``step_costs``: the step, the spend and the limit."""
    budget, stop = guard_run(step_costs, max_steps, max_cost)
    spent = f"steps taken: {budget.steps}, spent ${budget.spent:.2f} (limits: {max_steps} steps, ${max_cost:.2f})"
    if stop is None:
        return f"<p data-pb-outcome='finished'>all {len(step_costs)} steps ran: {spent}</p>"
    limit = "step" if budget.steps > max_steps else "cost"  # AgentBudget.step tests the step limit first
    return f"<p data-pb-outcome='stopped-{limit}'>{html.escape(stop)}<br>{spent}; the {limit} limit fired first</p>"


def guard_explorer(step_costs: Sequence[float], max_steps: int, max_cost: float) -> Explorer:
    """Sliders for an agent budget's step and cost limits over one agent's step costs; each setting's
    :func:`guard_html` (where the guard stops it, and which limit fired)."""
    costs = [float(c) for c in step_costs]
    if not costs:
        raise ValueError("guard_explorer needs the agent's step costs")

    def render(max_steps: int, max_cost: float) -> str:
        return guard_html(costs, int(max_steps), max_cost)

    return Explorer(
        render,
        [
            slider("max_steps", _grid(AGENT_MAX_STEPS, max_steps, int), int(max_steps), label="most steps", fmt="{:d}"),
            slider(
                "max_cost", _grid(AGENT_MAX_COSTS, max_cost), float(max_cost), label="most spend (USD)", fmt="{:.2f}"
            ),
        ],
        kind="agent-guard",
        caption="Move the agent's budget: the step at which the guard stops the runaway loop, and why.",
        inputs={"step_costs": costs},
    )


# -- dm_10: the default path at other thresholds -------------------------------------------------------------

#: The default-path explorer's grids (the page's own values are added).
PATH_TOLERANCES = (0.0, 0.05, 0.1, 0.15, 0.2)
PATH_MIN_EXAMPLES = (100, 300, 1000)
PATH_CURATED = (0, 120, 300, 1000)
PATH_REPEATS = (1, 3, 6)


def steps_html(steps: Sequence[Step]) -> str:
    """An HTML table of :func:`~playbook_lib.decide.recommend.default_path`'s steps: taken or not, and why."""
    rows = "".join(
        f"<tr><td>{html.escape(s.name)}</td><td data-pb-taken='{str(s.taken).lower()}'>"
        f"<b>{'taken' if s.taken else 'not taken'}</b></td><td>{html.escape(s.reason)}</td></tr>"
        for s in steps
    )
    return (
        "<table class='dataframe'><thead><tr><th>step</th><th>now</th><th>why</th></tr></thead><tbody>"
        + rows
        + "</tbody></table>"
    )


def default_path_explorer(
    requirements: Requirements,
    catalog: Sequence[ModelSpec],
    evals: pd.DataFrame | None,
    facts: DatasetFacts,
    model: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    min_examples: int = MIN_FINETUNE_EXAMPLES,
    min_repeats: int = MIN_REPEATS,
) -> Explorer:
    """Sliders for the path's tolerance, fine-tune threshold and repeat count, the team's curated examples and
    whether it tried prompt constraints; each setting's :func:`~playbook_lib.decide.recommend.default_path` (the
    other facts and inputs as given)."""

    def render(tolerance: float, min_examples: int, min_repeats: int, curated_examples: int, tried: str) -> str:
        f = dataclasses.replace(facts, curated_examples=int(curated_examples), tried_prompt_constraints=tried == "yes")
        steps = default_path(
            requirements,
            catalog,
            evals,
            f,
            model=model,
            tolerance=tolerance,
            min_examples=int(min_examples),
            min_repeats=int(min_repeats),
        )
        return steps_html(steps)

    rows = [] if evals is None else evals.drop(columns=["line"], errors="ignore").to_dict("records")
    return Explorer(
        render,
        [
            slider(
                "tolerance",
                _grid(PATH_TOLERANCES, tolerance),
                float(tolerance),
                label="tolerated failure share",
                fmt="{:.0%}",
            ),
            slider(
                "min_examples",
                _grid(PATH_MIN_EXAMPLES, min_examples, int),
                int(min_examples),
                label="examples needed for PEFT",
                fmt="{:d}",
            ),
            slider(
                "min_repeats",
                _grid(PATH_REPEATS, min_repeats, int),
                int(min_repeats),
                label="tasks for a repeatable gap",
                fmt="{:d}",
            ),
            slider(
                "curated_examples",
                _grid(PATH_CURATED, facts.curated_examples, int),
                int(facts.curated_examples),
                label="curated examples in hand",
                fmt="{:d}",
            ),
            choice(
                "tried", ["no", "yes"], ["no", "yes"][facts.tried_prompt_constraints], label="prompt constraints tried"
            ),
        ],
        kind="default-path",
        caption="Move the thresholds: which steps of the default path default_path() takes, and why.",
        # dates as ISO text, missing values as null: what a test needs to rebuild the inputs and decide again
        inputs=json.loads(
            json.dumps(
                {
                    "requirements": dataclasses.asdict(requirements),
                    "catalog": [dataclasses.asdict(m) for m in catalog],
                    "evals": None if evals is None else [{k: v for k, v in r.items() if pd.notna(v)} for r in rows],
                    "facts": dataclasses.asdict(facts),
                    "model": model,
                },
                default=str,
            )
        ),
    )


__all__ = [
    "AGENT_MAX_COSTS",
    "AGENT_MAX_STEPS",
    "BUDGETS_EUR",
    "CPU_HOUR_EUR",
    "FINETUNE_EXAMPLES",
    "LABEL_COSTS_EUR",
    "LADDER_TOLERANCES",
    "PATH_CURATED",
    "PATH_MIN_EXAMPLES",
    "PATH_REPEATS",
    "PATH_TOLERANCES",
    "REQUESTS_PER_MONTH",
    "budget_split_explorer",
    "budget_split_html",
    "default_path_explorer",
    "guard_explorer",
    "guard_html",
    "guard_run",
    "ladder_explorer",
    "ladder_html",
    "reviews_on_grid",
    "steps_html",
]
