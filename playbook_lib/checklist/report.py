"""Reports of a checklist run: a terminal summary (rich), JSON for programs, JUnit XML for CI, a static HTML page.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``).
Reports hold no timestamps and are sorted, so the same inputs give byte-identical files; examples are masked.
Files are written atomically (a temporary file in the same folder, then a rename).
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from playbook_lib.checklist.html_report import render as render_html
from playbook_lib.checklist.run import Report
from playbook_lib.checks import Outcome
from playbook_lib.text.masking import masked, plain

#: At most this many flagged line numbers per item go into the JSON report.
MAX_LINES = 10_000

_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "not_evaluated": "dim"}


def to_dict(report: Report, timings: bool = False) -> dict[str, Any]:
    """The JSON report. Each item counts its flagged rows (``flagged``) and lists them (at most ``MAX_LINES``) as
    0-based ``flagged_rows`` and as the physical ``flagged_lines`` they start on (none for Parquet); every example
    names its row by ``row``, ``line`` and ``id`` (:mod:`playbook_lib.checklist.rows`); ``report.data["flags_file"]``
    is the file with every flagged row, when ``--flags`` wrote one.
    ``timings=True`` adds per-check seconds (which differ between runs). Every string is :func:`masked`."""
    items = []
    for r in report.items:
        entry = {
            "id": r.item.id,
            "title": r.item.title,
            "section": r.item.section,
            "params": r.item.params,
            **r.result.to_dict(),
            "examples": r.examples,
            "flagged": len(r.flagged_rows),
            "flagged_rows": r.flagged_rows[:MAX_LINES],
            "flagged_lines": r.flagged_lines[:MAX_LINES],
            "flagged_lines_truncated": len(r.flagged_rows) > MAX_LINES,
        }
        if timings:
            entry["seconds"] = round(r.seconds, 3)
        items.append(entry)
    return masked(
        {
            "checklist": report.checklist.name,
            "checklist_path": report.checklist.path,
            "outcome": report.outcome.value,
            "counts": report.counts(),
            "data": report.data,
            "items": items,
        }
    )


def to_json(report: Report, timings: bool = False) -> str:
    """The JSON report as text (sorted keys, two-space indent)."""
    return json.dumps(to_dict(report, timings), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def to_junit(report: Report) -> str:
    """JUnit XML: one test case per item; ``fail`` is a failure, ``not_evaluated`` a skip, ``warn`` passes with
    its message in ``system-out``. Every string is :func:`masked`."""
    counts = report.counts()
    name = masked(report.checklist.name)
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(report.items)),
        failures=str(counts["fail"]),
        errors="0",
        skipped=str(counts["not_evaluated"]),
    )
    for r in report.items:
        case = ET.SubElement(
            suite, "testcase", classname=masked(f"{report.checklist.name}.{r.item.check}"), name=masked(r.item.id)
        )
        message = masked(r.result.message)
        text = masked(f"{r.item.title}: {r.result.message}")
        if r.result.outcome is Outcome.FAIL:
            ET.SubElement(case, "failure", message=message).text = text
        elif r.result.outcome is Outcome.NOT_EVALUATED:
            ET.SubElement(case, "skipped", message=message)
        else:
            ET.SubElement(case, "system-out").text = f"{r.result.outcome.value}: {text}"
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def print_terminal(report: Report, console: Any = None) -> None:
    """A readable summary table, one row per item, and the masked examples of items that did not pass.

    Every string is :func:`masked` and printed as plain text (a value such as ``[/x]`` is no rich markup)."""
    from rich.console import Console  # lazy: rich (40 ms) only where a table or line is printed
    from rich.table import Table  # lazy: rich (40 ms) only where a table or line is printed

    console = console or Console()
    train = report.data.get("train") or report.data.get("evals", {})
    table = Table(
        title=plain(
            f"{report.checklist.name}: {train.get('path', '')} ({train.get('rows', 0)} rows"
            f"{', {} skipped'.format(train['skipped_rows']) if train.get('skipped_rows') else ''})"
        )
    )
    table.add_column("item")
    table.add_column("check")
    table.add_column("outcome")
    table.add_column("result")
    for r in report.items:
        o = r.result.outcome.value
        table.add_row(
            plain(r.item.title), plain(r.item.check), f"[{_STYLE[o]}]{o}[/]", plain(r.result.message), end_section=False
        )
    console.print(table)
    for r in report.items:
        if r.result.outcome in (Outcome.WARN, Outcome.FAIL) and r.examples:
            console.print(f"[bold]{plain(r.item.id)}[/] examples (masked):")
            for ex in r.examples[:3]:
                console.print(
                    "  " + json.dumps(masked(ex), ensure_ascii=False, sort_keys=True), markup=False, highlight=False
                )
    counts = report.counts()
    console.print(
        f"overall: [{_STYLE[report.outcome.value]}]{report.outcome.value}[/] "
        + ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    )


def to_html(report: Report) -> str:
    """A self-contained, offline HTML page that reads as a report (see :mod:`playbook_lib.checklist.html_report`):
    per-item sections with tables of the summary and examples, a sortable table of flagged rows and inline SVG
    charts. It is built from :func:`to_dict`, so every string is :func:`masked` (and escaped)."""
    return render_html(report, to_dict(report))
