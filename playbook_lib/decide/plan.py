"""A model plan file: the decisions a team writes down before launch, validated with file:line errors.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``, section 7),
where ``checklists/model_readiness.yaml`` checks a plan against eval results.

A plan is a YAML mapping; every section is optional at parse time (a missing section is for the checklist to judge,
not a syntax error), but unknown keys and wrong types are errors, all reported at once::

    name: heronsgate-support-assistant
    superpower: accuracy              # accuracy | speed_cost | long_context | multimodal | code | live_search
    model: open-weights-70b           # the model chosen (a name in the eval results)
    cost_model:
      target_cost_per_success: 0.002  # USD per successful task, all attempts included
    routing:
      cheap: open-weights-8b
      strong: open-weights-70b
      escalation_threshold: 0.7       # escalate when the cheap model's confidence is below this
      failures_detectable: true       # a validator catches wrong cheap answers (they escalate too)
    guardrails:
      input: [pii_masking, prompt_injection_filter]
      output: [schema_validation, citation_check]
      audit_log: true
    eval_harness:
      regression_suite: evals/regression.jsonl
      runs_on: every_change           # every_change | nightly | release | manual
      offline_metrics: [success_rate, cost_per_success]
      min_tasks: 30

An example ships as ``playbook_lib/sample_data/model_plan.yaml``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from playbook_lib.config.validate import (
    Errors,
    build,
    checked,
    choice,
    compose_into,
    fields,
    fraction,
    int_min,
    is_bool,
    is_mapping_or_null,
    is_str,
    number,
    spec_of,
    str_list,
)
from playbook_lib.config.yamlsafe import read_config
from playbook_lib.decide.select import SUPERPOWERS

RUNS_ON = ("every_change", "nightly", "release", "manual")

# Numbers are finite (no NaN or infinity), never booleans, and in range: costs and budgets >= 0, the escalation
# threshold a confidence in [0, 1], min_tasks a count >= 1 (and 64-bit, like every integer the loader accepts).
# Every key of a section is optional: None means absent from the file (no key accepts null).


@dataclass(frozen=True)
class CostModel:
    """The plan's cost model: the target cost per *successful* task (USD, all attempts included)."""

    target_cost_per_success: float | None = field(metadata=checked(number), default=None)
    monthly_budget: float | None = field(metadata=checked(number), default=None)
    notes: str | None = field(metadata=checked(is_str), default=None)


@dataclass(frozen=True)
class Routing:
    """Cheap-then-strong routing: escalate when the cheap model's confidence is below ``escalation_threshold``."""

    cheap: str | None = field(metadata=checked(is_str), default=None)
    strong: str | None = field(metadata=checked(is_str), default=None)
    escalation_threshold: float | None = field(metadata=checked(fraction), default=None)
    failures_detectable: bool | None = field(metadata=checked(is_bool), default=None)


@dataclass(frozen=True)
class Guardrails:
    """Input and output guardrails, and whether an audit log records what was asked and said."""

    input: list[str] | None = field(metadata=checked(str_list()), default=None)
    output: list[str] | None = field(metadata=checked(str_list()), default=None)
    audit_log: bool | None = field(metadata=checked(is_bool), default=None)


@dataclass(frozen=True)
class EvalHarness:
    """The regression suite, when it runs, the offline metrics and the fewest tasks an eval needs."""

    regression_suite: str | None = field(metadata=checked(is_str), default=None)
    runs_on: str | None = field(metadata=checked(choice(RUNS_ON)), default=None)
    offline_metrics: list[str] | None = field(metadata=checked(str_list()), default=None)
    min_tasks: int | None = field(metadata=checked(int_min(1)), default=None)


@dataclass(frozen=True)
class ModelPlan:
    """A validated model plan. A section is None when the file has none (an empty section is an instance with every
    key None); ``path`` is the file it was read from ("" for text)."""

    name: str = field(metadata=checked(is_str))
    superpower: str | None = field(metadata=checked(choice(SUPERPOWERS)), default=None)
    model: str | None = field(metadata=checked(is_str), default=None)
    description: str | None = field(metadata=checked(is_str), default=None)
    cost_model: CostModel | None = field(metadata=checked(is_mapping_or_null), default=None)
    routing: Routing | None = field(metadata=checked(is_mapping_or_null), default=None)
    guardrails: Guardrails | None = field(metadata=checked(is_mapping_or_null), default=None)
    eval_harness: EvalHarness | None = field(metadata=checked(is_mapping_or_null), default=None)
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The plain dict the model-readiness checks read (``context.plan``): absent keys and sections are absent,
        an empty section is ``{}``; ``_path`` is added when the plan came from a file."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "path" or v is None:
                continue
            out[f.name] = _present(v) if dataclasses.is_dataclass(v) else v
        if self.path:
            out["_path"] = self.path
        return out


#: Section name -> its dataclass, in the order the plan declares them.
SECTIONS: dict[str, type[Any]] = {
    "cost_model": CostModel,
    "routing": Routing,
    "guardrails": Guardrails,
    "eval_harness": EvalHarness,
}


def _present(section: Any) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(section).items() if v is not None}


def parse_model_plan(text: str, source: str = "<plan>") -> ModelPlan:
    """Parse plan YAML into a :class:`ModelPlan`; every section is optional, unknown keys and wrong types are errors.

    Raises:
        UsageError: every problem at once, each as ``source:line: message`` (the top level first, then each section,
            checked even when the top level has errors).
    """
    errors = Errors(source)
    root = compose_into(text, errors)
    values: dict[str, Any] | None = None
    sections: dict[str, Any] = {}
    if root is None and not errors.items:
        errors.add(None, "empty model plan: expected a mapping with at least 'name'")
    if root is not None:
        values = fields(root, spec_of(ModelPlan), errors, "plan")
        if isinstance(root, yaml.MappingNode):
            pairs = {getattr(k, "value", None): v for k, v in root.value}
            for name, cls in SECTIONS.items():
                node = pairs.get(name)
                if isinstance(node, yaml.MappingNode):
                    sections[name] = build(cls, node, errors, name)
                elif values is not None and name in values and values[name] is None:
                    sections[name] = cls()
    errors.raise_if_any(source)
    assert values is not None
    return ModelPlan(**{**values, **sections})


def parse_plan(text: str, source: str = "<plan>") -> dict[str, Any]:
    """:func:`parse_model_plan` as the plain dict the checks read (:meth:`ModelPlan.to_dict`): absent sections are
    absent keys; an empty section is ``{}``.

    Raises:
        UsageError: every problem at once, each as ``source:line: message``.
    """
    return parse_model_plan(text, source).to_dict()


def load_model_plan(path: str | Path) -> ModelPlan:
    """:func:`parse_model_plan` on a file; errors name the file and line; ``path`` is the file."""
    plan = parse_model_plan(read_config(path, "model plan"), str(path))
    return dataclasses.replace(plan, path=str(path))


def load_plan(path: str | Path) -> dict[str, Any]:
    """:func:`parse_plan` on a file; errors name the file and line. The dict gets ``_path`` (the file)."""
    return load_model_plan(path).to_dict()
