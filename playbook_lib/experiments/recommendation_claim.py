"""The claims of the default-recommendation page, judged as rules over the paths it computes.

Taught in the book's *Default recommendation* page (``notebooks/dm_10_default_recommendation.ipynb``). The page runs
:func:`playbook_lib.decide.recommend.default_path` on its inputs and on variants with one input changed, and states
what the chapter says must happen. :func:`judge_default_path` turns each statement into a named
:class:`~playbook_lib.experiments.verdict.Check` over those paths and returns the
:func:`~playbook_lib.experiments.verdict.rules` verdict. The checks read the eval results themselves (the final
attempt of each task, its failure category) instead of the path's reasons, so a path that takes RAG for a behaviour
failure, or PEFT below the example threshold, fails a check; a statement no case exercises is *not measured* and
the claim is inconclusive, never held. :func:`judge_tolerance` judges the "within the tolerance, neither RAG nor
fine-tuning, whatever the example count" sentence and :func:`judge_platform` the Bedrock/LangChain configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from playbook_lib.decide.recommend import DatasetFacts, Step
from playbook_lib.decide.select import ModelSpec, Requirements
from playbook_lib.experiments.verdict import Check, RuleVerdict, rule_verdict

#: The four steps of the default path, in the chapter's order.
STEPS = ("start with a strong closed model", "build the data + eval flywheel", "add RAG", "PEFT fine-tune")
CLOSED, FLYWHEEL, RAG, PEFT = STEPS
#: The chapter's numbers, as the page states them (fixed here, not read from :mod:`playbook_lib.decide`, so a change
#: to the decision function's defaults is judged against the sentence instead of moving with it): a 5 % failure
#: tolerance, "a few hundred" curated examples, a gap on three distinct tasks, 30 eval tasks before shares are read.
TOLERANCE, MIN_EXAMPLES, MIN_REPEATS, MIN_EVAL_TASKS = 0.05, 300, 3, 30


@dataclass(frozen=True)
class PathCase:
    """One computed path: its inputs (``evals`` ``None`` for no harness; ``model`` selects its rows) and steps."""

    name: str
    requirements: Requirements
    evals: pd.DataFrame | None
    facts: DatasetFacts
    steps: Sequence[Step]
    model: str | None = None


@dataclass(frozen=True)
class Failures:
    """What the eval results say, read from the final attempt of each task."""

    tasks: int
    counts: Mapping[str, int]

    def share(self, category: str) -> float:
        return self.counts.get(category, 0) / self.tasks if self.tasks else 0.0

    @property
    def top(self) -> str | None:
        """The most common failure category (``None`` without failures)."""
        fails = {c: n for c, n in self.counts.items() if n > 0}
        return max(fails, key=lambda c: fails[c]) if fails else None


def failures(evals: pd.DataFrame | None, model: str | None = None) -> Failures:
    """Task count and failures per category over the final attempt of each task (``model``: that model's rows)."""
    if evals is None or evals.empty:
        return Failures(0, {})
    rows = evals if model is None or "model" not in evals else evals[evals["model"] == model]
    order = [c for c in ("task_id", "attempt", "line") if c in rows]
    last = rows.sort_values(order, kind="stable").groupby("task_id").tail(1)
    failed = last[~last["success"].astype(bool)]
    counts = failed["category"].fillna("uncategorised").value_counts() if len(failed) else pd.Series(dtype=int)
    return Failures(int(len(last)), {str(c): int(n) for c, n in counts.items()})


def _taken(case: PathCase, step: str) -> bool:
    return any(s.name == step and s.taken for s in case.steps)


def _check(name: str, cases: Sequence[PathCase], ok: Callable[[PathCase], bool], what: str) -> Check:
    if not cases:
        return Check(name, None, f"no case {what}")
    bad = [c.name for c in cases if not ok(c)]
    detail = f"{len(cases) - len(bad)} of {len(cases)} cases {what}"
    return Check(name, not bad, detail + (f"; against it: {', '.join(bad)}" if bad else ""))


def judge_default_path(
    cases: Sequence[PathCase],
    catalog: Sequence[ModelSpec],
    tolerance: float = TOLERANCE,
    min_examples: int = MIN_EXAMPLES,
    min_repeats: int = MIN_REPEATS,
    min_eval_tasks: int = MIN_EVAL_TASKS,
) -> RuleVerdict:
    """The page's claim over its paths: the four steps in order; the flywheel always built; with fewer than
    ``min_eval_tasks`` eval tasks neither RAG nor PEFT; RAG exactly when missing knowledge is the top failure above
    ``tolerance``; PEFT exactly when a behaviour gap above ``tolerance`` shows on at least ``min_repeats`` tasks,
    prompt constraints were tried and ``min_examples`` curated examples exist; open weights required -> no closed
    model; a chosen closed model is a closed model of ``catalog``. One :class:`Check` per statement."""
    f = {c.name: failures(c.evals, c.model) for c in cases}
    enough = [c for c in cases if f[c.name].tasks >= min_eval_tasks]

    def knowledge_top(c: PathCase) -> bool:
        fc = f[c.name]
        return fc.share("knowledge_missing") > tolerance and fc.counts["knowledge_missing"] == max(fc.counts.values())

    def peft_due(c: PathCase) -> bool:
        fc = f[c.name]
        gap = fc.share("behavior_format") > tolerance and fc.counts.get("behavior_format", 0) >= min_repeats
        return gap and c.facts.tried_prompt_constraints and c.facts.curated_examples >= min_examples

    closed = {m.name for m in catalog if not m.open_weights}
    chosen = [c for c in cases if _taken(c, CLOSED)]
    checks = [
        _check("four steps, in the chapter's order", cases, lambda c: tuple(s.name for s in c.steps) == STEPS, "do"),
        _check("the eval flywheel is built in every case", cases, lambda c: _taken(c, FLYWHEEL), "build it"),
        _check(
            f"fewer than {min_eval_tasks} eval tasks -> neither RAG nor PEFT",
            [c for c in cases if f[c.name].tasks < min_eval_tasks],
            lambda c: not _taken(c, RAG) and not _taken(c, PEFT),
            f"with < {min_eval_tasks} eval tasks take neither",
        ),
        _check(
            f"RAG only when missing knowledge is the top failure, above {tolerance:.0%}",
            [c for c in cases if _taken(c, RAG)],
            lambda c: f[c.name].tasks >= min_eval_tasks and knowledge_top(c),
            "taking RAG have that failure profile",
        ),
        _check(
            "missing knowledge as the top failure -> RAG",
            [c for c in enough if knowledge_top(c)],
            lambda c: _taken(c, RAG),
            "led by missing knowledge take RAG",
        ),
        _check(
            f"PEFT only with a gap on >= {min_repeats} tasks, prompt constraints tried and >= {min_examples} examples",
            [c for c in cases if _taken(c, PEFT)],
            lambda c: f[c.name].tasks >= min_eval_tasks and peft_due(c),
            "taking PEFT meet all three conditions",
        ),
        _check(
            "a repeatable gap, constraints tried and enough examples -> PEFT",
            [c for c in enough if peft_due(c)],
            lambda c: _taken(c, PEFT),
            "meeting the three conditions take PEFT",
        ),
        _check(
            "open weights required -> no closed model",
            [c for c in cases if c.requirements.require_open_weights],
            lambda c: not _taken(c, CLOSED),
            "requiring open weights skip the closed model",
        ),
        _check(
            "the closed model chosen is a closed model of the catalog",
            chosen,
            lambda c: any(s.name == CLOSED and s.detail in closed for s in c.steps),
            "choosing one name a closed catalog model",
        ),
    ]
    return rule_verdict("the default path's rule on the variants table", checks)


def judge_tolerance(
    cases: Sequence[PathCase], tolerance: float = TOLERANCE, min_eval_tasks: int = MIN_EVAL_TASKS
) -> RuleVerdict:
    """The stronger model's sentence: when every failure category stays within ``tolerance`` (of at least
    ``min_eval_tasks`` tasks), neither RAG nor PEFT is taken, at every curated-example count the cases hold. Not
    measured when no case has its failures within the tolerance, or all cases share one example count."""
    f = {c.name: failures(c.evals, c.model) for c in cases}
    within = [
        c
        for c in cases
        if f[c.name].tasks >= min_eval_tasks
        and all(n / f[c.name].tasks <= tolerance for n in f[c.name].counts.values())
    ]
    shares = "; ".join(
        f"{c.name}: worst {f[c.name].top or 'none'} {f[c.name].share(f[c.name].top or 'none'):.1%}" for c in cases
    )
    counts = sorted({c.facts.curated_examples for c in within})
    return rule_verdict(
        f"failures within {tolerance:.0%} -> neither RAG nor fine-tuning, whatever the example count",
        [
            _check(
                "neither RAG nor PEFT while every failure is within the tolerance",
                within,
                lambda c: not _taken(c, RAG) and not _taken(c, PEFT),
                f"within {tolerance:.0%} take neither ({shares})",
            ),
            Check(
                "tried at more than one curated-example count",
                None if len(counts) < 2 else True,
                f"example counts {counts}",
            ),
        ],
    )


def judge_platform(
    env: Mapping[str, str],
    read_back: Mapping[str, str | None],
    langchain: Mapping[str, str],
    model_id: str,
    region: str,
) -> RuleVerdict:
    """The configuration sentence: moving to Bedrock is environment, not code. The settings the library reads back
    under ``env`` select the Bedrock generator with ``model_id`` and ``region``, and LangChain's keyword arguments
    carry the same two values."""
    return rule_verdict(
        "the closed model's platform is configuration the library reads",
        [
            Check("the generator read back is bedrock", read_back.get("generator") == "bedrock", str(env)),
            Check(
                "model id and region read back unchanged",
                read_back.get("model id") == model_id and read_back.get("region") == region,
                f"{read_back.get('model id')}, {read_back.get('region')}",
            ),
            Check(
                "LangChain gets the same model and region",
                langchain.get("model") == model_id and langchain.get("region_name") == region,
                str(dict(langchain)),
            ),
        ],
    )
