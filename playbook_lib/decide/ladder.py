"""The escalation ladder: which rung to try next, decided from eval failure categories.

Taught in the book's *Prompt vs RAG vs fine-tune* page (``notebooks/dm_08_prompt_rag_finetune.ipynb``).

Rungs, cheapest first: prompting -> RAG -> advanced RAG (hybrid search, reranking) -> custom evals ->
fine-tune / distill. The rule is "RAG fixes knowledge, fine-tuning fixes behaviour, evals decide":

- no eval harness (or no results): build evals first; nothing else is decidable without them;
- failures within tolerance: stay on the current rung;
- knowledge missing dominates: add RAG; already on RAG: advanced RAG; already on advanced RAG: fix the corpus or
  retrieval (fine-tuning does not add knowledge);
- behaviour/format dominates: prompt constraints and output validators first (on the current rung: a RAG
  pipeline stays in place); then a PEFT fine-tune once enough
  curated examples exist, else collect examples;
- reasoning dominates: a reasoning model or task decomposition (neither RAG nor fine-tuning adds reasoning);
- cost/latency dominates: route cheap-then-strong first, then distill.

``AgentBudget`` is the workflow-vs-agent guard: it stops an agent loop past a step or cost budget.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum, IntEnum
from pathlib import Path
from typing import Any

from playbook_lib.io.outputs import append_text


class Rung(IntEnum):
    """Rungs of the ladder, in escalation order."""

    PROMPTING = 0
    RAG = 1
    ADVANCED_RAG = 2
    CUSTOM_EVALS = 3
    FINE_TUNE = 4

    @property
    def label(self) -> str:
        """Lower-case name used in records, e.g. ``advanced_rag``."""
        return self.name.lower()


class Action(str, Enum):
    """What :func:`recommend` says to do next. A ``str`` enum: each member equals its value (``Action.ADD_RAG ==
    "add_rag"``) and prints, formats and serialises to JSON as it, so logs and messages read as plain strings."""

    BUILD_EVALS = "build_evals"
    STAY = "stay"
    ADD_RAG = "add_rag"
    ADVANCED_RAG = "advanced_rag"
    FIX_CORPUS_OR_RETRIEVAL = "fix_corpus_or_retrieval"
    PROMPT_CONSTRAINTS = "prompt_constraints"
    PEFT_FINE_TUNE = "peft_fine_tune"
    COLLECT_EXAMPLES = "collect_examples"
    REASONING_MODEL = "reasoning_model"
    ROUTE_CHEAP_STRONG = "route_cheap_strong"
    DISTILL = "distill"

    def __str__(self) -> str:
        return self.value


#: Failure categories of an eval result; ``none`` counts the cases that passed.
CATEGORIES = ("knowledge_missing", "behavior_format", "reasoning", "cost_latency", "none")
#: Tie-break among equally common failure categories: the cheapest, best-understood fix first.
PRIORITY = ("knowledge_missing", "behavior_format", "reasoning", "cost_latency")
#: Curated examples needed before a PEFT fine-tune is worth it ("a few hundred").
MIN_FINETUNE_EXAMPLES = 300
#: Failure share at or below which the current rung is good enough.
DEFAULT_TOLERANCE = 0.05


def _rung(value: Rung | int | str) -> Rung:
    if isinstance(value, str):
        try:
            return Rung[value.upper()]
        except KeyError:
            raise ValueError(f"unknown rung {value!r}; valid: {[r.label for r in Rung]}") from None
    return Rung(value)


@dataclass(frozen=True)
class LadderState:
    """Where the project stands.

    Attributes:
        rung: the current rung.
        has_evals: an eval harness with failure categories exists.
        has_rag: a retrieval pipeline is in place.
        n_curated_examples: curated input/output examples of the desired behaviour.
        tried_prompt_constraints: prompt constraints / output validators were already tried.
        has_routing: a cheap-then-strong routing plan is already in place.
    """

    rung: Rung = Rung.PROMPTING
    has_evals: bool = False
    has_rag: bool = False
    n_curated_examples: int = 0
    tried_prompt_constraints: bool = False
    has_routing: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "rung", _rung(self.rung))
        if self.n_curated_examples < 0:
            raise ValueError(f"n_curated_examples must be >= 0, got {self.n_curated_examples}")
        if self.rung in (Rung.RAG, Rung.ADVANCED_RAG) and not self.has_rag:
            raise ValueError(f"rung {self.rung.label} implies a RAG pipeline, but has_rag is false")


@dataclass(frozen=True)
class Decision:
    """A recommendation with its reasons and the evidence it was based on; record it with ``to_json``.

    Attributes:
        action: what to do (an :class:`Action`), e.g. ``add_rag``, ``peft_fine_tune``, ``collect_examples``, ``stay``.
        rung: the rung the project should be on after the action.
        reasons: sentences a reviewer can check against ``evidence``.
        evidence: the counts, shares and state used.
    """

    action: Action
    rung: Rung
    reasons: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``action`` as its string, ``rung`` as its lower-case label."""
        d = asdict(self)
        d["action"] = self.action.value
        d["rung"] = self.rung.label
        return d

    def to_json(self) -> str:
        """One JSON line (no newline), keys sorted."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def append_to(self, path: str | Path) -> None:
        """Append this decision as one line to a JSONL decision log.

        A failed write (full disk, file-size limit) leaves the log as it was, never half a line; see
        :func:`playbook_lib.io.outputs.append_text`, which raises :class:`~playbook_lib.errors.UsageError`.
        """
        append_text(path, self.to_json() + "\n", what="the decision log")


def _counts(failures: Mapping[str, int]) -> dict[str, int]:
    unknown = sorted(set(failures) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown failure categories {unknown}; valid: {list(CATEGORIES)}")
    out = {c: int(failures.get(c, 0)) for c in CATEGORIES}
    neg = [c for c, v in out.items() if v < 0]
    if neg:
        raise ValueError(f"counts must be >= 0: {neg}")
    return out


def recommend(
    failures: Mapping[str, int],
    state: LadderState,
    tolerance: float = DEFAULT_TOLERANCE,
    min_finetune_examples: int = MIN_FINETUNE_EXAMPLES,
) -> Decision:
    """The next rung for these eval results.

    Args:
        failures: counts per category in ``CATEGORIES`` (``none`` = passed); absent categories count 0.
        state: the current rung and what exists.
        tolerance: failure share at or below which no escalation is needed.
        min_finetune_examples: curated examples required before recommending a PEFT fine-tune.
    """
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be in [0, 1), got {tolerance!r}")
    counts = _counts(failures)
    total = sum(counts.values())
    n_fail = total - counts["none"]
    evidence: dict[str, Any] = {
        "counts": counts,
        "total": total,
        "failure_share": n_fail / total if total else None,
        "state": {**asdict(state), "rung": state.rung.label},
        "tolerance": tolerance,
    }

    def decide(action: Action, rung: Rung, *reasons: str) -> Decision:
        return Decision(action=action, rung=rung, reasons=list(reasons), evidence=evidence)

    if not state.has_evals or total == 0:
        why = "no eval harness" if not state.has_evals else "the eval harness returned no results"
        return decide(
            Action.BUILD_EVALS,
            Rung.CUSTOM_EVALS,
            f"{why}: evals decide, so build a categorised eval set before changing prompts, retrieval or weights",
        )
    share = n_fail / total
    if share <= tolerance:
        return decide(
            Action.STAY,
            state.rung,
            f"failure share {share:.1%} is within the tolerance {tolerance:.1%}: no escalation needed",
        )
    dominant = max(PRIORITY, key=lambda c: (counts[c], -PRIORITY.index(c)))
    dshare = counts[dominant] / n_fail
    evidence["dominant"] = dominant
    evidence["dominant_share_of_failures"] = dshare
    lead = f"{dominant} is the most common failure ({counts[dominant]} of {n_fail} failures, {dshare:.0%})"

    if dominant == "knowledge_missing":
        if not state.has_rag:
            return decide(Action.ADD_RAG, Rung.RAG, lead, "RAG fixes missing knowledge: retrieve it at query time")
        if state.rung < Rung.ADVANCED_RAG:
            return decide(
                Action.ADVANCED_RAG,
                Rung.ADVANCED_RAG,
                lead,
                "RAG is in place but knowledge is still missing: add hybrid (keyword + dense) search and reranking",
            )
        return decide(
            Action.FIX_CORPUS_OR_RETRIEVAL,
            state.rung,
            lead,
            "advanced RAG is in place: check whether the answer is in the corpus and measure retrieval recall; "
            "fine-tuning does not add knowledge",
        )
    if dominant == "behavior_format":
        if not state.tried_prompt_constraints:
            # Prompt constraints are added on top of whatever is in place: the project stays on its rung
            # (a RAG pipeline is not torn down to fix a format problem).
            return decide(
                Action.PROMPT_CONSTRAINTS,
                state.rung,
                lead,
                "fix behaviour cheaply first: explicit format instructions, examples and an output validator"
                + (f", added to the current {state.rung.label} setup" if state.rung > Rung.PROMPTING else ""),
            )
        if state.n_curated_examples >= min_finetune_examples:
            return decide(
                Action.PEFT_FINE_TUNE,
                Rung.FINE_TUNE,
                lead,
                f"prompt constraints were tried; {state.n_curated_examples} curated examples "
                f"(>= {min_finetune_examples}): fine-tuning fixes behaviour, start with a PEFT (LoRA) fine-tune",
            )
        return decide(
            Action.COLLECT_EXAMPLES,
            state.rung,
            lead,
            f"prompt constraints were tried; only {state.n_curated_examples} curated examples "
            f"(< {min_finetune_examples}): collect examples before fine-tuning",
        )
    if dominant == "reasoning":
        return decide(
            Action.REASONING_MODEL,
            state.rung,
            lead,
            "neither RAG (knowledge) nor fine-tuning (behaviour) adds reasoning: evaluate a reasoning model or "
            "decompose the task into steps",
        )
    if not state.has_routing:
        return decide(
            Action.ROUTE_CHEAP_STRONG,
            state.rung,
            lead,
            "route easy cases to a cheaper, faster model and escalate the rest (see decide.cost.plan_routing)",
        )
    return decide(
        Action.DISTILL,
        Rung.FINE_TUNE,
        lead,
        "routing is in place and cost/latency still dominate: distil the strong model into a small one",
    )


class BudgetExceeded(RuntimeError):
    """An agent loop went past its step or cost budget."""


@dataclass
class AgentBudget:
    """A guard for agent loops: call ``step(cost)`` once per step; it raises ``BudgetExceeded`` past a limit.

    A workflow has a known number of steps; an agent decides its own, so it needs a hard stop.

    Attributes:
        max_steps: most steps allowed.
        max_cost: most total spend allowed (``math.inf``: no cost limit).
        steps: steps taken so far.
        spent: spend so far.
    """

    max_steps: int
    max_cost: float = math.inf
    steps: int = 0
    spent: float = 0.0

    def __post_init__(self) -> None:
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        if math.isnan(self.max_cost) or self.max_cost < 0:
            raise ValueError(f"max_cost must be >= 0, got {self.max_cost}")

    def step(self, cost: float = 0.0) -> None:
        """Record one step and its cost; raise ``BudgetExceeded`` when either budget is now exceeded."""
        if math.isnan(cost) or cost < 0:
            raise ValueError(f"step cost must be >= 0, got {cost}")
        self.steps += 1
        self.spent += cost
        if self.steps > self.max_steps:
            raise BudgetExceeded(
                f"agent stopped: step {self.steps} exceeds max_steps={self.max_steps} (spent {self.spent:g})"
            )
        if self.spent > self.max_cost:
            raise BudgetExceeded(
                f"agent stopped: spent {self.spent:g} exceeds max_cost={self.max_cost:g} after {self.steps} steps"
            )

    @property
    def remaining_steps(self) -> int:
        """Steps still allowed."""
        return max(self.max_steps - self.steps, 0)
