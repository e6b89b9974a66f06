"""The claims of the production-checklists page, judged as rules over the reports it computes.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``). The page runs
the dataset-readiness and model-readiness checklists on the bundled samples, whose problems were planted on
purpose (``playbook_lib/sample_data/README.md`` lists them), and states four things:

- every item with a planted problem warns or fails (:func:`judge_planted`, one
  :class:`~playbook_lib.experiments.verdict.Check` per planted item, and :func:`detection`, the share of planted
  items flagged with its Wilson interval); on the model plan, whose one gap is planted, no other item is flagged;
- an item's outcome moves with its thresholds (:func:`judge_thresholds`: the item is graded again at thresholds
  placed around its measured metric, and the sliders of the page's widget start at the file's values);
- the command-line tool reaches the same verdict as the library (:func:`judge_cli`, item by item from its JSON
  report, not only the exit code);
- routing trades cost for success (:func:`judge_routing`, over the escalation-threshold sweep).

The planted lists are ground truth written with the samples; on other files there is none, so that claim has no
checks and is inconclusive, never held.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from playbook_lib.checklist.run import ItemResult, Report
from playbook_lib.checks import get_check
from playbook_lib.experiments.verdict import Check, Interval, RuleVerdict, proportion_interval, rule_verdict

#: Items of ``checklists/dataset_readiness.yaml`` with a problem planted in the bundled samples
#: (``sft_sample.jsonl``, ``sft_eval.jsonl``, ``sft_traffic.jsonl``), as the sample-data README states them.
PLANTED_DATASET: dict[str, str] = {
    "quality.formatting": "empty outputs, malformed JSON lines, a non-JSON output, mojibake, a mistyped instruction",
    "quality.uniqueness.exact": "6 exact duplicates",
    "quality.uniqueness.near": "6 near-duplicates",
    "quality.compliance.pii": "7 rows with personal data or secrets",
    "quality.compliance.licence": "rows without a licence",
    "quality.relevance.embedding": "4 off-topic rows",
    "coverage": "billing traffic with no training rows",
    "coverage.style": "traffic phrased in styles training never uses",
    "coverage.embedding": "billing queries with no training example nearby",
    "split.contamination": "5 eval rows copied into training",
    "provenance": "rows without provenance",
    "golden": "no golden set",
}
#: Items of ``checklists/model_readiness.yaml`` with a gap planted in the bundled ``model_plan.yaml``.
PLANTED_MODEL: dict[str, str] = {"model.guardrails": "no audit log"}

FLAGGED = frozenset({"warn", "fail"})


def outcomes(report: Report) -> dict[str, str]:
    """Item id -> outcome (``pass``, ``warn``, ``fail``, ``not_evaluated``) of a report."""
    return {r.item.id: r.result.outcome.value for r in report.items}


def judge_planted(
    found: Mapping[str, str], planted: Mapping[str, str], others_pass: bool = False, what: str = "the sample"
) -> RuleVerdict:
    """Every planted item (id -> problem) warns or fails in ``found`` (id -> outcome); an item not evaluated, or
    missing from the checklist, is not measured. ``others_pass``: also claim that no other item is flagged (a
    sample with exactly the planted gaps). No planted items: no checks, inconclusive."""
    checks = []
    for item, problem in planted.items():
        outcome = found.get(item)
        passed = None if outcome in (None, "not_evaluated") else outcome in FLAGGED
        checks.append(Check(f"{item} warns or fails", passed, f"{problem}: {outcome or 'not in the checklist'}"))
    if others_pass and planted:
        extra = sorted(i for i, o in found.items() if i not in planted and o in FLAGGED)
        rest = [o for i, o in found.items() if i not in planted]
        checks.append(
            Check(
                "no item without a planted problem is flagged",
                not extra if rest else None,
                f"{len(rest) - len(extra)} of {len(rest)} other items pass or are not evaluated"
                + (f"; flagged: {', '.join(extra)}" if extra else ""),
            )
        )
    return rule_verdict(f"every item with a problem planted in {what} warns or fails", checks)


def detection(found: Mapping[str, str], planted: Mapping[str, str]) -> Interval:
    """The share of planted items that warn or fail, over those evaluated, with its Wilson interval."""
    evaluated = [i for i in planted if found.get(i) not in (None, "not_evaluated")]
    return proportion_interval(sum(found[i] in FLAGGED for i in evaluated), len(evaluated))


def _between(value: float, bound: float) -> float | None:
    """A threshold strictly between ``value`` and ``bound`` (``2|value| + 1`` above an infinite bound)."""
    if math.isinf(bound):
        return 2 * abs(value) + 1 if bound > 0 else None
    mid = (value + bound) / 2
    return mid if (mid > value if bound > value else mid < value) else None


def _fmt(op: str, warn: Any, fail: Any) -> str:
    show = lambda t: "none" if t is None else f"{t:.4g}"  # noqa: E731
    return f"warn {op} {show(warn)}, fail {op} {show(fail)}"


def judge_thresholds(item: ItemResult, sliders: tuple[float, float] | None = None) -> RuleVerdict:
    """The item's outcome moves with its thresholds, the metric unchanged: graded again at the file's thresholds it
    gives the report's outcome; at thresholds placed around the measured value (both on its lenient side, one on
    each, both on its strict side) it passes, warns and fails. ``sliders``: the (warn, fail) values a threshold
    widget starts at, which must be the file's. Not measured when the metric is missing or at its range's edge."""
    cls = get_check(item.item.check)
    params = item.item.params
    value = item.result.summary.get(cls.metric)
    op = ">" if cls.direction == "above" else "<"

    def grade(warn: float | None, fail: float | None) -> str:
        return cls(**{**params, "warn": warn, "fail": fail}).grade(value).value

    file_w, file_f = params.get("warn"), params.get("fail")
    checks = [
        Check(
            "graded again at the file's thresholds, the same outcome",
            None if value is None else grade(file_w, file_f) == item.result.outcome.value,
            f"{cls.metric} = {value if value is None else f'{value:.4g}'} with {_fmt(op, file_w, file_f)}: "
            f"{item.result.outcome.value}",
        )
    ]
    lo, hi = cls.metric_range
    up = None if value is None else _between(float(value), hi)
    down = None if value is None else _between(float(value), lo)
    lenient, strict = (up, down) if cls.direction == "above" else (down, up)
    for want, (w, f) in {
        "pass": (lenient, lenient),
        "warn": (strict, lenient),
        "fail": (strict, strict),
    }.items():
        name = f"{ {'pass': 'passes', 'warn': 'warns', 'fail': 'fails'}[want] } at thresholds placed for it"
        if w is None or f is None:
            checks.append(Check(name, None, "no threshold beyond the value"))
            continue
        got = grade(w, f)
        checks.append(Check(name, got == want, f"{_fmt(op, w, f)}: {got}"))
    if sliders is not None:
        same = all(
            t is not None and math.isclose(s, float(t), abs_tol=1e-12) for s, t in zip(sliders, (file_w, file_f))
        )
        checks.append(
            Check("the widget starts at the file's thresholds", same, f"sliders {_fmt(op, *sliders)} (as shown)")
        )
    return rule_verdict(f"{item.item.id}: the outcome moves with the thresholds", checks)


def judge_cli(report: Report, library_code: int, cli_code: int, cli_report: Mapping[str, Any] | None) -> RuleVerdict:
    """The command line reaches the library's verdict: the same exit code, overall outcome and outcome of every
    item (from the CLI's ``--json`` report; not measured without one)."""
    mine = outcomes(report)
    theirs = {str(i["id"]): str(i["outcome"]) for i in cli_report["items"]} if cli_report else None
    differ = sorted(i for i in mine if theirs is not None and theirs.get(i) != mine[i])
    return rule_verdict(
        "the command line reaches the library's verdict",
        [
            Check("the same exit code", cli_code == library_code, f"CLI {cli_code}, library {library_code}"),
            Check(
                "the same overall outcome",
                None if cli_report is None else cli_report.get("outcome") == report.outcome.value,
                f"CLI {None if cli_report is None else cli_report.get('outcome')}, library {report.outcome.value}",
            ),
            Check(
                "the same outcome on every item",
                None if theirs is None else not differ and set(theirs) == set(mine),
                f"{len(mine) - len(differ)} of {len(mine)} items agree"
                + (f"; differ: {', '.join(differ)}" if differ else ""),
            ),
        ],
    )


def judge_routing(sweep: pd.DataFrame) -> RuleVerdict:
    """Routing trades cost for success, over a sweep of escalation thresholds (one row per threshold with
    ``escalation_rate``, ``routed_success``, ``routed_cost_per_task`` and the strong model's ``strong_only_*``): a
    higher threshold escalates no fewer tasks and costs no less per task, and some threshold is cheaper than the
    strong model alone at no lower success. Not measured with fewer than two thresholds."""
    rows = sweep.sort_values("threshold") if len(sweep) else sweep
    if len(rows) < 2:
        return rule_verdict(
            "a routing threshold trades cost for success", [Check("a sweep of two or more thresholds", None, "")]
        )

    def rising(column: str) -> Check:
        drops = [
            f"{a:g}->{b:g}"
            for a, b, x, y in zip(rows["threshold"], rows["threshold"][1:], rows[column], rows[column][1:])
            if y < x - 1e-12
        ]
        return Check(
            f"{column.replace('_', ' ')} never falls as the threshold rises",
            not drops,
            f"{len(rows)} thresholds" + (f"; falls at {', '.join(drops)}" if drops else ""),
        )

    good = rows[
        (rows["routed_cost_per_task"] < rows["strong_only_cost_per_task"])
        & (rows["routed_success"] >= rows["strong_only_success"])
    ]
    best = (
        f"thresholds {', '.join(f'{t:g}' for t in good['threshold'])}"
        if len(good)
        else "none of " + ", ".join(f"{t:g}" for t in rows["threshold"])
    )
    return rule_verdict(
        "a routing threshold trades cost for success",
        [
            rising("escalation_rate"),
            rising("routed_cost_per_task"),
            Check("some threshold is cheaper than the strong model at no lower success", bool(len(good)), best),
        ],
    )
