"""checklists/schema.json is generated from the check registry (playbook_lib.checklist.schema) and validates the
shipped checklists; editors use it, so it must refuse what the parser refuses where JSON Schema can say so."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from playbook_lib.checklist.schema import CONSTRAINTS, build_schema, schema_text
from playbook_lib.checks import REGISTRY
from playbook_lib.config.validate import params_of
from tests.conftest import need_module

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "checklists" / "schema.json"
CHECKLISTS = ["dataset_readiness.yaml", "model_readiness.yaml"]


def test_the_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == schema_text(), (
        "checklists/schema.json is stale: run  python -m playbook_lib.checklist.schema > checklists/schema.json"
    )


def test_every_registered_check_and_option_is_in_the_schema() -> None:
    schema = build_schema()
    assert schema["$defs"]["item"]["properties"]["check"]["enum"] == sorted(REGISTRY)
    blocks = {b["if"]["properties"]["check"]["const"]: b["then"] for b in schema["$defs"]["item"]["allOf"]}
    assert sorted(blocks) == sorted(REGISTRY)
    for name, cls in REGISTRY.items():
        assert list(blocks[name]["properties"]) == list(params_of(cls)), name
    assert blocks["formatting"]["properties"]["min_spread"] == {"type": "number", "exclusiveMinimum": 0, "default": 0.5}


@pytest.mark.parametrize(("check", "option"), sorted(CONSTRAINTS))
def test_each_constraint_names_an_option_and_its_enum_values_construct(check: str, option: str) -> None:
    cls = REGISTRY[check]
    assert option in params_of(cls)
    keywords = CONSTRAINTS[(check, option)]
    enum = keywords.get("enum") or keywords.get("items", {}).get("enum")
    for v in enum or ():
        kwargs: dict[str, Any] = {option: v if "enum" in keywords else [v]}
        cls(**kwargs)


def validator() -> Any:
    jsonschema = need_module("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name", CHECKLISTS)
def test_the_shipped_checklists_validate(name: str) -> None:
    validator().validate(yaml.safe_load((ROOT / "checklists" / name).read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"bogus": 1}, "'bogus' is not one of"),
        ({"fail": "high"}, "is not of type"),
        ({"warn": 2}, "greater than the maximum"),
        ({"check": "nope"}, "'nope' is not one of"),
    ],
)
def test_the_schema_refuses_what_the_parser_refuses(change: dict[str, Any], fragment: str) -> None:
    doc = yaml.safe_load((ROOT / "checklists" / "dataset_readiness.yaml").read_text(encoding="utf-8"))
    bad = copy.deepcopy(doc)
    item = next(i for i in bad["items"] if i["check"] == "near_duplicates")
    item.update(change)
    errors = [e.message for e in validator().iter_errors(bad)]
    assert any(fragment in m for m in errors), errors
