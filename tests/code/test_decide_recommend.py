"""Tests for playbook_lib.decide.recommend: every branch of the default path on constructed profiles and evals."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from playbook_lib.decide.recommend import DatasetFacts, PlatformConfig, Step, default_path, steps_frame
from playbook_lib.decide.select import load_catalog, load_requirements
from playbook_lib.errors import UsageError
from playbook_lib.sample_data import path

CATALOG = load_catalog(path("model_catalog.yaml"))
REQ = load_requirements(path("requirements_profile.yaml"))


def _evals(knowledge: int = 0, behaviour: int = 0, ok: int = 40) -> pd.DataFrame:
    rows = [{"task_id": f"k{i}", "success": False, "category": "knowledge_missing"} for i in range(knowledge)]
    rows += [{"task_id": f"b{i}", "success": False, "category": "behavior_format"} for i in range(behaviour)]
    rows += [{"task_id": f"o{i}", "success": True, "category": "none"} for i in range(ok)]
    frame = pd.DataFrame(rows)
    frame["attempt"] = 1
    frame["line"] = range(1, len(frame) + 1)
    return frame


def _by_name(steps: list[Step]) -> dict[str, Step]:
    return {s.name: s for s in steps}


def test_closed_model_branches() -> None:
    first = _by_name(default_path(REQ, CATALOG, None, DatasetFacts(aws_first=True)))["start with a strong closed model"]
    assert first.taken and "Bedrock" in first.reason and first.detail
    plain = default_path(REQ, CATALOG, None, DatasetFacts())[0]
    assert plain.taken and "Bedrock" not in plain.reason
    gov = default_path(dataclasses.replace(REQ, require_open_weights=True), CATALOG, None, DatasetFacts())[0]
    assert not gov.taken and "open weights" in gov.reason
    nowhere = default_path(dataclasses.replace(REQ, data_residency=["mars"]), CATALOG, None, DatasetFacts())[0]
    assert not nowhere.taken and "no closed model" in nowhere.reason


def test_no_or_thin_evals_build_the_flywheel_and_decide_nothing_else() -> None:
    for evals in (None, _evals(ok=10)):
        steps = _by_name(default_path(REQ, CATALOG, evals, DatasetFacts(500, True)))
        assert steps["build the data + eval flywheel"].taken
        assert not steps["add RAG"].taken and "undecidable" in steps["add RAG"].reason
        assert not steps["PEFT fine-tune"].taken


def test_rag_only_for_knowledge_grounding() -> None:
    assert _by_name(default_path(REQ, CATALOG, _evals(knowledge=8), DatasetFacts()))["add RAG"].taken
    low = _by_name(default_path(REQ, CATALOG, _evals(knowledge=1), DatasetFacts()))["add RAG"]
    assert not low.taken and "within" in low.reason
    other = _by_name(default_path(REQ, CATALOG, _evals(knowledge=4, behaviour=9), DatasetFacts()))["add RAG"]
    assert not other.taken and "not the top failure" in other.reason


@pytest.mark.parametrize(
    ("behaviour", "facts", "taken", "phrase"),
    [
        (0, DatasetFacts(500, True), False, "within"),
        (3, DatasetFacts(500, True), False, "within"),  # 3 of 203 tasks: 1.5%
        (8, DatasetFacts(500, False), False, "prompt constraints"),
        (8, DatasetFacts(120, True), False, "collect more"),
        (8, DatasetFacts(300, True), True, "PEFT"),
    ],
)
def test_peft_branches(behaviour: int, facts: DatasetFacts, taken: bool, phrase: str) -> None:
    evals = _evals(behaviour=behaviour, ok=200 if behaviour == 3 else 40)
    step = _by_name(default_path(REQ, CATALOG, evals, facts))["PEFT fine-tune"]
    assert step.taken is taken and phrase in step.reason


def test_peft_needs_repeatable_gap() -> None:
    evals = _evals(behaviour=2, ok=30)
    step = _by_name(default_path(REQ, CATALOG, evals, DatasetFacts(500, True)))["PEFT fine-tune"]
    assert not step.taken and "not yet repeatable" in step.reason


def test_platform_config_and_validation() -> None:
    cfg = PlatformConfig("anthropic.example-model-v1", "eu-central-1")
    assert cfg.env() == {
        "PLAYBOOK_GENERATOR": "bedrock",
        "PLAYBOOK_BEDROCK_MODEL_ID": "anthropic.example-model-v1",
        "AWS_REGION": "eu-central-1",
    }
    assert cfg.langchain_kwargs() == {"model": "anthropic.example-model-v1", "region_name": "eu-central-1"}
    with pytest.raises(UsageError):
        PlatformConfig("", "eu-central-1")
    with pytest.raises(UsageError):
        DatasetFacts(curated_examples=-1)
    with pytest.raises(UsageError):
        default_path(REQ, CATALOG, None, DatasetFacts(), tolerance=1.0)
    assert list(steps_frame(default_path(REQ, CATALOG, None, DatasetFacts())).columns) == [
        "step",
        "taken",
        "reason",
        "detail",
    ]
