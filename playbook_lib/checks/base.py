"""The shape every dataset check shares: an outcome, a fixed result, a base class and thresholds.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``).

A check is a class with a declared ``name``; its constructor arguments are the keys of its YAML block in a
checklist; :meth:`Check.run` computes a :class:`CheckResult` from the records and a :class:`CheckContext`.
The outcome comes from one summary metric compared with the ``warn`` and ``fail`` thresholds.
"""

from __future__ import annotations

import math
import numbers
import pickle
import zlib
from abc import ABC, abstractmethod
from collections.abc import ItemsView, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Literal, cast

import numpy as np
import pandas as pd

from playbook_lib.checks.advice import advice
from playbook_lib.checks.hashing import find_sorted
from playbook_lib.config.yamlsafe import echo
from playbook_lib.errors import UsageError

Direction = Literal["above", "below"]


class Outcome(str, Enum):
    """The verdict of one check. Ordered by severity for :func:`worst`."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    NOT_EVALUATED = "not_evaluated"

    @property
    def severity(self) -> int:
        return {"pass": 0, "not_evaluated": 1, "warn": 2, "fail": 3}[self.value]


def worst(outcomes: list[Outcome]) -> Outcome:
    """The most severe outcome (``pass`` for an empty list)."""
    return max(outcomes, key=lambda o: o.severity, default=Outcome.PASS)


@dataclass
class CheckContext:
    """What a check may read besides the records: an eval/test set, production traffic, a golden set, a validation
    split, the dataset's declared licence (``playbook check --licence``: one licence for every row without its own),
    and (for model-readiness checks) a parsed model plan (:func:`playbook_lib.decide.plan.load_plan`)."""

    eval: pd.DataFrame | None = None
    traffic: pd.DataFrame | None = None
    golden: pd.DataFrame | None = None
    plan: dict[str, Any] | None = None
    validation: pd.DataFrame | None = None
    licence: str | None = None


@dataclass
class CheckResult:
    """The fixed result shape of every check.

    ``flags[i]`` is true when row ``i`` has the issue and ``scores[i]`` in [0, 1] says how strongly (1 = worst).
    ``summary`` holds counts and the ``metric`` value the thresholds were compared with; ``examples`` are a few
    flagged rows (``{"line", "reason", ...}``) with personal data already masked. ``details`` maps a flagged row's
    0-based index to why it was flagged (``{"reason": ..., ...}``: the PII kinds, the duplicate's cluster and kept
    row, the matching eval row, ...), for every flagged row a check can explain (``playbook check --flags``); rows
    without an entry are explained by the check's name alone.
    """

    check: str
    outcome: Outcome
    message: str
    flags: np.ndarray
    scores: np.ndarray
    summary: dict[str, Any]
    examples: list[dict[str, Any]] = field(default_factory=list)
    details: Mapping[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.flags = np.asarray(self.flags, dtype=bool)
        self.scores = np.clip(np.asarray(self.scores, dtype=float), 0.0, 1.0)
        if self.flags.shape != self.scores.shape:
            raise ValueError(f"{self.check}: flags and scores differ in length")

    def flagged_rows(self) -> np.ndarray:
        """The 0-based rows flagged, ascending (int64)."""
        return np.flatnonzero(self.flags)

    def scores_at(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The scores of ``rows`` (0-based), in their order."""
        return self.scores[np.asarray(rows, dtype=np.int64)]

    def compact(self) -> CheckResult:
        """This result with its per-row arrays kept sparse (:class:`SparseResult`) where that takes less memory:
        what a long run keeps of each item once the item is done."""
        return SparseResult(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view without the per-row arrays (the report adds the lines of flagged rows)."""
        return {
            "check": self.check,
            "outcome": self.outcome.value,
            "message": self.message,
            "summary": _jsonable(self.summary),
            "examples": _jsonable(self.examples),
        }


class PackedDetails(Mapping[int, dict[str, Any]]):
    """A result's :attr:`~CheckResult.details` in less memory: the dicts, in row order, pickled and compressed a
    block of :data:`DETAIL_BLOCK` at a time (a block's pickle holds each key name once), found by row through the
    sorted rows. Reads give dicts equal to those given: a lookup decodes its row's block (the last block decoded is
    kept, so lookups in row order decode each block once) and returns a shallow copy (nested values are shared
    with that block); iterating :meth:`items` decodes each block once, in row order. The blocks hold only what this
    process pickled from the checks' own results. Measured (tracemalloc, 1.15 M details shaped like the
    contamination and near-duplicate checks', the bench's flagged rows at 10 M rows): 519 MB as dicts, 27 MB
    packed; packing them took 1.1 s and reading them all back 0.7 s (Intel Xeon, one thread)."""

    def __init__(self, details: Mapping[int, dict[str, Any]]) -> None:
        rows = np.fromiter(details.keys(), dtype=np.int64, count=len(details))
        values = list(details.values())
        order = np.argsort(rows, kind="stable")
        self._rows, self._size = rows[order], DETAIL_BLOCK
        self._blocks = [
            zlib.compress(pickle.dumps([values[i] for i in at], protocol=pickle.HIGHEST_PROTOCOL), 1)
            for at in (order[lo : lo + self._size].tolist() for lo in range(0, order.size, self._size))
        ]
        self._cached: tuple[int, list[dict[str, Any]]] | None = None

    def _block(self, number: int) -> list[dict[str, Any]]:
        cached = self._cached
        if cached is None or cached[0] != number:
            cached = (number, pickle.loads(zlib.decompress(self._blocks[number])))
            self._cached = cached
        return cached[1]

    def __getitem__(self, row: int) -> dict[str, Any]:
        if not isinstance(row, (int, np.integer)) or isinstance(row, bool):
            raise KeyError(row)
        at = int(np.searchsorted(self._rows, row))
        if at >= self._rows.size or self._rows[at] != row:
            raise KeyError(row)
        return dict(self._block(at // self._size)[at % self._size])

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows.tolist())

    def __len__(self) -> int:
        return int(self._rows.size)

    def items(self) -> ItemsView[int, dict[str, Any]]:
        """Every (row, details) in row order; iterating it decodes each block once."""
        return _PackedItems(self)

    def _decoded(self) -> Iterator[tuple[int, dict[str, Any]]]:
        rows = self._rows.tolist()
        for number, block in enumerate(self._blocks):
            values = pickle.loads(zlib.decompress(block))
            yield from zip(rows[number * self._size : (number + 1) * self._size], values)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the decoded block it keeps."""
        return {**self.__dict__, "_cached": None}


class _PackedItems(ItemsView[int, dict[str, Any]]):
    _mapping: PackedDetails

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return self._mapping._decoded()


#: Details per compressed block of :class:`PackedDetails`.
DETAIL_BLOCK = 4096


class SparseResult(CheckResult):
    """A :class:`CheckResult` that keeps its per-row arrays in less memory: the flagged rows (instead of a flag per
    row) when they are fewer than one in eight, and the rows with a non-zero score with their scores (instead of a
    float per row) when they are fewer than half; else the dense array. ``flags`` and ``scores`` are the same
    arrays as the dense result's, built again on each read (:meth:`flagged_rows` and :meth:`scores_at` read the
    sparse form directly); ``details`` are packed (:class:`PackedDetails`). A batched checklist run keeps each
    item's result this way once the item is done (:func:`~playbook_lib.checklist.stream.run_checklist_batched`): at
    10 M rows the dense pair is 90 MB an item.
    """

    def __init__(self, result: CheckResult) -> None:  # the fields of ``result``; not the dataclass's __init__
        self.check, self.outcome, self.message = result.check, result.outcome, result.message
        self.summary, self.examples = result.summary, result.examples
        given = result.details
        self.details = given if isinstance(given, PackedDetails) else PackedDetails(given)
        flags, scores = np.asarray(result.flags, dtype=bool), np.asarray(result.scores, dtype=float)
        self.rows = int(flags.size)
        flagged = result.flagged_rows()
        self._flagged: np.ndarray | None = flagged if flagged.size * 8 < flags.size else None
        self._flags = None if self._flagged is not None else flags
        scored = np.flatnonzero(scores)
        self._scored: np.ndarray | None = scored if scored.size * 2 < scores.size else None
        self._values = scores[scored] if self._scored is not None else scores

    @property
    def flags(self) -> np.ndarray:
        if self._flags is not None:
            return self._flags
        out = np.zeros(self.rows, dtype=bool)
        out[self._flagged] = True
        return out

    @flags.setter
    def flags(self, value: np.ndarray) -> None:  # kept dense, as given
        self._flags, self._flagged = np.asarray(value, dtype=bool), None

    @property
    def scores(self) -> np.ndarray:
        if self._scored is None:
            return self._values
        out = np.zeros(self.rows)
        out[self._scored] = self._values
        return out

    @scores.setter
    def scores(self, value: np.ndarray) -> None:  # kept dense, as given
        self._values, self._scored = np.clip(np.asarray(value, dtype=float), 0.0, 1.0), None

    def flagged_rows(self) -> np.ndarray:
        if self._flagged is not None:
            return self._flagged.copy()
        return np.flatnonzero(self.flags)

    def scores_at(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        asked = np.asarray(rows, dtype=np.int64)
        if self._scored is None:
            return self._values[asked]
        if ((asked < 0) | (asked >= self.rows)).any():
            raise IndexError(f"{self.check}: rows out of range for {self.rows} rows")
        out = np.zeros(asked.size)
        where, found = find_sorted(self._scored, asked)
        out[found] = self._values[where[found]]
        return out

    def compact(self) -> CheckResult:
        return self


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return round(float(value), 6)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


class Check(ABC):
    """Base class of every check. Subclasses declare ``name``, ``metric``, ``direction`` and implement ``run``.

    ``warn`` and ``fail`` are thresholds on ``summary[metric]``: with ``direction="above"`` a value above ``fail``
    fails and above ``warn`` warns; with ``"below"`` the comparisons flip. ``None`` disables a threshold.
    """

    name: ClassVar[str]
    metric: ClassVar[str]
    direction: ClassVar[Direction] = "above"
    #: What the check reads: ``data`` (records are a dataset, ``--data``), ``plan`` (``--plan``), ``evals`` (records
    #: are eval results, ``--evals``). The CLI asks for exactly the inputs a checklist's checks declare.
    inputs: ClassVar[tuple[str, ...]] = ("data",)
    #: The data shapes the check applies to (:class:`playbook_lib.data.shape.Shape` values: ``sft``, ``chat``,
    #: ``sharegpt``, ``preference``); ``None``: every shape. On data of another shape a checklist reports the item
    #: as not evaluated instead of running it.
    shapes: ClassVar[tuple[str, ...] | None] = None
    max_examples: ClassVar[int] = 5
    #: The values ``summary[metric]`` can take (inclusive): ``warn`` and ``fail`` must lie inside it. Shares and
    #: rates are in [0, 1] (the default); counts and ratios declare ``(0.0, math.inf)``, differences ``(-1.0, 1.0)``.
    metric_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def __init__(self, warn: float | None = None, fail: float | None = None) -> None:
        """Set the thresholds after :meth:`threshold_problems` found none.

        Raises:
            UsageError: naming the check and each wrong threshold; its ``problems`` attribute lists them as
                ``(option, message)`` pairs so the checklist parser can point at each option's line.
        """
        problems = self.threshold_problems(warn, fail)
        if problems:
            err = UsageError(f"{self.name}: " + "; ".join(f"{option} {message}" for option, message in problems))
            err.problems = problems  # type: ignore[attr-defined]
            raise err
        self.warn = warn
        self.fail = fail

    @classmethod
    def threshold_problems(cls, warn: Any, fail: Any) -> list[tuple[str, str]]:
        """What is wrong with ``warn`` and ``fail`` for this check, as ``(option, message)`` pairs (empty: nothing).

        Each must be None or a finite real number (not a bool: YAML's ``true`` is no threshold; not NaN, which
        compares false with every value and so would turn a failing gate into a pass) inside :attr:`metric_range`;
        when both are set they must be ordered by :attr:`direction`: ``warn <= fail`` when higher is worse
        (``"above"``), ``warn >= fail`` when lower is worse (``"below"``), else the warning could never come first.
        """
        lo, hi = cls.metric_range
        span = f"[{lo:g}, {hi:g}]" if math.isfinite(hi) else f"[{lo:g}, inf)"
        problems: list[tuple[str, str]] = []
        given: dict[str, float] = {}
        for option, threshold in (("warn", warn), ("fail", fail)):
            if threshold is None:
                continue
            if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
                problems.append((option, f"must be a number or null, got {echo(threshold)}"))
                continue
            threshold = cast(float, threshold)  # a Real: int, float or a NumPy scalar
            if isinstance(threshold, numbers.Integral) and not lo <= threshold <= hi:
                problems.append((option, f"must be in {span} (the range of {cls.metric}), got {threshold}"))
            elif not isinstance(threshold, numbers.Integral) and not math.isfinite(threshold):
                problems.append((option, f"must be a finite number, got {float(threshold)}"))
            elif not lo <= threshold <= hi:
                problems.append((option, f"must be in {span} (the range of {cls.metric}), got {threshold:g}"))
            else:
                given[option] = threshold
        if len(given) == 2:
            w, f = given["warn"], given["fail"]
            if cls.direction == "above" and w > f:
                problems.append(
                    ("warn", f"{w:g} is above fail {f:g}: higher {cls.metric} is worse, so warn must be <= fail")
                )
            elif cls.direction == "below" and w < f:
                problems.append(
                    ("warn", f"{w:g} is below fail {f:g}: lower {cls.metric} is worse, so warn must be >= fail")
                )
        return problems

    @abstractmethod
    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        """Compute the result for ``records`` (the training set in the record model of :mod:`playbook_lib.data`)."""

    def require(self, condition: bool, message: str) -> None:
        """Raise :class:`~playbook_lib.errors.UsageError` naming this check when an option is out of range."""
        if not condition:
            raise UsageError(f"{self.name}: {message}")

    def grade(self, value: float | None) -> Outcome:
        """Compare a metric value with the thresholds."""
        if value is None:
            return Outcome.NOT_EVALUATED
        worse = (lambda v, t: v > t) if self.direction == "above" else (lambda v, t: v < t)
        if self.fail is not None and worse(value, self.fail):
            return Outcome.FAIL
        if self.warn is not None and worse(value, self.warn):
            return Outcome.WARN
        return Outcome.PASS

    def result(
        self,
        flags: np.ndarray,
        scores: np.ndarray,
        summary: dict[str, Any],
        examples: list[dict[str, Any]],
        detail: str = "",
        outcome: Outcome | None = None,
        details: dict[int, dict[str, Any]] | None = None,
    ) -> CheckResult:
        """Build the result: grade ``summary[self.metric]`` (unless ``outcome`` is given) and word the message, which
        ends with what to do when the outcome is a warning or a failure (:mod:`playbook_lib.checks.advice`);
        ``details`` explains flagged rows one by one (see :class:`CheckResult`)."""
        value = summary.get(self.metric)
        graded = self.grade(value) if outcome is None else outcome
        shown = "n/a" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))
        op = ">" if self.direction == "above" else "<"
        thresholds = f"warn {op} {self.warn}, fail {op} {self.fail}"
        message = f"{self.metric} = {shown} ({thresholds})" + (f"; {detail}" if detail else "")
        fix = advice(self.name)
        if graded in (Outcome.WARN, Outcome.FAIL) and fix and "to fix:" not in message:
            message += f"; to fix: {fix}"
        return CheckResult(
            self.name, graded, message, flags, scores, summary, examples[: self.max_examples], details or {}
        )

    def not_evaluated(self, n: int, reason: str) -> CheckResult:
        """A result saying the check could not run on this data (never a pass)."""
        return CheckResult(
            self.name, Outcome.NOT_EVALUATED, reason, np.zeros(n, bool), np.zeros(n), {self.metric: None}
        )
