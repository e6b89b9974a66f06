"""Interactive controls for the *Data + Models* pages: the compute-budget slider and the requirement toggles.

Used on ``notebooks/dm_04_scaling.ipynb``, ``notebooks/dm_06_probabilistic_outputs.ipynb`` (sampling sliders) and
``notebooks/dm_07_model_selection.ipynb``. Controls only: the logic
lives in ``playbook_lib.models.scaling`` and ``playbook_lib.decide.select``. Results render into ``HTML`` widgets,
so a static render (the book) embeds the snapshot taken at build time and headless runs never wait on output capture.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from playbook_lib.decide.cost import PathStats, RoutingPlan, plan_routing_from_evals
from playbook_lib.decide.select import SUPERPOWERS, select_models
from playbook_lib.models.sampling import sampling_distribution, softmax
from playbook_lib.models.scaling import optimal_by_loss, optimal_by_rule, parametric_loss
from playbook_lib.widgets.explorer import Explorer, choice, slider

if TYPE_CHECKING:
    from playbook_lib.decide.select import ModelSpec, Requirements


def budget_html(flops: float) -> str:
    """An HTML table of the compute-optimal N and D for ``flops`` by the 20-tokens rule and by the loss fit."""
    rows = []
    for label, a in (("20 tokens/param rule", optimal_by_rule(flops)), ("parametric loss fit", optimal_by_loss(flops))):
        rows.append(
            f"<tr><td>{label}</td><td>{a.params / 1e9:,.2f} B</td><td>{a.tokens / 1e9:,.1f} B</td>"
            f"<td>{a.tokens_per_param:.1f}</td><td>{parametric_loss(a.params, a.tokens):.3f}</td></tr>"
        )
    return (
        "<table class='dataframe'><thead><tr><th>method</th><th>parameters N</th><th>tokens D</th>"
        "<th>tokens/param</th><th>loss</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def budget_grid(flops: float, low: int = 18, high: int = 27, per_decade: int = 4) -> list[float]:
    """Compute budgets from ``1e{low}`` to ``1e{high}`` FLOPs, ``per_decade`` per factor of ten, plus ``flops``."""
    low, high = min(low, math.floor(math.log10(flops))), max(high, math.ceil(math.log10(flops)))
    steps = (high - low) * per_decade
    return sorted({*(10 ** (low + i / per_decade) for i in range(steps + 1)), flops})


def budget_explorer(flops: float) -> Explorer:
    """A log-scale compute-budget slider (FLOPs); for each budget, the optimal model size and token count."""
    return Explorer(
        budget_html,
        [slider("flops", budget_grid(flops), flops, label="compute budget (FLOPs)", fmt="{:.2e}")],
        kind="compute-budget",
        caption="Move the budget: parameters and tokens by the 20-tokens rule and by the loss fit.",
    )


def selection_html(catalog: list[ModelSpec], requirements: Requirements) -> str:
    """An HTML table of ``select_models``: ranked models with score and cost, then the excluded ones with why."""
    sel = select_models(catalog, requirements)
    rows = [
        f"<tr><td>{i}</td><td>{c.model.name}</td><td>{c.score:g}</td><td>${c.cost_per_1k_requests:.2f}</td>"
        f"<td></td></tr>"
        for i, c in enumerate(sel.ranked, 1)
    ]
    rows += [
        f"<tr><td>-</td><td>{c.model.name}</td><td></td><td>${c.cost_per_1k_requests:.2f}</td>"
        f"<td>{'; '.join(c.excluded_because)}</td></tr>"
        for c in sel.excluded
    ]
    return (
        "<table class='dataframe'><thead><tr><th>rank</th><th>model</th><th>score</th><th>per 1k requests</th>"
        "<th>excluded because</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def requirements_explorer(catalog: list[ModelSpec], requirements: Requirements) -> Explorer:
    """Controls for the superpower, reasoning, data residency and open weights; each combination is ranked by
    ``select_models``. Residency offers "anywhere", each region alone, and the profile's own list."""
    regions = sorted({r for m in catalog for r in m.regions})
    residency: dict[str, str] = {"anywhere": ""}
    own = ",".join(requirements.data_residency)
    if own:
        residency[f"profile: {own}"] = own
    residency.update({r: r for r in regions if r != own})

    def render(superpower: str, reasoning: str, open_weights: str, residency: str) -> str:
        req = dataclasses.replace(
            requirements,
            superpower=superpower,
            reasoning=reasoning == "yes",
            require_open_weights=open_weights == "yes",
            data_residency=[r for r in residency.split(",") if r],
        )
        return selection_html(catalog, req)

    yes_no = ["no", "yes"]
    return Explorer(
        render,
        [
            choice("superpower", list(SUPERPOWERS), requirements.superpower),
            choice("reasoning", yes_no, yes_no[requirements.reasoning], label="needs reasoning"),
            choice("open_weights", yes_no, yes_no[requirements.require_open_weights], label="open weights required"),
            choice("residency", residency, own, label="data residency"),
        ],
        kind="model-selection",
        caption="Change the requirements: the catalog is ranked again by select_models.",
        # dates as ISO text: what a test needs to rebuild the catalog and rank it again
        inputs=json.loads(
            json.dumps(
                {"catalog": [dataclasses.asdict(m) for m in catalog], "requirements": dataclasses.asdict(requirements)},
                default=str,
            )
        ),
    )


__all__ = [
    "TEMPERATURES",
    "TOP_KS",
    "TOP_PS",
    "budget_explorer",
    "budget_grid",
    "budget_html",
    "requirements_explorer",
    "routing_explorer",
    "routing_html",
    "sampling_explorer",
    "sampling_html",
    "selection_html",
]


def sampling_html(
    logits: np.ndarray, tokens: list[str], temperature: float, top_k: int | None, top_p: float | None, n_show: int = 12
) -> str:
    """An HTML table of the ``n_show`` most likely next tokens: probability before (softmax at T=1) and after the
    knobs, with bars, plus how many tokens remain drawable. ``tokens[i]`` is the text of token id ``i``."""

    before = softmax(logits)
    after = sampling_distribution(logits, temperature, top_k, top_p)
    order = np.argsort(-before, kind="stable")[:n_show]

    def bar(p: float, colour: str) -> str:
        return (
            f"<div style='background:{colour};height:0.8em;width:{max(p * 200, 0.5):.1f}px;display:inline-block'>"
            f"</div> {p:.3f}"
        )

    rows = "".join(
        f"<tr><td><code>{html.escape(repr(tokens[i]))}</code></td><td>{bar(before[i], '#90a4ae')}</td>"
        f"<td>{bar(after[i], '#1565c0')}</td></tr>"
        for i in order
    )
    nz = after[after > 0]
    entropy = float(-(nz * np.log2(nz)).sum()) + 0.0  # + 0.0: one drawable token reads 0.00, not -0.00
    return (
        f"<p>{int(nz.size):,} drawable token(s) of {logits.size:,}; entropy {entropy:.2f} bits; "
        f"top token {after.max():.1%}</p><table class='dataframe'><thead><tr><th>token</th>"
        "<th>before (T=1, no filter)</th><th>after the knobs</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )


#: The routing explorer's thresholds: 0 to 1 in steps of 0.05.
ROUTING_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(21))


def routing_html(plan: RoutingPlan) -> str:
    """An HTML table of one routing plan beside its two baselines: escalation, cost, success, cost per success."""

    def row(name: str, escalated: str, cost: float, success: float, per: float) -> str:
        per_text = "n/a" if math.isinf(per) else f"{per:.4g}"
        return (
            f"<tr><td>{html.escape(name)}</td><td>{escalated}</td><td>{cost:.4g}</td><td>{success:.1%}</td>"
            f"<td>{per_text}</td></tr>"
        )

    rows = [
        row(
            f"{plan.cheap.name} -> {plan.strong.name}",
            f"{plan.escalation_rate:.1%}",
            plan.expected_cost,
            plan.expected_success,
            plan.cost_per_success,
        )
    ]
    for name, b in plan.baselines.items():
        rows.append(row(name, "", b["expected_cost"], b["expected_success"], b["cost_per_success"]))
    return (
        "<table class='dataframe'><thead><tr><th>path</th><th>escalated</th><th>cost per task</th>"
        "<th>success</th><th>cost per success</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def routing_explorer(
    confidence: np.ndarray,
    ok: np.ndarray,
    cheap_cost: float,
    strong: PathStats,
    threshold: float = 0.5,
    cheap_name: str = "cheap",
    thresholds: Sequence[float] = ROUTING_THRESHOLDS,
) -> Explorer:
    """A confidence-threshold slider and a "validator catches failures" switch over one eval run of the cheap
    path: each setting's routing plan by ``plan_routing_from_evals``, beside cheap-only and strong-only."""
    conf = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(ok, dtype=bool)

    def render(threshold: float, validator: str) -> str:
        plan = plan_routing_from_evals(
            conf, right, cheap_cost, strong, threshold, failures_detectable=validator == "yes", cheap_name=cheap_name
        )
        return routing_html(plan)

    grid = sorted({*thresholds, threshold})
    return Explorer(
        render,
        [
            slider("threshold", grid, threshold, label="escalate below confidence", fmt="{:.2f}"),
            choice("validator", ["no", "yes"], label="a validator catches every cheap failure"),
        ],
        kind="routing",
        caption="Move the threshold: how much escalates, what it costs and how often the answer is right.",
        inputs={
            "confidence": conf.tolist(),
            "ok": right.tolist(),
            "cheap_cost": cheap_cost,
            "cheap_name": cheap_name,
            "strong": dataclasses.asdict(strong),
        },
    )


#: The sampling explorer's grid: 8 temperatures x 4 top-k x 4 top-p = 128 settings (each carries its table).
TEMPERATURES = (0.0, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)
TOP_KS = (0, 1, 5, 50)
TOP_PS = (0.5, 0.7, 0.9, 1.0)


def sampling_explorer(
    logits: np.ndarray,
    tokens: list[str],
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    prompt: str | None = None,
) -> Explorer:
    """Temperature, top-k (0 = off) and top-p (1 = off) over one real next-token logits vector.

    The starting values are added to the grids (:data:`TEMPERATURES`, :data:`TOP_KS`, :data:`TOP_PS`) when they
    are not on them. ``prompt`` (the text the logits were computed for) travels with the page, so a test can
    compute the logits again and check what the page shows.
    """

    def grid(values: tuple[float, ...], start: float) -> list[float]:
        return sorted({*values, start})

    def render(temperature: float, top_k: int, top_p: float) -> str:
        return sampling_html(logits, tokens, temperature, int(top_k) or None, top_p if top_p < 1 else None, n_show=10)

    return Explorer(
        render,
        [
            slider("temperature", grid(TEMPERATURES, temperature), temperature, fmt="{:.2f}"),
            slider("top_k", [int(k) for k in grid(TOP_KS, top_k)], top_k, label="top-k (0 = off)", fmt="{:d}"),
            slider("top_p", grid(TOP_PS, top_p), top_p, label="top-p (1 = off)", fmt="{:.2f}"),
        ],
        kind="sampling",
        caption="Move the knobs: the next-token distribution the sampler would draw from, by the library.",
        inputs={"prompt": prompt, "vocab": len(tokens)},
    )
