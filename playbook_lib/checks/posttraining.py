"""Post-training data: validators for SFT pairs and preference pairs, as registered checks.

Taught in the book's *Post-training* page (``notebooks/dm_05_post_training.ipynb``). Same base class, registry,
result shape and checklist YAML as the dataset checks; the records come from :func:`playbook_lib.data.load_records`
(instruction / output rows, chat ``messages`` rows, or preference ``prompt`` / ``chosen`` / ``rejected`` rows).

- :class:`SftPairsCheck` (``sft_pairs``): an SFT example must teach an answer: a valid chat (roles system? then
  user/assistant alternating, ending with the assistant), a non-empty prompt and response, and a response that does
  not just repeat the prompt.
- :class:`PreferencePairsCheck` (``preference_pairs``): a preference pair must hold a real choice: a prompt, two
  non-empty answers that differ, the same conversation before the answer in both, and no answer that repeats the
  prompt.
- :class:`LengthBiasCheck` (``length_bias``): when the chosen answer is almost always the longer one, a reward model
  learns "longer is better" instead of "better"; the metric is the share of pairs whose chosen answer is longer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import CheckContext, CheckResult
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.formatting import _role_problem, tokens
from playbook_lib.checks.registry import register
from playbook_lib.text.normal import normalise, snippet


def _raw(row: dict[str, Any]) -> dict[str, Any]:
    """The record's original JSON object (``{}`` when it was not an object)."""
    raw = row.get("raw")
    return raw if isinstance(raw, dict) else {}


def _text(value: Any) -> str | None:
    """The text of an answer: a string, or the last turn's content of a chat list; None when absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict) and isinstance(value[-1].get("content"), str):
        return value[-1]["content"]
    return None


def _mistyped(label: str, value: Any, text: str | None) -> str | None:
    """``"<label> is <type>, expected text"`` when a value is present but holds no text (a number, an object, a list
    that is not a chat ending in a text turn), so a hostile row says what is wrong instead of looking empty."""
    if value is None or isinstance(value, str) or text is not None:
        return None
    return f"{label} is {type(value).__name__}, expected text" + (
        " or a chat" if label in ("chosen", "rejected") else ""
    )


def _context(value: Any) -> list[tuple[Any, Any]] | None:
    """The turns before the answer when an answer is a chat list (HH-RLHF style), else None."""
    if isinstance(value, list) and value and all(isinstance(t, dict) for t in value):
        return [(t.get("role"), normalise(str(t.get("content", "")))) for t in value[:-1]]
    return None


def repeats_prompt(prompt: str | None, response: str | None, min_new_tokens: int = 3) -> bool:
    """Whether ``response`` only repeats ``prompt``: equal after normalisation, or the prompt followed by fewer than
    ``min_new_tokens`` new whitespace tokens. A value that is not text (a hostile row's list or number) repeats
    nothing."""
    if not isinstance(prompt, str) or not isinstance(response, str) or not prompt or not response:
        return False
    head_p, head_r = prompt.lstrip()[:1].casefold()[:1], response.lstrip()[:1].casefold()[:1]
    if head_p != head_r:  # the normal forms' first characters: a repeat starts with the prompt's (most rows stop here)
        return False
    p, r = normalise(prompt), normalise(response)
    if not p:
        return False
    return r == p or (r.startswith(p) and tokens(r[len(p) :]) < min_new_tokens)


class _RowProblemsCheck(BatchCheck):
    """A check that lists each row's problems (:meth:`row_problems`); the metric is the share of rows with any.

    In batches (:mod:`playbook_lib.checks.batch`): each batch stores the problems of its rows that have any; the
    global step counts them and reads back the first flagged rows for the examples.
    """

    metric = "flagged_rate"
    tables = ("problems",)
    #: The record columns :meth:`row_problems` reads (None: all of them); a batch's rows are built from these only.
    columns: tuple[str, ...] | None = None

    def __init__(self, min_new_tokens: int = 3, warn: float | None = 0.0, fail: float | None = 0.05) -> None:
        super().__init__(warn, fail)
        self.require(min_new_tokens >= 1, f"min_new_tokens must be >= 1, got {min_new_tokens}")
        self.min_new_tokens = min_new_tokens

    def row_problems(self, row: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """The problems of the batch's rows that have any."""
        found: dict[str, list[Any]] = {"row": [], "problems": []}
        if self.columns is not None:
            records = records[[c for c in self.columns if c in records.columns]]
        for number, row in zip(row_numbers(records).tolist(), records.to_dict("records")):
            problems = self.row_problems(row)
            if problems:
                found["row"].append(number)
                found["problems"].append(problems)
        return {"problems": pa.table(found, schema=_ROW_PROBLEMS)}

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        found = store.query(f'SELECT row, problems FROM "{self.table("problems")}" ORDER BY row')
        reasons: dict[int, list[str]] = {int(r): list(p) for r, p in zip(found["row"].tolist(), found["problems"])}
        flags, scores = np.zeros(n, bool), np.zeros(n)
        flagged_rows = np.fromiter(reasons, dtype=np.int64, count=len(reasons))
        flags[flagged_rows] = True
        scores[flagged_rows] = [1.0 - math.exp(-len(r)) for r in reasons.values()]
        counts: dict[str, int] = {}
        for rs in reasons.values():
            for r in rs:
                counts[r] = counts.get(r, 0) + 1
        flagged = int(flags.sum())
        summary = {
            "rows": n,
            "flagged": flagged,
            "flagged_rate": flagged / n if n else 0.0,
            "problems": dict(sorted(counts.items())),
        }
        shown = rows.take(flagged_rows[: self.max_examples])
        examples = [
            {"line": int(line), "reason": "; ".join(reasons[int(i)]), "instruction": snippet(text)}
            for i, line, text in zip(shown.index, shown["line"], shown["instruction"])
        ]
        top = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        details = {i: {"reason": "; ".join(r)} for i, r in reasons.items()}
        return self.result(
            flags, scores, summary, examples, f"{flagged} of {n} rows" + (f" ({top})" if top else ""), details=details
        )


_ROW_PROBLEMS = pa.schema([("row", pa.int64()), ("problems", pa.list_(pa.string()))])


@register
class SftPairsCheck(_RowProblemsCheck):
    """Flags SFT rows that teach nothing or teach the wrong format; the metric is the share flagged.

    Problems: invalid chat (role order, unknown role, not ending with the assistant), empty prompt, empty response,
    response repeating the prompt (fewer than ``min_new_tokens`` new tokens).
    """

    name = "sft_pairs"
    shapes = ("sft", "chat", "sharegpt")
    columns = ("raw", "messages", "instruction", "output")

    def row_problems(self, row: dict[str, Any]) -> list[str]:
        """The problems of one record (a dict in the record model)."""
        problems: list[str] = []
        raw = _raw(row)
        messages = row.get("messages")
        if messages is None and ("messages" in raw or "conversations" in raw):
            messages = raw.get("messages", raw.get("conversations"))
        if messages is not None:
            problem = _role_problem(messages)
            if problem:
                problems.append(f"chat: {problem}")
        prompt, response = row.get("instruction"), row.get("output")
        if not isinstance(prompt, str) or not prompt.strip():
            problems.append(_mistyped("prompt", prompt, None) or "empty prompt")
        if not isinstance(response, str) or not response.strip():
            problems.append(_mistyped("response", response, None) or "empty response")
        elif repeats_prompt(prompt, response, self.min_new_tokens):
            problems.append("response repeats the prompt")
        return problems


@register
class PreferencePairsCheck(_RowProblemsCheck):
    """Flags preference pairs that hold no usable choice; the metric is the share flagged.

    Problems: missing prompt, empty chosen, empty rejected, chosen identical to rejected (after normalisation),
    different conversations before the answer in chosen and rejected, or a conversation that does not match the
    prompt (prompt mismatch), an answer repeating the prompt. Rows without ``chosen`` and ``rejected`` are flagged as
    not preference pairs.
    """

    name = "preference_pairs"
    shapes = ("preference",)

    def row_problems(self, row: dict[str, Any]) -> list[str]:
        """The problems of one record (a dict in the record model)."""
        raw = _raw(row)
        if "chosen" not in raw and "rejected" not in raw:
            return ["not a preference pair (no chosen/rejected)"]
        problems: list[str] = []
        given_prompt = raw.get("prompt", row.get("instruction"))
        prompt = given_prompt if isinstance(given_prompt, str) else None
        chosen, rejected = raw.get("chosen"), raw.get("rejected")
        c_text, r_text = _text(chosen), _text(rejected)
        c_ctx, r_ctx = _context(chosen), _context(rejected)
        if not prompt or not prompt.strip():
            if not (c_ctx and any(role == "user" for role, _ in c_ctx)):
                problems.append(_mistyped("prompt", given_prompt, None) or "missing prompt")
        if not c_text or not c_text.strip():
            problems.append(_mistyped("chosen", chosen, c_text) or "empty chosen")
        if not r_text or not r_text.strip():
            problems.append(_mistyped("rejected", rejected, r_text) or "empty rejected")
        if c_text and r_text and c_text.strip() and normalise(c_text) == normalise(r_text):
            problems.append("chosen identical to rejected")
        if c_ctx is not None or r_ctx is not None:
            if c_ctx != r_ctx:
                problems.append("prompt mismatch: chosen and rejected continue different conversations")
            elif prompt and c_ctx and normalise(prompt) not in {text for role, text in c_ctx if role == "user"}:
                problems.append("prompt mismatch: the conversation does not contain the prompt")
        for label, text in (("chosen", c_text), ("rejected", r_text)):
            if repeats_prompt(prompt, text, self.min_new_tokens):
                problems.append(f"{label} repeats the prompt")
        return problems


@register
class LengthBiasCheck(BatchCheck):
    """Whether "chosen" mostly means "longer". The metric ``longer_chosen_rate`` is the share of pairs (with two
    non-empty answers) whose chosen answer has more whitespace tokens than the rejected one, a pair of equal length
    counting one half; about 0.5 means length does not predict the label. Rows whose chosen answer is more than
    ``ratio`` times longer are flagged. Fewer than ``min_pairs`` pairs with two answers: not evaluated.

    In batches (:mod:`playbook_lib.checks.batch`): each batch stores the token counts and log length ratio (computed
    in NumPy) of its pairs with two answers, and its much-longer rows; the global step counts them and takes the
    median in the store."""

    name = "length_bias"
    tables = ("pairs", "much_longer")
    metric = "longer_chosen_rate"
    shapes = ("preference",)

    def __init__(
        self, ratio: float = 2.0, min_pairs: int = 10, warn: float | None = 0.65, fail: float | None = 0.8
    ) -> None:
        super().__init__(warn, fail)
        self.require(ratio > 1, f"ratio must be > 1, got {ratio}")
        self.require(min_pairs >= 1, f"min_pairs must be >= 1, got {min_pairs}")
        self.ratio = ratio
        self.min_pairs = min_pairs

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """Per pair with two non-empty answers: both token counts and the log length ratio; the flagged rows."""
        n = len(records)
        c_len = np.zeros(n)
        r_len = np.zeros(n)
        for i, row in enumerate(records.to_dict("records")):
            raw = _raw(row)
            c, r = _text(raw.get("chosen")), _text(raw.get("rejected"))
            c_len[i] = tokens(c) if c else 0
            r_len[i] = tokens(r) if r else 0
        comparable = (c_len > 0) & (r_len > 0)
        log_ratio = np.log(np.where(comparable, c_len, 1) / np.where(comparable, r_len, 1))
        flags = comparable & (log_ratio > math.log(self.ratio))
        scores = np.clip(log_ratio / math.log(self.ratio) / 2, 0, 1) * flags
        numbers, lines = row_numbers(records), records["line"].to_numpy(dtype=np.int64)
        return {
            "pairs": pa.table(
                {
                    "row": numbers[comparable],
                    "chosen": c_len[comparable].astype(np.int64),
                    "rejected": r_len[comparable].astype(np.int64),
                    "log_ratio": log_ratio[comparable],
                },
                schema=_PAIRS,
            ),
            "much_longer": pa.table(
                {
                    "row": numbers[flags],
                    "line": lines[flags],
                    "score": scores[flags],
                    "chosen": c_len[flags].astype(np.int64),
                    "rejected": r_len[flags].astype(np.int64),
                },
                schema=_MUCH_LONGER,
            ),
        }

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        pairs = self.table("pairs")
        counts = store.query(
            "SELECT count(*) AS m, count(*) FILTER (WHERE chosen > rejected) AS longer, "
            "count(*) FILTER (WHERE chosen = rejected) AS ties, coalesce(sum(chosen), 0)::BIGINT AS c, "
            f'coalesce(sum(rejected), 0)::BIGINT AS r FROM "{pairs}"'
        )
        m, longer, ties = (int(counts[k][0]) for k in ("m", "longer", "ties"))
        if m < self.min_pairs:
            return self.not_evaluated(n, f"only {m} pairs with two non-empty answers (< min_pairs {self.min_pairs})")
        rate = (longer + 0.5 * ties) / m
        found = store.query(
            f'SELECT row, line, score, chosen, rejected FROM "{self.table("much_longer")}" ORDER BY row'
        )
        flags, scores = np.zeros(n, bool), np.zeros(n)
        flags[found["row"]], scores[found["row"]] = True, found["score"]
        summary = {
            "longer_chosen_rate": rate,
            "pairs": m,
            "chosen_longer": longer,
            "equal_length": ties,
            "median_log_length_ratio": store.median(pairs, "log_ratio"),
            "chosen_mean_tokens": float(np.float64(int(counts["c"][0])) / m),
            "rejected_mean_tokens": float(np.float64(int(counts["r"][0])) / m),
            "much_longer": int(flags.sum()),
        }
        examples = [
            {"line": int(line), "reason": f"chosen {int(c)} tokens vs rejected {int(r)}"}
            for line, c, r in list(zip(found["line"], found["chosen"], found["rejected"]))[: self.max_examples]
        ]
        detail = (
            f"chosen is longer in {longer} and as long in {ties} of {m} pairs (mean {summary['chosen_mean_tokens']:.0f}"
            f" vs {summary['rejected_mean_tokens']:.0f} tokens)"
        )
        return self.result(flags, scores, summary, examples, detail)


_PAIRS = pa.schema([("row", pa.int64()), ("chosen", pa.int64()), ("rejected", pa.int64()), ("log_ratio", pa.float64())])
_MUCH_LONGER = pa.schema(
    [
        ("row", pa.int64()),
        ("line", pa.int64()),
        ("score", pa.float64()),
        ("chosen", pa.int64()),
        ("rejected", pa.int64()),
    ]
)
