"""Evaluate a parsed checklist on records: each item runs its check; outcomes combine into an exit code.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``).

A check that raises is never turned into a pass: the exception propagates (configuration and data errors as
:class:`~playbook_lib.errors.PlaybookError`, bugs as themselves).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from playbook_lib.checklist.parse import ChecklistSpec, ItemSpec
from playbook_lib.checks import CheckContext, CheckResult, Outcome, get_check, worst
from playbook_lib.errors import ExitCode, final_code


@dataclass
class ItemResult:
    """The result of one checklist item and how long its check took."""

    item: ItemSpec
    result: CheckResult
    seconds: float
    flagged_lines: list[int] = field(default_factory=list)


@dataclass
class Report:
    """Every item's result plus a description of the data it ran on."""

    checklist: ChecklistSpec
    items: list[ItemResult]
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> Outcome:
        """The most severe item outcome."""
        return worst([r.result.outcome for r in self.items])

    def counts(self) -> dict[str, int]:
        """How many items ended in each outcome."""
        out = {o.value: 0 for o in Outcome}
        for r in self.items:
            out[r.result.outcome.value] += 1
        return out


def describe(frame: pd.DataFrame | None) -> dict[str, Any] | None:
    """Path, format, row count and skipped rows of a loaded dataset (for the report)."""
    if frame is None:
        return None
    skipped = list(frame.attrs.get("skipped", []))
    return {
        "path": frame.attrs.get("path", ""),
        "format": frame.attrs.get("format", ""),
        "rows": len(frame),
        "skipped_rows": len(skipped),
        "skipped": skipped[:20],
    }


def run_checklist(
    spec: ChecklistSpec,
    records: pd.DataFrame,
    context: CheckContext | None = None,
    on_item: Callable[[ItemSpec], None] | None = None,
    on_done: Callable[[ItemResult], None] | None = None,
) -> Report:
    """Run every item of ``spec`` on ``records`` (in file order); ``on_item`` is called before each item and
    ``on_done`` after it (progress display)."""
    context = context or CheckContext()
    results = []
    for item in spec.items:
        if on_item is not None:
            on_item(item)
        check = get_check(item.check)(**item.params)
        start = time.perf_counter()
        result = check.run(records, context)
        seconds = time.perf_counter() - start
        if len(result.flags) != len(records):
            raise RuntimeError(f"check {item.check!r} returned {len(result.flags)} flags for {len(records)} rows")
        lines = records["line"].to_numpy()[result.flags].tolist()
        results.append(ItemResult(item, result, seconds, [int(x) for x in lines]))
        if on_done is not None:
            on_done(results[-1])
    role = "train" if any("data" in get_check(i.check).inputs for i in spec.items) else "evals"
    data = {
        role: describe(records),
        "eval": describe(context.eval),
        "traffic": describe(context.traffic),
        "golden": describe(context.golden),
    }
    if context.plan is not None:
        data["plan"] = {"path": context.plan.get("_path", ""), "name": context.plan.get("name", "")}
    return Report(spec, results, {k: v for k, v in data.items() if v is not None})


def required_inputs(spec: ChecklistSpec) -> set[str]:
    """The inputs (``data``, ``plan``, ``evals``) the checklist's checks read; see :attr:`Check.inputs`."""
    return {name for item in spec.items for name in get_check(item.check).inputs}


def outcome_code(outcome: Outcome, fail_on: str = "fail") -> ExitCode:
    """The exit code one item's outcome asks for: 2 for ``fail``; 1 for ``warn`` and ``not_evaluated`` under
    ``fail_on="warn"`` (a check that did not run is not a pass); else 0."""
    if fail_on not in ("fail", "warn"):
        raise ValueError(f"fail_on must be 'fail' or 'warn', not {fail_on!r}")
    if outcome is Outcome.FAIL:
        return ExitCode.FAIL
    if fail_on == "warn" and outcome in (Outcome.WARN, Outcome.NOT_EVALUATED):
        return ExitCode.WARN
    return ExitCode.OK


def exit_code(report: Report, fail_on: str = "fail", *others: int) -> ExitCode:
    """0 when nothing failed; 2 when an item failed; 1 when ``fail_on="warn"`` and an item warned or could not be
    evaluated (a check that did not run is not a pass). ``others`` are codes of the same run from elsewhere (a
    usage or data error): :func:`~playbook_lib.errors.final_code` decides, the highest wins."""
    return final_code(*(outcome_code(r.result.outcome, fail_on) for r in report.items), *others)
