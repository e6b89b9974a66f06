"""The job summary of the ``playbook check`` GitHub Action (``action.yml`` at the repository root).

Reads the JSON report of one run and prints Markdown for ``$GITHUB_STEP_SUMMARY``: the overall outcome, the counts,
and one table row per checklist item (its outcome and message). With ``--annotate`` it also prints a workflow
command (``::error::``/``::warning::``) per failed or warned item and one for a non-zero exit code, so the run's page
shows them. Standard library only: it runs in the action's Python without importing ``playbook_lib``, and a report
that is missing or unreadable (the check stopped before writing it) still gives a summary saying why.

The messages come from the report, where personal data is already masked (README, "Check a dataset before
fine-tuning"); this script only escapes them for Markdown.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

#: What each exit code of ``playbook check`` means (``playbook_lib/errors.py``, ``ExitCode``; the README's table).
EXIT_CODES = {
    0: "success: no item failed (warnings allowed unless fail-on is warn)",
    1: "warnings or unevaluated items, reported as failure because fail-on is warn",
    2: "at least one checklist item failed",
    3: "usage or configuration error (a bad option or input, a malformed checklist, an unwritable report path)",
    4: "data error (a missing, empty, unreadable or malformed data file)",
    5: "internal error in playbook (a bug, not bad input; PLAYBOOK_DEBUG=1 adds the traceback)",
    130: "interrupted",
    141: "standard output closed early",
}

ICONS = {"pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ fail", "not_evaluated": "⏭️ not evaluated"}


def meaning(code: int | None) -> str:
    """One line for an exit code; ``None`` is a check that never ran (an earlier step failed)."""
    if code is None:
        return "playbook check did not run (an earlier step failed)"
    return EXIT_CODES.get(code, f"unexpected exit code {code}")


def cell(text: object) -> str:
    """``text`` as one Markdown table cell: one line, no column break, no HTML."""
    flat = " ".join(str(text).split())
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def annotation(text: str) -> str:
    """``text`` escaped as the message of a workflow command (``%``, CR and LF are the command syntax's)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def load(path: str) -> dict[str, Any] | None:
    """The JSON report, or ``None`` when there is none to read."""
    if not path:
        return None
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and isinstance(report.get("items"), list) else None


def summary(report: dict[str, Any] | None, code: int | None) -> str:
    """The Markdown summary of one run."""
    head = f"exit code {code}: {meaning(code)}" if code is not None else meaning(code)
    if report is None:
        return f"## playbook check\n\n{cell(head)}\n\nNo JSON report was written; the step's log says why.\n"
    counts = report.get("counts") or {}
    tally = ", ".join(f"{cell(k)} {cell(v)}" for k, v in sorted(counts.items()))
    lines = [
        f"## playbook check: {cell(report.get('checklist', ''))} — {cell(report.get('outcome', ''))}",
        "",
        f"{cell(head)}",
        "",
        f"Items: {tally}",
        "",
        "| item | outcome | message |",
        "|---|---|---|",
    ]
    for item in report["items"]:
        if not isinstance(item, dict):
            continue
        outcome = str(item.get("outcome", ""))
        lines.append(
            f"| `{cell(item.get('id', ''))}` | {ICONS.get(outcome, cell(outcome))} | {cell(item.get('message', ''))} |"
        )
    lines += ["", "The JSON, JUnit and HTML reports are in the run's artifact."]
    return "\n".join(lines) + "\n"


def annotations(report: dict[str, Any] | None, code: int | None) -> list[str]:
    """Workflow commands for the run's page: one per failed or warned item, one for a non-zero exit code."""
    out = []
    for item in (report or {}).get("items", []):
        if isinstance(item, dict) and item.get("outcome") in ("fail", "warn"):
            level = "error" if item["outcome"] == "fail" else "warning"
            out.append(
                f"::{level} title=playbook {annotation(str(item.get('id', '')))}::{annotation(str(item.get('message', '')))}"
            )
    if code:
        out.append(f"::error title=playbook check exited {code}::{annotation(meaning(code))}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--report", default="", help="the JSON report of the run (may be missing)")
    parser.add_argument("--exit-code", default="", help="playbook check's exit code; empty: it did not run")
    parser.add_argument("--summary", default="-", help="append the Markdown here ($GITHUB_STEP_SUMMARY; '-': stdout)")
    parser.add_argument("--annotate", action="store_true", help="print workflow commands (::error::) on stdout")
    args = parser.parse_args(argv)
    text = args.exit_code.strip()
    code = int(text) if text.isdigit() else None
    report = load(args.report)
    markdown = summary(report, code)
    if args.summary in ("", "-"):
        sys.stdout.write(markdown)
    else:
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write(markdown)
    if args.annotate:
        sys.stdout.write("".join(line + "\n" for line in annotations(report, code)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
