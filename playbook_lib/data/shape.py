"""The shape of a dataset: which kind of post-training data its rows hold, detected from their fields.

Taught in the book's *Post-training* page (``notebooks/dm_05_post_training.ipynb``). A checklist runs each item on
the data shapes its check applies to (:attr:`playbook_lib.checks.base.Check.shapes`); on data of another shape the
item is "not evaluated", naming both shapes, instead of failing every row.

=================  ==============================================================================================
shape              a row has
=================  ==============================================================================================
``preference``     ``chosen`` and ``rejected`` (DPO / reward-model pairs, with ``prompt`` or a chat before them)
``sharegpt``       ``conversations`` as a list of ``{"from", "value"}`` turns
``chat``           ``messages`` as a list of ``{"role", "content"}`` turns (OpenAI chat format)
``sft``            an instruction / prompt / question and an output / response / answer (Alpaca style)
``unknown``        none of these
=================  ==============================================================================================

A dataset's shape is the one most of its rows have (ties go to the first in the table), so a stray row of another
shape is reported by the formatting checks rather than changing which checks run.
"""

from __future__ import annotations

from collections import Counter
from enum import Enum
from typing import Any

import pandas as pd


class Shape(str, Enum):
    """The kind of rows a dataset holds (see the module docstring)."""

    PREFERENCE = "preference"
    SHAREGPT = "sharegpt"
    CHAT = "chat"
    SFT = "sft"
    UNKNOWN = "unknown"


def row_shape(raw: Any, instruction: Any = None, output: Any = None) -> Shape:
    """The shape of one row from its source object ``raw`` (and its record-model ``instruction`` / ``output``)."""
    if isinstance(raw, dict):
        if "chosen" in raw or "rejected" in raw:
            return Shape.PREFERENCE
        turns = raw.get("conversations")
        if isinstance(turns, list) and any(isinstance(t, dict) and "from" in t for t in turns):
            return Shape.SHAREGPT
        if isinstance(raw.get("messages"), list) or isinstance(turns, list):
            return Shape.CHAT
    if instruction is not None or output is not None:
        return Shape.SFT
    return Shape.UNKNOWN


def shape_counts(records: pd.DataFrame) -> Counter[Shape]:
    """How many rows of ``records`` have each shape (only the source keys are looked at: one pass, no copies)."""
    n = len(records)
    raw = records["raw"].tolist() if "raw" in records.columns else [None] * n
    instruction = records["instruction"].tolist() if "instruction" in records.columns else [None] * n
    output = records["output"].tolist() if "output" in records.columns else [None] * n
    return Counter(row_shape(r, i, o) for r, i, o in zip(raw, instruction, output))


def majority_shape(counts: Counter[Shape]) -> Shape:
    """The shape most rows have (ties: the first in the module's table); ``unknown`` for no rows. Counts of
    several batches add up (``Counter`` sums), so a streamed dataset gets the shape its whole gets."""
    if not counts:
        return Shape.UNKNOWN
    order = list(Shape)
    return max(counts, key=lambda s: (counts[s], -order.index(s)))


def detect_shape(records: pd.DataFrame) -> Shape:
    """The shape most rows of ``records`` (the record model of :mod:`playbook_lib.data`) have; ``unknown`` for no
    rows. Only the source keys are looked at, so this is one pass without copying text."""
    return majority_shape(shape_counts(records))
