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

from pathlib import Path
from typing import Any

import yaml

from playbook_lib.config.yamlsafe import (
    Errors,
    Validator,
    choice,
    compose_into,
    fields,
    fraction,
    int_min,
    is_bool,
    is_str,
    number,
    read_config,
    str_list,
)
from playbook_lib.decide.select import SUPERPOWERS

RUNS_ON = ("every_change", "nightly", "release", "manual")

# Numbers are finite (no NaN or infinity), never booleans, and in range: costs and budgets >= 0, the escalation
# threshold a confidence in [0, 1], min_tasks a count >= 1 (and 64-bit, like every integer the loader accepts).
_SECTIONS: dict[str, dict[str, tuple[Validator, bool]]] = {
    "cost_model": {
        "target_cost_per_success": (number, False),
        "monthly_budget": (number, False),
        "notes": (is_str, False),
    },
    "routing": {
        "cheap": (is_str, False),
        "strong": (is_str, False),
        "escalation_threshold": (fraction, False),
        "failures_detectable": (is_bool, False),
    },
    "guardrails": {"input": (str_list(), False), "output": (str_list(), False), "audit_log": (is_bool, False)},
    "eval_harness": {
        "regression_suite": (is_str, False),
        "runs_on": (choice(RUNS_ON), False),
        "offline_metrics": (str_list(), False),
        "min_tasks": (int_min(1), False),
    },
}


def _section(name: str) -> Any:
    def check(v: Any) -> str | None:
        return None if isinstance(v, dict) or v is None else "must be a mapping"

    return check


_PLAN_SPEC: dict[str, tuple[Validator, bool]] = {
    "name": (is_str, True),
    "superpower": (choice(SUPERPOWERS), False),
    "model": (is_str, False),
    "description": (is_str, False),
    **{name: (_section(name), False) for name in _SECTIONS},
}


def parse_plan(text: str, source: str = "<plan>") -> dict[str, Any]:
    """Parse plan YAML into a plain dict (absent sections are absent keys; an empty section is ``{}``).

    Raises:
        UsageError: every problem at once, each as ``source:line: message``.
    """
    errors = Errors(source)
    root = compose_into(text, errors)
    values: dict[str, Any] | None = None
    if root is None and not errors.items:
        errors.add(None, "empty model plan: expected a mapping with at least 'name'")
    if root is not None:
        values = fields(root, _PLAN_SPEC, errors, "plan")
        if isinstance(root, yaml.MappingNode):  # sections are checked even when the top level has errors
            pairs = {getattr(k, "value", None): v for k, v in root.value}
            for name, spec in _SECTIONS.items():
                node = pairs.get(name)
                if isinstance(node, yaml.MappingNode):
                    fields(node, spec, errors, name)
                elif values is not None and name in values and values[name] is None:
                    values[name] = {}
    errors.raise_if_any(source)
    assert values is not None
    return values


def load_plan(path: str | Path) -> dict[str, Any]:
    """:func:`parse_plan` on a file; errors name the file and line. The dict gets ``_path`` (the file)."""
    plan = parse_plan(read_config(path, "model plan"), str(path))
    plan["_path"] = str(path)
    return plan
