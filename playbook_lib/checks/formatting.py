"""Formatting: required fields, empty or whitespace-only text, wrong types, chat role order, length outliers,
control characters and mojibake, and outputs that must be valid JSON.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
formatting".
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import CheckContext, CheckResult
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.hashing import whitespace_tokens
from playbook_lib.checks.registry import register
from playbook_lib.data.load import DEFAULT_ALIASES, META_FIELDS
from playbook_lib.text.normal import snippet
from playbook_lib.text.scan import rows_matching

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# UTF-8 read as Latin-1/CP1252 ("Ã©", "â€™"), and the replacement character left by a lossy decode.
_MOJIBAKE = re.compile(r"Ã[\x80-\xbf©¨ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿ ¡¢£¤¥¦§]|â€[™œ\x9d˜“”¦\"]|Â[\xa0-\xbf]|\ufffd")
_ROLES = {"system", "user", "assistant"}
#: Source keys of the metadata fields (category, licence, ...): a list or object there is a formatting problem (the
#: loader turns it into its ``str()`` so the other checks still see text).
_META_KEYS = tuple((name, DEFAULT_ALIASES[name]) for name in META_FIELDS)


def tokens(text: str) -> int:
    """Whitespace tokens: a model-free length measure that is the same on every machine."""
    return len(text.split())


def _role_problem(messages: Any) -> str | None:
    """The first problem of a chat's ``messages`` (turn shape, roles, order, an empty user or assistant turn), or
    ``None`` when it is valid."""
    if not isinstance(messages, list) or not messages:
        return "messages is not a non-empty list"
    roles = []
    for turn in messages:
        if not isinstance(turn, dict):
            return f"a chat turn is {type(turn).__name__}, expected an object"
        if not isinstance(turn.get("content"), str):
            return "a chat turn has no string content"
        roles.append(turn.get("role"))
    # a role of any JSON type may arrive (a list, an object: unhashable); only strings can be a known role
    mistyped = [r for r in roles if r is not None and not isinstance(r, str)]
    if mistyped:
        return f"chat role is {type(mistyped[0]).__name__}, expected text"
    bad = [r for r in roles if r not in _ROLES]
    if bad:
        return f"unknown chat role {bad[0]!r}"
    body = roles[1:] if roles[0] == "system" else roles
    if "system" in body:
        return "system turn after the first position"
    if not body or body[0] != "user":
        return "chat does not start with a user turn"
    for a, b in zip(body, body[1:]):
        if a == b:
            return f"two {a} turns in a row"
    if body[-1] != "assistant":
        return "chat does not end with an assistant turn"
    for turn in messages:  # an empty system prompt is harmless; an empty user or assistant turn teaches nothing
        if turn["role"] != "system" and not turn["content"].strip():
            return f"empty {turn['role']} turn"
    return None


@register
class FormattingCheck(BatchCheck):
    """Flags rows with a formatting problem; the metric is the share of flagged rows (``flagged_rate``).

    ``required``: record fields that must hold non-empty text (chat rows need valid ``messages`` instead: a known
    role per turn, an optional leading system turn, then alternating user and assistant turns ending with the
    assistant, none of them empty).
    ``max_tokens``: flag longer rows; ``outlier_z``: flag rows whose log token count is this many robust standard
    deviations (MAD, at least ``min_spread``) from the median. ``json_output``: every output must parse as JSON;
    ``json_categories``: only outputs of these categories must.
    """

    name = "formatting"
    metric = "flagged_rate"
    tables = ("lengths", "problems")

    def __init__(
        self,
        required: list[str] | None = None,
        max_tokens: int | None = None,
        outlier_z: float = 5.0,
        json_output: bool = False,
        json_categories: list[str] | None = None,
        min_spread: float = 0.5,
        warn: float | None = 0.0,
        fail: float | None = 0.05,
    ) -> None:
        super().__init__(warn, fail)
        self.required = list(required) if required is not None else ["instruction", "output"]
        self.max_tokens = max_tokens
        self.outlier_z = outlier_z
        self.json_output = json_output
        self.json_categories = set(json_categories or [])
        self.min_spread = min_spread
        self.require(outlier_z > 0 and min_spread > 0, "outlier_z and min_spread must be positive")
        self.require(max_tokens is None or max_tokens > 0, f"max_tokens must be positive, got {max_tokens}")

    def _row_problems(self, row: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        raw = row["raw"] if isinstance(row["raw"], dict) else {}
        is_chat = row["messages"] is not None or "messages" in raw or "conversations" in raw
        if is_chat:
            messages = row["messages"] if row["messages"] is not None else raw.get("messages", raw.get("conversations"))
            problem = _role_problem(messages)
            if problem:
                problems.append(problem)
        for name in self.required:
            if is_chat and name in ("instruction", "output"):
                continue
            value = row.get(name)
            if value is None:
                problems.append(f"missing {name}")
            elif not isinstance(value, str):
                problems.append(f"{name} is {type(value).__name__}, expected text")
            elif not value.strip():
                problems.append(f"empty {name}")
        for name in ("instruction", "input", "output"):
            value = row.get(name)
            if value is not None and not isinstance(value, str) and name not in self.required:
                problems.append(f"{name} is {type(value).__name__}, expected text")
            if isinstance(value, str):
                if _CONTROL.search(value):
                    problems.append(f"control character in {name}")
                if _MOJIBAKE.search(value):
                    problems.append(f"mojibake in {name}")
        for name, keys in _META_KEYS:  # the key the loader read: the first present
            value = next((raw[k] for k in keys if k in raw), None)
            if isinstance(value, (list, dict)):
                problems.append(f"{name} is {type(value).__name__}, expected text")
        needs_json = self.json_output or (row.get("category") in self.json_categories)
        if needs_json and isinstance(row.get("output"), str):
            try:
                json.loads(row["output"])
            except json.JSONDecodeError as exc:
                problems.append(f"output is not valid JSON ({exc.msg})")
        return problems

    def _suspects(self, records: pd.DataFrame) -> np.ndarray:
        """Rows that may have a problem other than length (a superset, computed column-wise); the others have none."""
        n = len(records)
        suspect = np.zeros(n, dtype=bool)
        raw = records["raw"].tolist()
        suspect |= np.fromiter(
            (isinstance(r, dict) and ("messages" in r or "conversations" in r) for r in raw), dtype=bool, count=n
        )
        suspect |= records["messages"].notna().to_numpy()
        for name in self.required:
            column = records[name].tolist() if name in records.columns else [None] * n
            suspect |= np.fromiter(
                (type(v) is not str or not v or v[0].isspace() or v[-1].isspace() for v in column), dtype=bool, count=n
            )
        for name in ("instruction", "input", "output"):
            column = records[name].tolist()
            suspect |= np.fromiter((v is not None and type(v) is not str for v in column), dtype=bool, count=n)
            suspect |= rows_matching((_CONTROL, _MOJIBAKE), column)
        for name in META_FIELDS:  # a list or object became its str(): "[...]" or "{...}"
            column = records[name].tolist() if name in records.columns else []
            # metadata repeat a few values: test each distinct value once (hashing, not a Python test per row)
            shaped = {v for v in set(column) if type(v) is str and v[:1] in ("[", "{")}
            if shaped:
                suspect |= np.fromiter((v in shaped for v in column), dtype=bool, count=n)
        if self.json_output:
            suspect |= True
        elif self.json_categories:
            suspect |= records["category"].isin(list(self.json_categories)).to_numpy()
        return suspect

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """Every row's token count, and the problems of the rows that have one other than being a length outlier
        (which needs the whole data's median)."""
        n = len(records)
        # whitespace tokens of the three fields joined by newlines: the sum of each field's (a newline never joins
        # two tokens)
        instruction, input_, output = (
            whitespace_tokens([v if isinstance(v, str) else "" for v in records[name].tolist()])
            for name in ("instruction", "input", "output")
        )
        lengths = (instruction + input_ + output).astype(np.int64)
        too_long = lengths > self.max_tokens if self.max_tokens is not None else np.zeros(n, bool)
        columns = {name: records[name].tolist() for name in records.columns}
        numbers = row_numbers(records)
        found: dict[str, list[Any]] = {"row": [], "problems": []}
        for i in np.flatnonzero(self._suspects(records) | too_long).tolist():
            problems = self._row_problems({name: values[i] for name, values in columns.items()})
            if too_long[i]:
                problems.append(f"{lengths[i]} tokens > max_tokens {self.max_tokens}")
            if problems:
                found["row"].append(int(numbers[i]))
                found["problems"].append(problems)
        lines = records["line"].to_numpy(dtype=np.int64)
        return {
            "lengths": pa.table({"row": numbers, "line": lines, "tokens": lengths, "logs": np.log1p(lengths)}),
            "problems": pa.table(found, schema=_PROBLEMS),
        }

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        lengths = self.table("lengths")
        # the robust centre and spread of log token counts, in the store (exactly NumPy's medians)
        median = store.median(lengths, "logs") if n else 0.0
        # Robust spread of log lengths, floored so uniform (templated) data does not make every row an outlier.
        mad = max(store.median(lengths, "abs(logs - ?)", [median]) * 1.4826, self.min_spread) if n else self.min_spread
        far = store.query(
            f'SELECT row, tokens, (logs - ?) / ? AS z FROM "{lengths}" '
            f"WHERE tokens > 0 AND abs((logs - ?) / ?) > ? ORDER BY row",
            [median, mad, median, mad, self.outlier_z],
        )
        found = store.query(f'SELECT row, problems FROM "{self.table("problems")}" ORDER BY row')
        reasons: dict[int, list[str]] = {int(r): list(p) for r, p in zip(found["row"].tolist(), found["problems"])}
        for row, tokens, z in zip(far["row"].tolist(), far["tokens"].tolist(), far["z"].tolist()):
            reasons.setdefault(row, []).append(f"length outlier ({tokens} tokens, robust z {z:+.1f})")
        reasons = dict(sorted(reasons.items()))
        counts: dict[str, int] = {}
        for problems in reasons.values():
            for p in problems:
                kind = re.sub(
                    r" \(.*|\d+ tokens > max_tokens \d+", lambda m: "too long" if "max" in m.group() else "", p
                )
                kind = re.sub(r" '.*'", "", kind).strip()
                counts[kind] = counts.get(kind, 0) + 1
        flags, scores = np.zeros(n, bool), np.zeros(n)
        flagged_rows = np.fromiter(reasons, dtype=np.int64, count=len(reasons))
        flags[flagged_rows] = True
        scores[flagged_rows] = [1.0 - math.exp(-len(p)) for p in reasons.values()]
        flagged = int(flags.sum())
        skipped_rows = rows.skipped
        skipped = len(skipped_rows)
        if skipped:
            counts["unreadable row (skipped)"] = skipped
        # Rows the loader could not read count as flagged: a file with broken lines is not well formatted.
        summary = {
            "rows": n,
            "flagged": flagged,
            "flagged_rate": (flagged + skipped) / (n + skipped) if n else 0.0,
            "problems": dict(sorted(counts.items())),
            "median_tokens": store.median(lengths, "tokens") if n else 0.0,
            "skipped_rows": skipped,
        }
        examples: list[dict[str, Any]] = [
            {"line": s.split(": ", 1)[0], "reason": s.split(": ", 1)[-1]} for s in skipped_rows[:2]
        ]
        shown = rows.take(flagged_rows[: self.max_examples])
        examples += [
            {"line": int(line), "row": int(i), "reason": "; ".join(reasons[int(i)]), "instruction": snippet(text)}
            for i, line, text in zip(shown.index, shown["line"], shown["instruction"])
        ]
        top = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        detail = f"{flagged + skipped} of {n + skipped} rows" + (f" ({top})" if top else "")
        details = {i: {"reason": "; ".join(problems)} for i, problems in reasons.items()}
        return self.result(flags, scores, summary, examples, detail, details=details)


_PROBLEMS = pa.schema([("row", pa.int64()), ("problems", pa.list_(pa.string()))])
