"""Model-readiness checks: a model plan (``--plan``) judged against eval results (``--evals``).

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``, section 7);
run by ``checklists/model_readiness.yaml``. The plan is parsed by :mod:`playbook_lib.decide.plan` and handed to the
checks as ``context.plan``; the records are the eval attempts (:func:`playbook_lib.decide.evals.load_eval_results`),
so a flagged row is an eval line. Cost and routing are computed with :mod:`playbook_lib.decide.cost`, never
re-implemented here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from playbook_lib.checks.advice import advice
from playbook_lib.checks.base import Check, CheckContext, CheckResult, Outcome
from playbook_lib.checks.registry import register
from playbook_lib.decide.cost import PathStats, cost_per_successful_task, plan_routing_from_evals
from playbook_lib.decide.evals import FAILURE_CATEGORIES, final_attempts, models_in
from playbook_lib.errors import UsageError


def _plan(context: CheckContext) -> dict[str, Any]:
    plan = getattr(context, "plan", None)
    if plan is None:
        raise UsageError("model-readiness checks need a model plan (--plan)")
    return plan


def _rows_of(records: pd.DataFrame, model: str | None) -> pd.Series:
    if model is None or "model" not in records.columns:
        return pd.Series(np.ones(len(records), bool), index=records.index)
    return records["model"].astype(str) == model


class _PlanCheck(Check):
    """Shared shape: a list of problems found in the plan (and evals); the metric is how many."""

    inputs: ClassVar[tuple[str, ...]] = ("plan",)
    metric = "problems"
    metric_range = (0.0, float("inf"))  # a count of problems

    def __init__(self, warn: float | None = None, fail: float | None = 0) -> None:
        super().__init__(warn, fail)

    def finish(
        self,
        records: pd.DataFrame,
        problems: list[str],
        flags: np.ndarray | None = None,
        extra: dict[str, Any] | None = None,
    ) -> CheckResult:
        n = len(records)
        flags = np.zeros(n, bool) if flags is None else flags
        summary = {"problems": len(problems), "found": problems, **(extra or {})}
        examples = [{"line": 0, "reason": p} for p in problems]
        detail = "; ".join(problems) if problems else "complete"
        return self.result(flags, flags.astype(float), summary, examples, detail)


@register
class SuperpowerCheck(_PlanCheck):
    """The plan names the one capability the task needs (``superpower``) and the model chosen for it; when eval
    results are given, the chosen model appears in them."""

    name = "superpower"

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        plan = _plan(context)
        problems = []
        if not plan.get("superpower"):
            problems.append("no superpower chosen (accuracy, speed_cost, long_context, multimodal, code, live_search)")
        if not plan.get("model"):
            problems.append("no model chosen")
        elif len(records) and "model" in records.columns and plan["model"] not in set(records["model"].astype(str)):
            problems.append(f"chosen model {plan['model']!r} has no eval results")
        return self.finish(records, problems, extra={"superpower": plan.get("superpower"), "model": plan.get("model")})


@register
class GuardrailsCheck(_PlanCheck):
    """Input and output guardrails are listed and an audit log is kept."""

    name = "guardrails"

    def __init__(self, warn: float | None = 0, fail: float | None = 1) -> None:
        super().__init__(warn, fail)

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        g = _plan(context).get("guardrails")
        if g is None:
            return CheckResult(
                self.name,
                Outcome.FAIL,
                f"no guardrails section in the plan; to fix: {advice(self.name)}",
                np.zeros(len(records), bool),
                np.zeros(len(records)),
                {"problems": None, "found": ["no guardrails section"]},
            )
        problems = []
        if not g.get("input"):
            problems.append("no input guardrails (e.g. PII masking, prompt-injection filter)")
        if not g.get("output"):
            problems.append("no output guardrails (e.g. schema validation, citation check)")
        if g.get("audit_log") is not True:
            problems.append("no audit log")
        return self.finish(records, problems, extra={"input": g.get("input", []), "output": g.get("output", [])})


@register
class EvalHarnessCheck(_PlanCheck):
    """An eval harness exists: a regression suite run on every change, and enough categorised eval results for the
    chosen model (``min_tasks`` distinct tasks; every failed attempt carries a failure category)."""

    name = "eval_harness"
    inputs: ClassVar[tuple[str, ...]] = ("plan", "evals")

    def __init__(self, min_tasks: int = 30, warn: float | None = 0, fail: float | None = 1) -> None:
        super().__init__(warn, fail)
        self.require(min_tasks >= 1, f"min_tasks must be >= 1, got {min_tasks}")
        self.min_tasks = min_tasks

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        plan = _plan(context)
        h = plan.get("eval_harness")
        if h is None:
            return CheckResult(
                self.name,
                Outcome.FAIL,
                f"no eval_harness section in the plan: evals decide; to fix: {advice(self.name)}",
                np.zeros(len(records), bool),
                np.zeros(len(records)),
                {"problems": None, "found": ["no eval_harness section"]},
            )
        problems = []
        if not h.get("regression_suite"):
            problems.append("no regression suite")
        if h.get("runs_on") != "every_change":
            problems.append(f"regression suite runs on {h.get('runs_on', 'nothing declared')!r}, not every change")
        mine = _rows_of(records, plan.get("model")).to_numpy()
        need = int(h.get("min_tasks", self.min_tasks))
        n_tasks = int(records.loc[mine, "task_id"].nunique()) if len(records) else 0
        if n_tasks < need:
            problems.append(f"{n_tasks} eval tasks for {plan.get('model', 'the model')}, fewer than {need}")
        category = records["category"] if "category" in records.columns else pd.Series([None] * len(records))
        uncategorised = (
            ~records["success"].astype(bool).to_numpy() & ~category.isin(FAILURE_CATEGORIES).to_numpy()
            if len(records)
            else np.zeros(0, bool)
        )
        if uncategorised.any():
            problems.append(f"{int(uncategorised.sum())} failed attempts without a failure category")
        return self.finish(records, problems, uncategorised, extra={"tasks": n_tasks, "min_tasks": need})


@register
class EvalSuccessCheck(Check):
    """The chosen model's success rate on the eval tasks (final attempt per task)."""

    name = "eval_success"
    metric = "success_rate"
    direction = "below"
    inputs: ClassVar[tuple[str, ...]] = ("plan", "evals")

    def __init__(self, warn: float | None = 0.9, fail: float | None = 0.8) -> None:
        super().__init__(warn, fail)

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        plan = _plan(context)
        model = plan.get("model")
        if not len(records) or (model is not None and models_in(records) and model not in models_in(records)):
            return self.not_evaluated(len(records), f"no eval results for {model!r}")
        final = final_attempts(records, model if models_in(records) else None)
        rate = float(final["success"].astype(bool).mean())
        failed_lines = set(final.loc[~final["success"].astype(bool), "line"])
        flags = records["line"].isin(failed_lines).to_numpy()
        summary = {"success_rate": rate, "tasks": len(final), "failed": int((~final["success"].astype(bool)).sum())}
        return self.result(
            flags, flags.astype(float), summary, [], f"{model}: {summary['failed']} of {len(final)} tasks failed"
        )


@register
class CostModelCheck(Check):
    """The plan sets a target cost per *successful* task, and the measured cost per success of the chosen model
    (all attempts, retries included, over tasks that succeeded) meets it. The metric is measured / target."""

    name = "cost_model"
    metric = "cost_ratio"
    metric_range = (0.0, float("inf"))  # measured / target cost per success
    inputs: ClassVar[tuple[str, ...]] = ("plan", "evals")

    def __init__(self, warn: float | None = 1.0, fail: float | None = 1.5) -> None:
        super().__init__(warn, fail)

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        plan = _plan(context)
        target = (plan.get("cost_model") or {}).get("target_cost_per_success")
        n = len(records)
        if target is None:
            return CheckResult(
                self.name,
                Outcome.FAIL,
                "no cost model; to fix: set cost_model.target_cost_per_success (USD per successful task)",
                np.zeros(n, bool),
                np.zeros(n),
                {self.metric: None},
            )
        mine = _rows_of(records, plan.get("model")).to_numpy()
        if not mine.any() or "cost" not in records.columns:
            return self.not_evaluated(n, f"no eval results with a cost for {plan.get('model')!r}")
        report = cost_per_successful_task(records.loc[mine, ["task_id", "attempt", "cost", "success"]])
        ratio = report.cost_per_success / target if target > 0 else float("inf")
        flags = mine & ~records["success"].astype(bool).to_numpy()  # spend that bought nothing
        summary = {
            "cost_ratio": ratio,
            "cost_per_success": report.cost_per_success,
            "target": target,
            "total_cost": report.total_cost,
            "attempts": report.n_attempts,
            "successes": report.n_successes,
        }
        detail = (
            f"{report.cost_per_success:.6g} per success vs target {target:g} "
            f"({report.n_attempts} attempts, {report.n_successes} successes)"
        )
        return self.result(flags, flags.astype(float), summary, [], detail)


@register
class RoutingPlanCheck(Check):
    """A cheap-then-strong routing plan exists and, measured on the eval results, loses little success against
    always using the strong model. The metric is ``success_drop`` = strong-only success - routed success."""

    name = "routing_plan"
    metric = "success_drop"
    metric_range = (-1.0, 1.0)  # a difference of two success rates
    inputs: ClassVar[tuple[str, ...]] = ("plan", "evals")

    def __init__(self, warn: float | None = 0.02, fail: float | None = 0.05) -> None:
        super().__init__(warn, fail)

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        r = _plan(context).get("routing") or {}
        n = len(records)
        missing = [k for k in ("cheap", "strong", "escalation_threshold") if r.get(k) is None]
        if missing:
            return CheckResult(
                self.name,
                Outcome.FAIL,
                f"no routing plan; to fix: set routing.{', routing.'.join(missing)}",
                np.zeros(n, bool),
                np.zeros(n),
                {self.metric: None},
            )
        if "confidence" not in records.columns or "model" not in records.columns:
            return self.not_evaluated(n, "eval results lack model and confidence columns: routing not measurable")
        firsts = records[(records["model"].astype(str) == r["cheap"]) & (records["attempt"] == 1)]
        firsts = firsts.sort_values("task_id")
        strong = final_attempts(records, r["strong"]) if r["strong"] in set(records["model"].astype(str)) else None
        if firsts.empty or strong is None:
            return self.not_evaluated(n, f"eval results lack {r['cheap']!r} or {r['strong']!r}")
        unscored = firsts["line"][firsts["confidence"].isna()].tolist()  # a line without (or with a null) confidence
        if unscored:
            return self.not_evaluated(
                n,
                f"{len(unscored)} first attempts of {r['cheap']!r} have no confidence "
                f"(first: line {unscored[0]}): routing not measurable",
            )
        plan = plan_routing_from_evals(
            firsts["confidence"].astype(float).to_numpy(),
            firsts["success"].astype(bool).to_numpy(),
            float(firsts["cost"].mean()),
            PathStats(r["strong"], float(strong["cost"].mean()), float(strong["success"].astype(bool).mean())),
            threshold=float(r["escalation_threshold"]),
            failures_detectable=bool(r.get("failures_detectable", False)),
            cheap_name=r["cheap"],
        )
        strong_only = plan.baselines["strong_only"]
        drop = strong_only["expected_success"] - plan.expected_success
        escalated = firsts["line"][firsts["confidence"].astype(float) < r["escalation_threshold"]]
        flags = records["line"].isin(set(escalated)).to_numpy()
        summary = {
            "success_drop": drop,
            "routed_success": plan.expected_success,
            "strong_only_success": strong_only["expected_success"],
            "escalation_rate": plan.escalation_rate,
            "routed_cost_per_task": plan.expected_cost,
            "strong_only_cost_per_task": strong_only["expected_cost"],
            "routed_cost_per_success": plan.cost_per_success,
            "strong_only_cost_per_success": strong_only["cost_per_success"],
        }
        saving = 1 - plan.expected_cost / strong_only["expected_cost"] if strong_only["expected_cost"] else 0.0
        detail = (
            f"routed success {plan.expected_success:.1%} vs strong only {strong_only['expected_success']:.1%}; "
            f"{plan.escalation_rate:.0%} escalated; {saving:.0%} cheaper per task"
        )
        return self.result(flags, flags.astype(float), summary, [], detail)
