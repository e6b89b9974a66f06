"""The claims of the model-selection page: reasons and flips as rules, cost and routing simulated over seeds.

Taught in the book's *Model selection* page (``notebooks/dm_07_model_selection.ipynb``). Its sections 4 and 5 run
on first-attempt success rates that are *assumptions* (the page says so: they stand in for a team's eval
results); what is measured is what the arithmetic of retries and routing does with them, and how much one
simulated eval run of ``n_tasks`` tasks can be trusted. Each claim is therefore judged over several seeds (each seed
a fresh simulated eval run), with rules fixed here. Claims 1 and 2 are rules over the selection itself
(:func:`judge_reasons`, :func:`judge_flips`):

- **reasons** (claim 1): every excluded model names at least one violated constraint and no excluded model is
  ranked; every ranked model carries at least one reason for its score; the ranking is by score, best first, ties
  to the cheaper model.
- **flips** (claim 2): some single-field change of the profile moves the top model or the eligible set (else the
  flip table shows nothing to compute), relaxing a hard constraint never removes an eligible model and tightening
  one never adds one.

- **premium** (claim 3): cost per successful task exceeds the price per call for every model (the retry and
  failure premium, cost per success / price per call, has a 95 % interval wholly above 1 for each), and it is
  larger for the weakest model than for the strongest (per seed, premium(weakest) minus premium(strongest), interval
  wholly above 0). Inconclusive with one model or when the two share a success rate.
- **routing** (claim 4): the threshold is *chosen* on one seed's simulated eval (the lowest threshold whose
  success is within :data:`SUCCESS_MARGIN` of the strong model alone) and *evaluated* on the next seed's fresh
  tasks, so the choice is not graded on the data it was fitted to. Held when, over seeds, the held-out success gap
  to strong-only lies wholly above ``-SUCCESS_MARGIN`` and the held-out cost ratio to strong-only lies wholly below
  1; did not hold when either interval lies wholly on the wrong side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook_lib.decide.cost import PathStats, cost_table, plan_routing_from_evals
from playbook_lib.decide.select import Selection
from playbook_lib.errors import UsageError
from playbook_lib.experiments.verdict import (
    Check,
    Interval,
    RuleVerdict,
    Verdict,
    combine,
    judge,
    mean_interval,
    rule_verdict,
)

#: "Keeps most of the strong model's success": within this many points (as a share) of strong-only success.
SUCCESS_MARGIN = 0.02
#: The thresholds a routing sweep tries.
THRESHOLDS = tuple(float(t) for t in np.linspace(0, 1, 41))
MAX_ATTEMPTS = 3


def judge_reasons(selection: Selection) -> RuleVerdict:
    """Claim 1 on one selection (module docstring)."""
    ranked, excluded = selection.ranked, selection.excluded
    unexplained = [c.model.name for c in excluded if not c.excluded_because]
    both = sorted({c.model.name for c in ranked} & {c.model.name for c in excluded})
    bare = [c.model.name for c in ranked if not c.reasons]
    order = [(-c.score, c.cost_per_1k_requests) for c in ranked]
    return rule_verdict(
        "every exclusion and every point of score has a stated reason",
        [
            Check(
                "every excluded model names the constraint it breaks",
                not unexplained if excluded else None,
                f"{len(excluded) - len(unexplained)} of {len(excluded)} excluded"
                + (f"; without a reason: {', '.join(unexplained)}" if unexplained else ""),
            ),
            Check("no excluded model is ranked", not both, ", ".join(both) or f"{len(ranked)} ranked, all eligible"),
            Check(
                "every ranked model carries reasons for its score",
                not bare if ranked else None,
                f"{len(ranked) - len(bare)} of {len(ranked)} ranked" + (f"; bare: {', '.join(bare)}" if bare else ""),
            ),
            Check(
                "ranked by score, ties to the cheaper model",
                order == sorted(order) if len(ranked) > 1 else None,
                f"{len(ranked)} ranked",
            ),
        ],
    )


def judge_flips(
    base_eligible: set[str],
    flips: Mapping[str, tuple[str | None, set[str]]],
    relaxing: Sequence[str] = (),
    tightening: Sequence[str] = (),
    base_top: str | None = None,
) -> RuleVerdict:
    """Claim 2 over a flip table: ``flips`` maps a change's label to (its top model, its eligible set);
    ``relaxing`` / ``tightening`` name the changes that drop / add a hard constraint (module docstring)."""
    moved = [k for k, (top, eligible) in flips.items() if top != base_top or eligible != base_eligible]
    lost = {k: sorted(base_eligible - flips[k][1]) for k in relaxing if k in flips}
    gained = {k: sorted(flips[k][1] - base_eligible) for k in tightening if k in flips}
    return rule_verdict(
        "one requirement changes the ranking, in the direction of the constraint",
        [
            Check(
                "some single-field change moves the top model or the eligible set",
                bool(moved) if flips else None,
                f"{len(moved)} of {len(flips)} changes: {', '.join(moved) or 'none'}",
            ),
            Check(
                "relaxing a hard constraint removes no eligible model",
                not any(lost.values()) if lost else None,
                "; ".join(f"{k}: {', '.join(v) or 'none lost'}" for k, v in lost.items()) or "no relaxing change",
            ),
            Check(
                "tightening a hard constraint adds no eligible model",
                not any(gained.values()) if gained else None,
                "; ".join(f"{k}: {', '.join(v) or 'none added'}" for k, v in gained.items()) or "no tightening change",
            ),
        ],
    )


def simulate_attempts(
    success: Mapping[str, float],
    price: Mapping[str, float],
    n_tasks: int,
    rng: np.random.Generator,
    max_attempts: int = MAX_ATTEMPTS,
) -> pd.DataFrame:
    """One simulated eval run: every model attempts each of ``n_tasks`` tasks until it succeeds (a validator
    catches failures) or ``max_attempts`` are spent; each attempt costs the model's ``price`` per call and succeeds
    with its assumed first-attempt rate ``success``. Rows: model, task_id, attempt, cost, success (the input of
    :func:`playbook_lib.decide.cost.cost_table`)."""
    if n_tasks < 1 or max_attempts < 1:
        raise UsageError(f"n_tasks and max_attempts must be >= 1, got {n_tasks} and {max_attempts}")
    if set(success) != set(price):
        raise UsageError("success and price must name the same models")
    records = []
    for model, p in success.items():
        if not 0 <= p <= 1:
            raise UsageError(f"{model}: success rate must be in [0, 1], got {p!r}")
        for task in range(n_tasks):
            for attempt in range(1, max_attempts + 1):
                ok = bool(rng.random() < p)
                records.append(
                    {"model": model, "task_id": task, "attempt": attempt, "cost": price[model], "success": ok}
                )
                if ok:
                    break
    return pd.DataFrame(records)


def retry_premium(attempts: pd.DataFrame, price: Mapping[str, float]) -> pd.Series:
    """Cost per successful task over price per call, per model (``inf`` for a model with no success)."""
    table = cost_table(attempts, by="model").set_index("model")
    return (table["cost_per_success"] / pd.Series(price)).reindex(table.index).rename("premium")


def simulate_confidence(p_cheap: float, n_tasks: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The cheap path on ``n_tasks`` tasks: whether it was right (rate ``p_cheap``) and a confidence that is a noisy
    signal of it (Beta(6, 2) when right, Beta(2, 4) when wrong), standing in for a log-probability or verifier
    score."""
    ok = rng.random(n_tasks) < p_cheap
    confidence = np.clip(np.where(ok, rng.beta(6, 2, n_tasks), rng.beta(2, 4, n_tasks)), 0, 1)
    return confidence, ok


def routing_sweep(
    confidence: np.ndarray,
    ok: np.ndarray,
    cheap_cost: float,
    strong: PathStats,
    thresholds: Sequence[float] = THRESHOLDS,
    cheap_name: str = "cheap",
) -> pd.DataFrame:
    """Expected escalation, cost, success and cost per success of cheap-then-strong routing at each threshold
    (:func:`~playbook_lib.decide.cost.plan_routing_from_evals`, failures not detectable: only low confidence
    escalates); ``attrs["baselines"]`` holds cheap-only and strong-only."""
    rows, plan = [], None
    for t in thresholds:
        plan = plan_routing_from_evals(
            confidence, ok, cheap_cost, strong, t, failures_detectable=False, cheap_name=cheap_name
        )
        rows.append(
            {
                "threshold": t,
                "escalation_rate": plan.escalation_rate,
                "expected_cost": plan.expected_cost,
                "expected_success": plan.expected_success,
                "cost_per_success": plan.cost_per_success,
            }
        )
    sweep = pd.DataFrame(rows)
    sweep.attrs["baselines"] = plan.baselines if plan is not None else {}
    return sweep


def choose_threshold(sweep: pd.DataFrame, strong_success: float, margin: float = SUCCESS_MARGIN) -> float:
    """The lowest threshold whose expected success is within ``margin`` of ``strong_success`` (the highest
    threshold tried when none is)."""
    reach = sweep[sweep["expected_success"] >= strong_success - margin]
    return float(reach["threshold"].iloc[0] if len(reach) else sweep["threshold"].iloc[-1])


@dataclass(frozen=True)
class SelectionVerdicts:
    """The verdicts on claims 3 and 4 (module docstring), with the per-seed table they rest on."""

    premium_floor: dict[str, Interval]
    premium_gap: Interval
    weakest: str
    strongest: str
    premium: Verdict
    success_gap: Interval
    cost_ratio: Interval
    routing: Verdict
    per_seed: pd.DataFrame

    def markdown(self) -> str:
        seeds = next(iter(self.premium_floor.values())).n if self.premium_floor else 0
        floors = "; ".join(f"{m} {iv}" for m, iv in self.premium_floor.items())
        return "\n".join(
            [
                f"- **(3) cost per successful task carries a premium, larger for weaker models**: "
                f"**{self.premium.value}** over {seeds} seeds. Premium (cost per success / price per call): {floors} "
                f"(each must lie above 1); {self.weakest} minus {self.strongest}: {self.premium_gap} (must lie "
                "above 0).",
                f"- **(4) routing keeps most of the strong model's success for a fraction of its cost**: "
                f"**{self.routing.value}** on {len(self.per_seed)} held-out runs (threshold chosen on seed s, evaluated on "
                "seed s + 1). "
                f"Success minus strong-only: {self.success_gap} (must lie above {-SUCCESS_MARGIN:+.2f}); cost / "
                f"strong-only cost: {self.cost_ratio} (must lie below 1).",
            ]
        )


def judge_selection(
    success: Mapping[str, float],
    price: Mapping[str, float],
    strong: str,
    cheap: str,
    n_tasks: int,
    seeds: Sequence[int],
) -> SelectionVerdicts:
    """Simulate one eval run per seed (attempts for every model; the cheap path's confidence) and judge claims 3
    and 4 over the seeds (module docstring). ``strong`` and ``cheap`` name the routing pair."""
    if len(seeds) < 2:
        raise UsageError("judge_selection needs at least two seeds (the routing threshold is tested on the next one)")
    if strong not in success or cheap not in success:
        raise UsageError(f"{strong!r} and {cheap!r} must both have a success rate")
    strong_path = PathStats(strong, price[strong], success[strong])
    rows, premiums = [], []
    runs = []
    for s in seeds:
        rng = np.random.default_rng(s)
        premiums.append(retry_premium(simulate_attempts(success, price, n_tasks, rng), price))
        confidence, ok = simulate_confidence(success[cheap], n_tasks, rng)
        runs.append(routing_sweep(confidence, ok, price[cheap], strong_path, cheap_name=cheap))
    base = runs[0].attrs["baselines"]["strong_only"]
    for i, s in enumerate(seeds[:-1]):
        chosen = choose_threshold(runs[i], base["expected_success"])
        held_out = runs[i + 1].set_index("threshold").loc[chosen]
        rows.append(
            {
                "seed": s,
                "threshold": chosen,
                "held_out_seed": seeds[i + 1],
                "escalation_rate": float(held_out["escalation_rate"]),
                "success_gap": float(held_out["expected_success"] - base["expected_success"]),
                "cost_ratio": float(held_out["expected_cost"] / base["expected_cost"])
                if base["expected_cost"]
                else math.nan,
            }
        )
    per_seed = pd.DataFrame(rows)
    prem = pd.DataFrame(premiums).reset_index(drop=True)
    floors = {m: mean_interval(prem[m]) for m in prem.columns}
    weakest = min(success, key=lambda m: (success[m], m))
    strongest = max(success, key=lambda m: (success[m], m))
    gap = mean_interval(prem[weakest] - prem[strongest])
    parts = [judge(iv, 1.0, "above") for iv in floors.values()]
    if weakest == strongest or success[weakest] == success[strongest]:
        parts.append(Verdict.INCONCLUSIVE)
    else:
        parts.append(judge(gap, 0.0, "above"))
    success_gap = mean_interval(per_seed["success_gap"])
    cost_ratio = mean_interval(per_seed["cost_ratio"])
    routing = combine([judge(success_gap, -SUCCESS_MARGIN, "above"), judge(cost_ratio, 1.0, "below")])
    return SelectionVerdicts(
        floors, gap, weakest, strongest, combine(parts), success_gap, cost_ratio, routing, per_seed
    )
