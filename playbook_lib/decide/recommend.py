"""The chapter's default recommendation run as a decision: which steps of the default path to take now, and why.

Taught in the book's *Default recommendation* page (``notebooks/dm_10_default_recommendation.ipynb``). The default
path for most production teams, as the chapter states it:

1. start with a **strong closed model** (AWS Bedrock when the team is AWS-first) to validate value fast;
2. build the **data + eval flywheel** early;
3. add **RAG** only when the problem is knowledge grounding;
4. use **PEFT fine-tuning** when there are repeatable behaviour gaps and at least a few hundred curated examples.

:func:`default_path` turns a requirements profile (:class:`~playbook_lib.decide.select.Requirements`), a model
catalog, eval results (:func:`~playbook_lib.decide.evals.load_eval_results`) and dataset facts into one
:class:`Step` per item, each taken or not with the reason. Thresholds are the escalation ladder's
(:mod:`playbook_lib.decide.ladder`). :class:`PlatformConfig` is the Bedrock/LangChain-friendly configuration: the
environment the library's Bedrock generator reads and the keyword arguments of LangChain's Bedrock chat model.
Nothing here calls a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from playbook_lib.decide.evals import failure_counts, final_attempts
from playbook_lib.decide.ladder import DEFAULT_TOLERANCE, MIN_FINETUNE_EXAMPLES
from playbook_lib.decide.select import ModelSpec, Requirements, select_models
from playbook_lib.errors import UsageError

#: Distinct eval tasks that must show a behaviour/format failure before the gap counts as repeatable.
MIN_REPEATS = 3
#: Eval tasks a flywheel needs before its failure shares are read (fewer: build it out first).
MIN_EVAL_TASKS = 30


@dataclass(frozen=True)
class DatasetFacts:
    """What the team has in hand.

    Attributes:
        curated_examples: curated input/output examples of the desired behaviour.
        tried_prompt_constraints: format instructions, examples and an output validator were already tried.
        aws_first: the team runs on AWS (the closed model then comes through Bedrock).
    """

    curated_examples: int = 0
    tried_prompt_constraints: bool = False
    aws_first: bool = False

    def __post_init__(self) -> None:
        if self.curated_examples < 0:
            raise UsageError(f"curated_examples must be >= 0, got {self.curated_examples}")


@dataclass(frozen=True)
class Step:
    """One step of the default path: ``taken`` now or not, with the reason and the chosen detail (a model name)."""

    name: str
    taken: bool
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class PlatformConfig:
    """The Bedrock/LangChain-friendly configuration of the chosen closed model (read, never called here)."""

    model_id: str
    region: str

    def __post_init__(self) -> None:
        if not self.model_id or not self.region:
            raise UsageError("a Bedrock model id and a region are both needed")

    def env(self) -> dict[str, str]:
        """The environment :class:`~playbook_lib.rag.bedrock.BedrockGenerator` reads (``PLAYBOOK_GENERATOR=bedrock``
        selects it in :func:`~playbook_lib.rag.generate.select_generator`); credentials come from boto3's chain."""
        return {"PLAYBOOK_GENERATOR": "bedrock", "PLAYBOOK_BEDROCK_MODEL_ID": self.model_id, "AWS_REGION": self.region}

    def langchain_kwargs(self) -> dict[str, str]:
        """Keyword arguments of ``langchain_aws.ChatBedrockConverse`` for the same model."""
        return {"model": self.model_id, "region_name": self.region}


def _closed_model_step(catalog: Sequence[ModelSpec], req: Requirements, facts: DatasetFacts) -> Step:
    name = "start with a strong closed model"
    if req.require_open_weights:
        return Step(name, False, "governance requires open weights you host and audit: start with the best open model")
    selection = select_models(list(catalog), req)
    closed = [c for c in selection.ranked if not c.model.open_weights]
    if not closed:
        why = "; ".join(sorted({r for c in selection.excluded if not c.model.open_weights for r in c.excluded_because}))
        return Step(name, False, f"no closed model in the catalog meets the hard constraints ({why or 'none listed'})")
    best = closed[0]
    via = " through AWS Bedrock (the team is AWS-first)" if facts.aws_first else ""
    return Step(
        name, True, f"{best.model.name} ranks first of {len(closed)} eligible closed models{via}", best.model.name
    )


def _shares(evals: pd.DataFrame | None, model: str | None) -> tuple[dict[str, int], int]:
    if evals is None or evals.empty:
        return {}, 0
    counts = failure_counts(evals, model)
    return counts, sum(counts.values())


def default_path(
    requirements: Requirements,
    catalog: Sequence[ModelSpec],
    evals: pd.DataFrame | None,
    facts: DatasetFacts,
    model: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    min_examples: int = MIN_FINETUNE_EXAMPLES,
    min_repeats: int = MIN_REPEATS,
    min_eval_tasks: int = MIN_EVAL_TASKS,
) -> list[Step]:
    """The four steps of the default path (module docstring), each taken or not with its reason.

    ``evals`` are the eval attempts of the system in use (``model`` selects one model's rows; ``None`` for all);
    ``None`` or empty means no harness yet. RAG is taken when knowledge-missing failures are the most common
    failure and above ``tolerance`` of the tasks; PEFT when behaviour/format failures are above ``tolerance``, seen on
    at least ``min_repeats`` distinct tasks, prompt constraints were tried and ``min_examples`` curated examples
    exist.
    """
    if not 0 <= tolerance < 1:
        raise UsageError(f"tolerance must be in [0, 1), got {tolerance!r}")
    steps = [_closed_model_step(catalog, requirements, facts)]
    counts, total = _shares(evals, model)
    if total < min_eval_tasks:
        have = "no eval results" if total == 0 else f"only {total} eval tasks"
        steps.append(Step("build the data + eval flywheel", True, f"{have} (< {min_eval_tasks}): build it first"))
        wait = f"undecidable without at least {min_eval_tasks} categorised eval tasks"
        steps += [Step("add RAG", False, wait), Step("PEFT fine-tune", False, wait)]
        return steps
    fails = total - counts["none"]
    steps.append(
        Step(
            "build the data + eval flywheel",
            True,
            f"{total} eval tasks, {fails} failing: keep adding real failures to the golden set on every change",
        )
    )
    km, bf = counts["knowledge_missing"], counts["behavior_format"]
    worst = max((c for c in counts if c != "none"), key=lambda c: counts[c])
    if km / total > tolerance and counts[worst] == km:
        steps.append(Step("add RAG", True, f"knowledge missing is the top failure ({km} of {total} tasks)"))
    elif km / total > tolerance:
        steps.append(
            Step("add RAG", False, f"knowledge missing ({km}) is not the top failure ({worst}: {counts[worst]})")
        )
    else:
        steps.append(Step("add RAG", False, f"knowledge missing on {km} of {total} tasks, within {tolerance:.0%}"))
    final = final_attempts(evals, model) if evals is not None else pd.DataFrame()
    repeats = int(final.loc[~final["success"] & (final.get("category") == "behavior_format"), "task_id"].nunique())
    if bf / total <= tolerance:
        why, take = f"behaviour/format failures on {bf} of {total} tasks, within {tolerance:.0%}", False
    elif repeats < min_repeats:
        why, take = f"behaviour gap on {repeats} distinct tasks (< {min_repeats}): not yet repeatable", False
    elif not facts.tried_prompt_constraints:
        why, take = "behaviour gap is repeatable; try prompt constraints and an output validator first", False
    elif facts.curated_examples < min_examples:
        why, take = f"{facts.curated_examples} curated examples (< {min_examples}): collect more first", False
    else:
        why, take = (
            f"repeatable behaviour gap ({repeats} tasks) and {facts.curated_examples} curated examples "
            f"(>= {min_examples}): a PEFT (LoRA) fine-tune",
            True,
        )
    steps.append(Step("PEFT fine-tune", take, why))
    return steps


def steps_frame(steps: Sequence[Step]) -> pd.DataFrame:
    """The steps as a table for a page: step, taken, reason, detail."""
    return pd.DataFrame([{"step": s.name, "taken": s.taken, "reason": s.reason, "detail": s.detail} for s in steps])
