"""The one file:line validator (playbook_lib.config.validate) and the typed plan and catalogue it builds."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import pytest

from playbook_lib import sample_data
from playbook_lib.config.validate import (
    Errors,
    build,
    checked,
    compose_into,
    int_min,
    is_str,
    non_finite,
    number,
    spec_of,
    type_ok,
)
from playbook_lib.decide.plan import (
    EvalHarness,
    Guardrails,
    ModelPlan,
    Routing,
    load_model_plan,
    load_plan,
    parse_model_plan,
    parse_plan,
)
from playbook_lib.decide.select import Catalog, ModelSpec, load_catalog, load_model_catalog, parse_model_catalog
from playbook_lib.errors import UsageError


@dataclass(frozen=True)
class Box:
    label: str = field(metadata=checked(is_str))
    size: int = field(metadata=checked(int_min(1)), default=1)
    price: float = field(metadata=checked(number), default=0.0)
    note: str = ""  # no validator: not a key of the file


def test_spec_of_reads_validators_and_required_from_the_dataclass() -> None:
    spec = spec_of(Box)
    assert list(spec) == ["label", "size", "price"]
    assert [required for _, required in spec.values()] == [True, False, False]


def test_build_reports_every_problem_with_file_and_line() -> None:
    errors = Errors("box.yaml")
    root = compose_into("label: ''\nsize: 0\nprice: .nan\ncolour: red\n", errors)
    assert root is not None
    assert build(Box, root, errors, "box") is None
    assert errors.items == [
        "box.yaml:4: unknown key 'colour' in box; valid: ['label', 'price', 'size']",
        "box.yaml:1: box: label must be a non-empty string",
        "box.yaml:2: box: size must be an integer >= 1",
        "box.yaml:3: box: price must be a finite number >= 0",
    ]
    with pytest.raises(UsageError, match=r"^4 error\(s\) in box.yaml: box.yaml:4: unknown key") as info:
        errors.raise_if_any("box.yaml")
    assert info.value.errors == errors.items  # type: ignore[attr-defined]


def test_build_constructs_the_dataclass_and_a_missing_required_key_points_at_the_mapping() -> None:
    errors = Errors("b.yaml")
    root = compose_into("size: 3\n", errors)
    assert root is not None and build(Box, root, errors, "box") is None
    assert errors.items == ["b.yaml:1: box lacks required key 'label'"]
    errors = Errors("b.yaml")
    root = compose_into("label: crate\nsize: 3\n", errors)
    assert root is not None and build(Box, root, errors, "box") == Box("crate", 3)


def test_unsafe_yaml_lands_in_the_same_error_list() -> None:
    errors = Errors("x.yaml")
    assert compose_into("a: !!python/name:os.system\n", errors) is None
    assert len(errors.items) == 1 and errors.items[0].startswith(
        "x.yaml:1: tag '!!python/name:os.system' is not allowed"
    )


def test_annotation_checks() -> None:
    assert type_ok(3, float | None) and type_ok(None, float | None) and not type_ok(True, float | None)
    assert type_ok(["a"], list[str]) and not type_ok(["a", 1], list[str])
    assert type_ok({"a": [1, 2]}, dict[str, list[int]]) and not type_ok({"a": [1.5]}, dict[str, list[int]])
    assert non_finite({"a": [1.0, float("inf")]}) == float("inf") and non_finite([1, 2.5]) is None


def test_the_sample_plan_is_a_typed_model_plan_and_its_dict_is_what_the_checks_read() -> None:
    path = sample_data.path("model_plan.yaml")
    plan = load_model_plan(path)
    assert isinstance(plan, ModelPlan) and plan.path == str(path)
    assert plan.routing == Routing("open-weights-8b", "open-weights-70b", 0.7, False)
    assert plan.guardrails == Guardrails(["pii_masking", "prompt_injection_filter"], ["citation_check"], False)
    assert isinstance(plan.eval_harness, EvalHarness) and plan.eval_harness.min_tasks == 30
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.name = "other"  # type: ignore[misc]
    as_dict = load_plan(path)
    assert as_dict == plan.to_dict()
    assert as_dict["_path"] == str(path) and as_dict["cost_model"] == {"target_cost_per_success": 0.0015}


def test_absent_and_empty_sections_of_a_plan() -> None:
    plan = parse_model_plan("name: p\nrouting:\nguardrails: {}\n", "p.yaml")
    assert plan.cost_model is None and plan.routing == Routing() and plan.guardrails == Guardrails()
    assert parse_plan("name: p\nrouting:\nguardrails: {}\n", "p.yaml") == {"name": "p", "routing": {}, "guardrails": {}}


def test_plan_sections_are_checked_even_when_the_top_level_is_wrong() -> None:
    with pytest.raises(UsageError) as info:
        parse_model_plan("superpower: telepathy\nrouting:\n  escalation_threshold: 2\n", "p.yaml")
    assert info.value.errors == [  # type: ignore[attr-defined]
        "p.yaml:1: plan lacks required key 'name'",
        "p.yaml:1: plan: superpower must be one of "
        "['accuracy', 'speed_cost', 'long_context', 'multimodal', 'code', 'live_search'], got 'telepathy'",
        "p.yaml:3: routing: escalation_threshold must be a number in [0, 1]",
    ]


def test_the_sample_catalogue_is_a_typed_catalog() -> None:
    path = sample_data.path("model_catalog.yaml")
    catalog = load_model_catalog(path)
    assert isinstance(catalog, Catalog) and isinstance(catalog.models, tuple)
    assert all(isinstance(m, ModelSpec) and isinstance(m.priced_on, dt.date) for m in catalog.models)
    assert list(catalog.models) == load_catalog(path)


def test_catalog_problems_are_reported_together() -> None:
    text = "description: 3\nmodels:\n  - name: a\n    provider: p\n"
    with pytest.raises(UsageError) as info:
        parse_model_catalog(text, "c.yaml")
    errors = info.value.errors  # type: ignore[attr-defined]
    assert errors[0] == "c.yaml:1: catalog: description must be a non-empty string"
    assert errors[1] == "c.yaml:3: models[0] lacks required key 'open_weights'"
    assert len(errors) == 11  # every other required key of the model, each once
