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

import numpy as np
import pandas as pd

from playbook_lib.checklist.parse import ChecklistSpec, ItemSpec
from playbook_lib.checklist.rows import RowRefs
from playbook_lib.checks import CheckContext, CheckResult, Outcome, get_check, worst
from playbook_lib.data.shape import Shape, detect_shape
from playbook_lib.errors import ExitCode, final_code


@dataclass
class ItemResult:
    """The result of one checklist item and how long its check took, with its flagged rows named as every report
    names them (:mod:`playbook_lib.checklist.rows`): ``flagged_rows`` (0-based), ``flagged_lines`` (the physical
    lines they start on; none for Parquet) and ``examples`` (the check's examples with ``row``, ``line``, ``id``)."""

    item: ItemSpec
    result: CheckResult
    seconds: float
    flagged_lines: list[int] = field(default_factory=list)
    flagged_rows: list[int] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)


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
    dataset = any("data" in get_check(i.check).inputs for i in spec.items)
    shape = detect_shape(records) if dataset else None
    refs = RowRefs(records)
    for item in spec.items:
        if on_item is not None:
            on_item(item)
        check = get_check(item.check)(**item.params)
        start = time.perf_counter()
        if shape is not None and check.shapes is not None and shape.value not in check.shapes:
            result = check.not_evaluated(len(records), _other_shape(check.shapes, shape))
        else:
            result = check.run(records, context)
        seconds = time.perf_counter() - start
        results.append(item_result(item, result, seconds, refs, len(records)))
        if on_done is not None:
            on_done(results[-1])
    role = "train" if dataset else "evals"
    return Report(spec, results, described(role, describe(records), context, shape))


def item_result(item: ItemSpec, result: CheckResult, seconds: float, refs: Any, rows: int) -> ItemResult:
    """One item's result with its flagged rows named by ``refs`` (:class:`~playbook_lib.checklist.rows.RowRefs`
    or the stored references of a batched run); a check that returned flags for other than ``rows`` rows is a bug.
    """
    if len(result.flags) != rows:
        raise RuntimeError(f"check {item.check!r} returned {len(result.flags)} flags for {rows} rows")
    flagged = np.flatnonzero(result.flags)
    examples = [refs.enrich(e) for e in result.examples]
    return ItemResult(item, result, seconds, refs.lines(flagged), [int(x) for x in flagged], examples)


def described(role: str, main: dict[str, Any] | None, context: CheckContext, shape: Shape | None) -> dict[str, Any]:
    """The report's description of the data: the main records under ``role`` (``train`` or ``evals``), each
    context set, the declared licence, the data shape and the plan, leaving out what was not given."""
    data: dict[str, Any] = {
        role: main,
        "eval": describe(context.eval),
        "traffic": describe(context.traffic),
        "golden": describe(context.golden),
        "validation": describe(context.validation),
    }
    if context.licence is not None:
        data["licence"] = context.licence
    if shape is not None:
        data["shape"] = shape.value
    if context.plan is not None:
        data["plan"] = {"path": context.plan.get("_path", ""), "name": context.plan.get("name", "")}
    return {k: v for k, v in data.items() if v is not None}


def _other_shape(shapes: tuple[str, ...], shape: Shape) -> str:
    """Why an item did not run: its check applies to other data shapes (the report's one line)."""
    return (
        f"applies to {' or '.join(shapes)} data; this dataset is {shape.value} (detected from its fields, see "
        "playbook_lib.data.shape)"
    )


def required_inputs(spec: ChecklistSpec) -> set[str]:
    """The inputs (``data``, ``plan``, ``evals``) the checklist's checks read; see :attr:`Check.inputs`."""
    return {name for item in spec.items for name in get_check(item.check).inputs}


def outcome_code(outcome: Outcome, fail_on: str = "fail", strict: bool = False) -> ExitCode:
    """The exit code one item's outcome asks for: 2 for ``fail``, and for ``not_evaluated`` when ``strict``; 1 for
    ``warn`` and ``not_evaluated`` under ``fail_on="warn"`` (a check that did not run is not a pass); else 0."""
    if fail_on not in ("fail", "warn"):
        raise ValueError(f"fail_on must be 'fail' or 'warn', not {fail_on!r}")
    if outcome is Outcome.FAIL or (strict and outcome is Outcome.NOT_EVALUATED):
        return ExitCode.FAIL
    if fail_on == "warn" and outcome in (Outcome.WARN, Outcome.NOT_EVALUATED):
        return ExitCode.WARN
    return ExitCode.OK


def exit_code(report: Report, fail_on: str = "fail", *others: int, strict: bool = False) -> ExitCode:
    """0 when nothing failed; 2 when an item failed, or was not evaluated under ``strict`` (or the checklist's own
    ``strict: true``); 1 when ``fail_on="warn"`` and an item warned or could not be evaluated (a check that did not
    run is not a pass). ``others`` are codes of the same run from elsewhere (a usage or data error):
    :func:`~playbook_lib.errors.final_code` decides, the highest wins."""
    strict = strict or report.checklist.strict
    return final_code(*(outcome_code(r.result.outcome, fail_on, strict) for r in report.items), *others)
