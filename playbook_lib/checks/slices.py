"""Slices derived from the text itself, for coverage by style: how instructions are phrased, what input comes with
them, and how long they are.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Coverage".
Production traffic is often phrased differently from curated training data (keywords and fragments instead of
well-formed requests; chat follow-ups; pasted JSON or code): comparing these slices finds that gap without a model.
Every derivation is a small, deterministic rule on words and punctuation, the same on every machine.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.text.pii import mask_pii, maybe_pii

QUESTION_WORDS = frozenset(
    "what how why when where which who whom whose can could is are am was were do does did should would will shall "
    "may might must have has".split()
)
IMPERATIVE_VERBS = frozenset(
    "write explain describe list give summarize summarise translate classify return create generate provide tell "
    "make find compute calculate rewrite convert extract name identify suggest compare answer help show draft edit "
    "fix correct design plan outline choose rank sort count check define recommend paraphrase simplify format "
    "complete continue imagine pretend act respond reply fill tag label evaluate rate analyze analyse".split()
)
_WORD = re.compile(r"[A-Za-z']+")
_CODE = re.compile(
    r"```|^\s*(def|class|import|from|function|const|let|var|public|#include|SELECT)\b|[;{}]\s*$",
    re.MULTILINE | re.IGNORECASE,
)
KEYWORD_MAX_WORDS = 6
LENGTH_BUCKETS = ((8, "short"), (30, "medium"))


def instruction_style(instruction: Any, messages: Any = None) -> str:
    """``chat`` (several user turns), ``question`` (ends with "?" or starts with a question word), ``imperative``
    (starts with a task verb, optionally after "please"), ``keywords`` (a fragment of at most
    :data:`KEYWORD_MAX_WORDS` words without a verb-like start) or ``other``; ``none`` without an instruction."""
    if isinstance(messages, list) and sum(isinstance(t, dict) and t.get("role") == "user" for t in messages) > 1:
        return "chat"
    if not isinstance(instruction, str) or not instruction.strip():
        return "none"
    text = instruction.strip()
    words = [m.group().lower() for m in itertools.islice(_WORD.finditer(text), 2)]  # only the first two matter
    if words[:1] == ["please"]:
        words = words[1:]
    if text.rstrip("\"')").endswith("?") or words[:1] and words[0] in QUESTION_WORDS:
        return "question"
    if words[:1] and words[0] in IMPERATIVE_VERBS:
        return "imperative"
    if len(text.split(maxsplit=KEYWORD_MAX_WORDS)) <= KEYWORD_MAX_WORDS and not text.endswith((".", "!")):
        return "keywords"
    return "other"


def input_style(value: Any) -> str:
    """``none`` (no input), ``json`` (parses as a JSON object or array), ``code`` (code fences or code-like lines)
    or ``text``."""
    if not isinstance(value, str) or not value.strip():
        return "none"
    stripped = value.strip()
    if stripped[:1] in "[{":
        try:
            json.loads(stripped)
            return "json"
        except ValueError:
            pass
    return "code" if _CODE.search(value) else "text"


def length_bucket(text: Any) -> str:
    """``short`` (at most 8 words), ``medium`` (at most 30) or ``long``; ``none`` without text."""
    if not isinstance(text, str) or not text.strip():
        return "none"
    n = len(text.split())
    return next((name for limit, name in LENGTH_BUCKETS if n <= limit), "long")


#: Derived slice fields: name -> function of one record (a row of the record model).
DERIVED: dict[str, Callable[[dict[str, Any]], str]] = {
    "instruction_style": lambda r: instruction_style(r.get("instruction"), r.get("messages")),
    "input_style": lambda r: input_style(r.get("input")),
    "instruction_length": lambda r: length_bucket(r.get("instruction")),
}


def slice_values(records: pd.DataFrame, by: str) -> list[Any]:
    """The slice label of every row: a record column's value (personal data and secrets masked, see
    :func:`masked_labels`), or a :data:`DERIVED` field computed from the row."""
    if by in DERIVED:
        derive = DERIVED[by]
        columns = [c for c in ("instruction", "input", "messages") if c in records.columns]
        return [derive(dict(zip(columns, values))) for values in zip(*(records[c].tolist() for c in columns))]
    return masked_labels(records[by])


def masked_labels(column: pd.Series) -> list[Any]:
    """The values of a metadata column with personal data and secrets masked (``jane@x.org`` -> ``[EMAIL]``), as
    slice names that reports and examples can show: a team's ``category`` column can hold an address or a key.

    Each distinct value is masked once (a column has few), then spread back to the rows by its code; values that
    are not strings (None, or a number from a hand-built frame) stay as they are.
    """
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists, dicts) from a hand-built frame: one at a time
        return [mask_pii(v) if isinstance(v, str) and maybe_pii(v) else v for v in column.tolist()]
    distinct = uniques.tolist()
    labels = [mask_pii(u) if isinstance(u, str) and maybe_pii(u) else u for u in distinct]
    if all(a is b for a, b in zip(labels, distinct)):  # nothing to mask: the column as it is
        return column.tolist()
    table = np.empty(len(labels) + 1, dtype=object)
    table[: len(labels)] = labels
    out = table[codes]
    missing = codes < 0  # code -1: a missing value, kept as it was
    if missing.any():
        out[missing] = column.to_numpy(dtype=object)[missing]
    return out.tolist()
