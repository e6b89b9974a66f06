"""Eval results as a file: read a JSONL of eval attempts and count failure categories for the ladder.

Taught in the book's *Prompt vs RAG vs fine-tune* page (``notebooks/dm_08_prompt_rag_finetune.ipynb``) and used by
``playbook decide next`` and the model-readiness checklist (``checklists/model_readiness.yaml``).

One JSON object per line, one line per attempt::

    {"task_id": "t01", "model": "small-fast", "attempt": 1, "cost": 0.0004, "success": true,
     "category": "none", "confidence": 0.91}

``task_id``, ``success`` and, for failed attempts, ``category`` (one of :data:`~playbook_lib.decide.ladder.CATEGORIES`
other than ``none``) are what the ladder needs; ``attempt`` (default 1), ``cost``, ``model`` and ``confidence``
are used by cost and routing. Bad lines raise :class:`~playbook_lib.errors.DataError` naming ``file:line``: eval
results are configuration-like input (a decision rests on every line), so a hostile line (JSON nested too deeply,
an integer too long, a list where an id, a flag, a category or a number is expected) stops the load with one line
instead of being skipped; lone UTF-16 surrogates become U+FFFD (:mod:`playbook_lib.io.jsonl`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from playbook_lib.decide.ladder import CATEGORIES
from playbook_lib.errors import DataError, EmptyDataError, UsageError
from playbook_lib.io.jsonl import check_data_file, iter_jsonl, json_type

FAILURE_CATEGORIES = tuple(c for c in CATEGORIES if c != "none")


def _show(value: Any, limit: int = 60) -> str:
    """A short repr of a value for a one-line message (a hostile value can be megabytes)."""
    text = repr(value) if not isinstance(value, (list, dict)) else f"an {json_type(value)}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> bool:
    """A finite JSON number (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_eval_results(path: str | Path) -> pd.DataFrame:
    """Read eval attempts from a JSONL file into a DataFrame with a 1-based ``line`` column.

    Validates per line: an object with ``task_id`` (a string, or an integer kept as its string) and a boolean
    ``success``; ``category`` (when present) a known category; ``cost`` (when present) a finite number >= 0;
    ``attempt`` (default 1) an integer >= 1; ``model`` (when present) a string; ``confidence`` (when present) a
    number from 0 to 1. The frame's ``attrs`` carry ``path``, ``format`` and ``skipped`` (always empty: a bad line
    is an error, not skipped).

    Raises:
        DataError: missing or unreadable file, non-UTF-8 bytes, invalid JSON or an invalid row
            (``file:line: reason``).
        EmptyDataError: the file holds no row.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: eval results file not found")
    check_data_file(path, "eval results file")  # a folder, a FIFO or device, no permission
    rows: list[dict[str, Any]] = []
    for number, obj in iter_jsonl(path):
        where = f"{path}:{number}"
        if not isinstance(obj, dict):
            raise DataError(f"{where}: expected a JSON object per line")
        task_id = obj.get("task_id")
        if task_id is None or task_id == "":
            raise DataError(f"{where}: missing task_id")
        if isinstance(task_id, bool) or not isinstance(task_id, (str, int)):
            raise DataError(f"{where}: task_id must be a string or an integer, got {_show(task_id)}")
        if not isinstance(obj.get("success"), bool):
            raise DataError(f"{where}: success must be true or false, got {_show(obj.get('success'))}")
        cat = obj.get("category")
        if cat is not None and (not isinstance(cat, str) or cat not in CATEGORIES):
            raise DataError(f"{where}: unknown category {_show(cat)}; valid: {', '.join(CATEGORIES)}")
        cost = obj.get("cost", 0.0)
        if not _number(cost) or cost < 0:
            raise DataError(f"{where}: cost must be a number >= 0, got {_show(cost)}")
        attempt = obj.get("attempt", 1)
        if isinstance(attempt, bool) or not isinstance(attempt, int) or not 1 <= attempt < 2**63:
            raise DataError(f"{where}: attempt must be an integer >= 1, got {_show(attempt)}")
        model = obj.get("model")
        if model is not None and not isinstance(model, str):
            raise DataError(f"{where}: model must be a string, got {_show(model)}")
        confidence = obj.get("confidence")
        if confidence is not None and not (_number(confidence) and 0 <= confidence <= 1):
            raise DataError(f"{where}: confidence must be a number from 0 to 1, got {_show(confidence)}")
        rows.append({"line": number, "attempt": 1, **obj, "task_id": str(task_id)})
    if not rows:
        raise EmptyDataError(f"{path}: no eval results")
    frame = pd.DataFrame(rows)
    frame.attrs.update(path=str(path), format="jsonl", skipped=[])
    return frame


def models_in(evals: pd.DataFrame) -> list[str]:
    """The distinct ``model`` values, sorted (empty when the column is absent)."""
    if "model" not in evals.columns:
        return []
    return sorted(str(m) for m in evals["model"].dropna().unique())


def final_attempts(evals: pd.DataFrame, model: str | None = None) -> pd.DataFrame:
    """The last attempt of every task (the outcome that counts), for one ``model``.

    Raises:
        UsageError: ``model`` is not in the evals, or it is None and the evals hold several models.
    """
    names = models_in(evals)
    if model is not None:
        if model not in names:
            raise UsageError(f"model {model!r} not in the eval results; present: {', '.join(names) or 'none'}")
        evals = evals[evals["model"].astype(str) == model]
    elif len(names) > 1:
        raise UsageError(f"the eval results hold several models ({', '.join(names)}): choose one (--model)")
    ordered = evals.sort_values(["task_id", "attempt", "line"], kind="stable")
    return ordered.groupby("task_id", sort=True).tail(1).sort_values("line").reset_index(drop=True)


def failure_counts(evals: pd.DataFrame, model: str | None = None) -> dict[str, int]:
    """Counts per ladder category over the final attempts: ``none`` for successes, the failure's category otherwise.

    Raises:
        DataError: a failed final attempt has no failure category (``file:line``).
        UsageError: see :func:`final_attempts`.
    """
    final = final_attempts(evals, model)
    counts = {c: 0 for c in CATEGORIES}
    source = evals.attrs.get("path", "<evals>")
    for row in final.to_dict("records"):
        if row["success"]:
            counts["none"] += 1
            continue
        cat = row.get("category")
        if cat not in FAILURE_CATEGORIES:
            raise DataError(
                f"{source}:{row['line']}: failed attempt needs a failure category "
                f"({', '.join(FAILURE_CATEGORIES)}), got {cat!r}"
            )
        counts[cat] += 1
    return counts
