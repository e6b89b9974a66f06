"""Eval results as a file: read a JSONL of eval attempts and count failure categories for the ladder.

Taught in the book's *Prompt vs RAG vs fine-tune* page (``notebooks/dm_08_prompt_rag_finetune.ipynb``) and used by
``playbook decide next`` and the model-readiness checklist (``checklists/model_readiness.yaml``).

One JSON object per line, one line per attempt::

    {"task_id": "t01", "model": "small-fast", "attempt": 1, "cost": 0.0004, "success": true,
     "category": "none", "confidence": 0.91}

``task_id``, ``success`` and, for failed attempts, ``category`` (one of :data:`~playbook_lib.decide.ladder.CATEGORIES`
other than ``none``) are what the ladder needs; ``attempt`` (default 1), ``cost``, ``model`` and ``confidence``
are used by cost and routing. Bad lines raise :class:`~playbook_lib.errors.DataError` naming ``file:line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from playbook_lib.decide.ladder import CATEGORIES
from playbook_lib.errors import DataError, EmptyDataError, UsageError
from playbook_lib.jsonl import iter_jsonl

FAILURE_CATEGORIES = tuple(c for c in CATEGORIES if c != "none")


def load_eval_results(path: str | Path) -> pd.DataFrame:
    """Read eval attempts from a JSONL file into a DataFrame with a 1-based ``line`` column.

    Validates per line: an object with ``task_id`` and a boolean ``success``; ``category`` (when present) a known
    category; ``cost`` (when present) a number >= 0. ``attempt`` defaults to 1. The frame's ``attrs`` carry
    ``path``, ``format`` and ``skipped`` (always empty: a bad line is an error, not skipped).

    Raises:
        DataError: missing file, non-UTF-8 bytes, invalid JSON or an invalid row (``file:line: reason``).
        EmptyDataError: the file holds no row.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: eval results file not found")
    rows: list[dict[str, Any]] = []
    for number, obj in iter_jsonl(path):
        where = f"{path}:{number}"
        if not isinstance(obj, dict):
            raise DataError(f"{where}: expected a JSON object per line")
        if obj.get("task_id") in (None, ""):
            raise DataError(f"{where}: missing task_id")
        if not isinstance(obj.get("success"), bool):
            raise DataError(f"{where}: success must be true or false, got {obj.get('success')!r}")
        cat = obj.get("category")
        if cat is not None and cat not in CATEGORIES:
            raise DataError(f"{where}: unknown category {cat!r}; valid: {', '.join(CATEGORIES)}")
        cost = obj.get("cost", 0.0)
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or cost < 0 or cost != cost:
            raise DataError(f"{where}: cost must be a number >= 0, got {cost!r}")
        rows.append({"line": number, "attempt": 1, **obj})
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
            raise DataError(f"{source}:{row['line']}: failed attempt needs a failure category "
                            f"({', '.join(FAILURE_CATEGORIES)}), got {cat!r}")
        counts[cat] += 1
    return counts
