"""Cost per successful task, and the expected cost and success rate of a cheap-then-strong routing plan.

Taught in the book's *Model selection* page (``notebooks/dm_07_model_selection.ipynb``).

The unit that matters is the cost of a *successful* task: every attempt is paid for, including failures and
retries, and only tasks that end in success deliver value. A model that is cheap per call but needs three retries
can cost more per success than a dearer one that succeeds first time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("task_id", "attempt", "cost", "success")


@dataclass(frozen=True)
class CostReport:
    """Spend and successes over a set of eval attempts.

    Attributes:
        total_cost: all spend, failed attempts and retries included.
        n_attempts: number of attempts (rows).
        n_tasks: number of distinct tasks.
        n_successes: tasks with at least one successful attempt (a task counts once however often it succeeded).
        cost_per_success: ``total_cost / n_successes``; ``math.inf`` when nothing succeeded (see ``note``).
        success_rate: ``n_successes / n_tasks``.
        attempts_per_task: ``n_attempts / n_tasks``.
        note: empty, or why ``cost_per_success`` is infinite.
    """

    total_cost: float
    n_attempts: int
    n_tasks: int
    n_successes: int
    cost_per_success: float
    success_rate: float
    attempts_per_task: float
    note: str = ""


def _frame(attempts: pd.DataFrame | Iterable[Mapping[str, Any]], by: str | None = None) -> pd.DataFrame:
    df = attempts.copy() if isinstance(attempts, pd.DataFrame) else pd.DataFrame(list(attempts))
    if df.empty:
        raise ValueError("no eval attempts given")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"eval attempts lack column(s) {missing}; need {list(REQUIRED_COLUMNS)}")
    if df["task_id"].isna().any():
        raise ValueError("task_id must not be empty")
    cost = pd.to_numeric(df["cost"], errors="coerce")
    if cost.isna().any() or not np.isfinite(cost).all() or (cost < 0).any():
        bad = df.index[cost.isna() | ~np.isfinite(cost.fillna(0)) | (cost < 0)][0]
        raise ValueError(f"cost must be a finite number >= 0 (row {bad}: {df.loc[bad, 'cost']!r})")
    ok_bool = df["success"].map(lambda v: isinstance(v, (bool, np.bool_)) or v in (0, 1))
    if not ok_bool.all():
        bad = df.index[~ok_bool][0]
        raise ValueError(f"success must be true/false (row {bad}: {df.loc[bad, 'success']!r})")
    if by is not None and by not in df.columns:
        raise ValueError(f"eval attempts lack the grouping column {by!r}")
    keys = ["task_id", "attempt"] + ([by] if by is not None else [])
    if df.duplicated(keys).any():
        dup = df[df.duplicated(keys)].iloc[0]
        raise ValueError(f"duplicate attempt {dup['attempt']!r} for task {dup['task_id']!r}")
    df["cost"] = cost.astype(float)
    df["success"] = df["success"].astype(bool)
    return df


def cost_per_successful_task(attempts: pd.DataFrame | Iterable[Mapping[str, Any]]) -> CostReport:
    """All spend divided by the number of tasks that succeeded.

    Args:
        attempts: a DataFrame or records with ``task_id``, ``attempt``, ``cost`` (>= 0) and ``success`` (bool),
            one row per attempt, retries included.

    Raises:
        ValueError: no rows, a missing column, a negative or non-numeric cost, a non-boolean success, or the same
            (task_id, attempt) twice. No success at all is not an error: the cost is reported as ``math.inf``.
    """
    df = _frame(attempts)
    total = float(df["cost"].sum())
    n_tasks = int(df["task_id"].nunique())
    n_success = int(df.groupby("task_id")["success"].any().sum())
    note = ""
    if n_success:
        per = total / n_success
    else:
        per = math.inf
        note = f"no task succeeded: {total:g} spent on {len(df)} attempts for nothing"
    return CostReport(
        total_cost=total,
        n_attempts=len(df),
        n_tasks=n_tasks,
        n_successes=n_success,
        cost_per_success=per,
        success_rate=n_success / n_tasks,
        attempts_per_task=len(df) / n_tasks,
        note=note,
    )


def cost_table(attempts: pd.DataFrame | Iterable[Mapping[str, Any]], by: str = "model") -> pd.DataFrame:
    """``cost_per_successful_task`` for each value of column ``by`` (e.g. one row per model), cheapest first.

    Columns: ``by``, total_cost, n_attempts, n_tasks, n_successes, cost_per_success, success_rate,
    attempts_per_task. Groups with no success sort last, with ``cost_per_success`` = inf.
    """
    df = _frame(attempts, by=by)
    rows = []
    for key, group in df.groupby(by, sort=True):
        r = cost_per_successful_task(group)
        rows.append({by: key, **{k: v for k, v in r.__dict__.items() if k != "note"}})
    return pd.DataFrame(rows).sort_values(["cost_per_success", by], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class PathStats:
    """One model path: what an attempt costs and how often it succeeds."""

    name: str
    cost: float
    success_rate: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.cost) or self.cost < 0:
            raise ValueError(f"path {self.name!r}: cost must be a finite number >= 0, got {self.cost!r}")
        if not 0 <= self.success_rate <= 1:
            raise ValueError(f"path {self.name!r}: success_rate must be in [0, 1], got {self.success_rate!r}")


@dataclass(frozen=True)
class RoutingPlan:
    """Expected outcome per task of: try ``cheap``; escalate to ``strong`` when flagged.

    Attributes:
        escalation_rate: share of tasks sent on to the strong path.
        expected_cost: cheap cost + escalation_rate x strong cost.
        expected_success: share of tasks that end in a correct answer.
        cost_per_success: expected_cost / expected_success (``math.inf`` when it is 0).
        baselines: expected_cost, expected_success and cost_per_success of ``cheap_only`` and ``strong_only``.
    """

    cheap: PathStats
    strong: PathStats
    escalation_rate: float
    expected_cost: float
    expected_success: float
    cost_per_success: float
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)


def _per_success(cost: float, success: float) -> float:
    return cost / success if success > 0 else math.inf


def plan_routing(
    cheap: PathStats,
    strong: PathStats,
    escalate_if_failed: float = 1.0,
    escalate_if_succeeded: float = 0.0,
) -> RoutingPlan:
    """Expected cost and success of cheap-then-strong routing, from per-path success rates and costs.

    A task first goes to ``cheap``. It is escalated to ``strong`` with probability ``escalate_if_failed`` when the
    cheap answer is wrong (how well the failure is detected: validator, low confidence) and with probability
    ``escalate_if_succeeded`` when it is right (false alarms). Strong-path success is assumed independent of the
    cheap path's outcome. An accepted wrong cheap answer counts as a failure.
    """
    for name, v in (("escalate_if_failed", escalate_if_failed), ("escalate_if_succeeded", escalate_if_succeeded)):
        if not 0 <= v <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {v!r}")
    s = cheap.success_rate
    esc = s * escalate_if_succeeded + (1 - s) * escalate_if_failed
    cost = cheap.cost + esc * strong.cost
    success = s * (1 - escalate_if_succeeded) + esc * strong.success_rate
    baselines = {
        f"{role}_only": {
            "expected_cost": p.cost,
            "expected_success": p.success_rate,
            "cost_per_success": _per_success(p.cost, p.success_rate),
        }
        for role, p in (("cheap", cheap), ("strong", strong))
    }
    return RoutingPlan(
        cheap=cheap,
        strong=strong,
        escalation_rate=esc,
        expected_cost=cost,
        expected_success=success,
        cost_per_success=_per_success(cost, success),
        baselines=baselines,
    )


def plan_routing_from_evals(
    cheap_confidence: Sequence[float] | np.ndarray,
    cheap_success: Sequence[bool] | np.ndarray,
    cheap_cost: float,
    strong: PathStats,
    threshold: float,
    failures_detectable: bool = True,
    cheap_name: str = "cheap",
) -> RoutingPlan:
    """``plan_routing`` with escalation rates measured on eval data for a confidence ``threshold``.

    A task escalates when the cheap path's confidence is below ``threshold`` or, with ``failures_detectable``
    (a validator catches wrong answers), when it failed.

    Args:
        cheap_confidence: the cheap path's confidence per eval task.
        cheap_success: whether the cheap path got each task right.
        cheap_cost: cost of one cheap attempt.
        strong: the strong path's cost and success rate.
        threshold: escalate below this confidence.
        failures_detectable: whether every cheap failure is caught and escalated regardless of confidence.
        cheap_name: label of the cheap path.
    """
    conf = np.asarray(cheap_confidence, dtype=np.float64)
    ok = np.asarray(cheap_success, dtype=bool)
    if conf.ndim != 1 or conf.size == 0 or conf.shape != ok.shape:
        raise ValueError("cheap_confidence and cheap_success must be non-empty and of the same length")
    if np.isnan(conf).any():
        raise ValueError("cheap_confidence must not contain NaN")
    escalate = conf < threshold
    if failures_detectable:
        escalate |= ~ok
    n_ok, n_fail = int(ok.sum()), int((~ok).sum())
    cheap = PathStats(cheap_name, cheap_cost, n_ok / ok.size)
    return plan_routing(
        cheap,
        strong,
        escalate_if_failed=float(escalate[~ok].mean()) if n_fail else 1.0,
        escalate_if_succeeded=float(escalate[ok].mean()) if n_ok else 0.0,
    )
