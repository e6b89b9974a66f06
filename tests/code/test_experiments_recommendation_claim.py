"""The default-recommendation page's rule verdicts on constructed paths: held on the real decisions, did not hold
when a path breaks the chapter's rule, inconclusive when no case exercises a statement."""

from __future__ import annotations

import dataclasses

import pandas as pd

from playbook_lib.decide.recommend import DatasetFacts, PlatformConfig, Step, default_path
from playbook_lib.decide.select import Requirements, load_catalog
from playbook_lib.experiments.recommendation_claim import (
    PEFT,
    RAG,
    PathCase,
    failures,
    judge_default_path,
    judge_platform,
    judge_tolerance,
)
from playbook_lib.experiments.verdict import Verdict
from playbook_lib.sample_data import path as sample_path

REQ = Requirements(name="t", superpower="accuracy")
CATALOG = load_catalog(sample_path("model_catalog.yaml"))
RULE = {"tolerance": 0.05, "min_examples": 300, "min_repeats": 3, "min_eval_tasks": 30}


def evals(knowledge: int, behaviour: int, ok: int, model: str = "m") -> pd.DataFrame:
    rows = [("knowledge_missing", False)] * knowledge + [("behavior_format", False)] * behaviour + [("none", True)] * ok
    return pd.DataFrame(
        [
            {"line": i + 1, "task_id": f"t{i}", "attempt": 1, "model": model, "success": s, "category": c}
            for i, (c, s) in enumerate(rows)
        ]
    )


FACTS = DatasetFacts(curated_examples=120, tried_prompt_constraints=True)
INPUTS = {
    "as given": (REQ, evals(8, 5, 27), FACTS),
    "no evals": (REQ, None, FACTS),
    "open weights": (dataclasses.replace(REQ, require_open_weights=True), evals(8, 5, 27), FACTS),
    "300 examples": (REQ, evals(8, 5, 27), dataclasses.replace(FACTS, curated_examples=300)),
    "untried": (REQ, evals(8, 5, 27), dataclasses.replace(FACTS, tried_prompt_constraints=False)),
}


def cases(inputs=INPUTS, **kw) -> list[PathCase]:
    return [PathCase(n, r, e, f, default_path(r, CATALOG, e, f, **kw)) for n, (r, e, f) in inputs.items()]


def replace_step(case: PathCase, name: str, taken: bool, detail: str = "") -> PathCase:
    steps = [Step(s.name, taken, "changed", detail or s.detail) if s.name == name else s for s in case.steps]
    return dataclasses.replace(case, steps=steps)


def test_failures_read_the_final_attempt_of_each_task() -> None:
    e = evals(2, 1, 3)
    retry = {"line": 7, "task_id": "t0", "attempt": 2, "model": "m", "success": True, "category": "none"}
    f = failures(pd.concat([e, pd.DataFrame([retry])], ignore_index=True))
    assert f.tasks == 6 and f.counts == {"knowledge_missing": 1, "behavior_format": 1}
    assert failures(None).tasks == 0 and failures(e, model="other").tasks == 0


def test_the_real_paths_hold_the_default_rule() -> None:
    v = judge_default_path(cases(), CATALOG, **RULE)
    assert v.verdict is Verdict.HELD, v.markdown()
    assert len(v.checks) == 9


def test_rag_for_a_behaviour_led_failure_does_not_hold() -> None:
    table = cases({"format-led": (REQ, evals(3, 9, 28), dataclasses.replace(FACTS, curated_examples=400))})
    assert not any(s.name == RAG and s.taken for s in table[0].steps)
    table[0] = replace_step(table[0], RAG, True)
    v = judge_default_path(table, CATALOG, **RULE)
    assert v.verdict is Verdict.DID_NOT_HOLD
    assert [c.name for c in v.failed] == ["RAG only when missing knowledge is the top failure, above 5%"]


def test_peft_below_the_stated_example_threshold_does_not_hold() -> None:
    # the function's own threshold (100) is lower than the one the claim states (300)
    v = judge_default_path(cases(min_examples=100), CATALOG, **RULE)
    assert v.verdict is Verdict.DID_NOT_HOLD
    assert any(c.name.startswith("PEFT only") for c in v.failed)


def test_a_path_that_skips_the_flywheel_or_picks_an_open_model_does_not_hold() -> None:
    table = cases()
    table[0] = replace_step(table[0], "build the data + eval flywheel", False)
    assert judge_default_path(table, CATALOG, **RULE).verdict is Verdict.DID_NOT_HOLD
    table = cases()
    table[0] = replace_step(table[0], "start with a strong closed model", True, "open-weights-70b")
    failed = judge_default_path(table, CATALOG, **RULE).failed
    assert [c.name for c in failed] == ["the closed model chosen is a closed model of the catalog"]


def test_a_table_without_an_open_weights_or_no_evals_case_is_inconclusive() -> None:
    inputs = {k: v for k, v in INPUTS.items() if k not in {"open weights", "no evals"}}
    v = judge_default_path(cases(inputs), CATALOG, **RULE)
    assert v.verdict is Verdict.INCONCLUSIVE
    assert {c.name for c in v.checks if c.passed is None} == {
        "fewer than 30 eval tasks -> neither RAG nor PEFT",
        "open weights required -> no closed model",
    }


def test_within_tolerance_neither_rag_nor_peft() -> None:
    strong = evals(2, 0, 38)
    inputs = {
        "strong": (REQ, strong, FACTS),
        "strong, 3000": (REQ, strong, dataclasses.replace(FACTS, curated_examples=3000)),
    }
    table = cases(inputs)
    assert judge_tolerance(table, 0.05, 30).verdict is Verdict.HELD
    table[1] = replace_step(table[1], PEFT, True)
    assert judge_tolerance(table, 0.05, 30).verdict is Verdict.DID_NOT_HOLD
    # one example count only: "whatever the example count" is not exercised
    assert judge_tolerance(cases({"strong": inputs["strong"]}), 0.05, 30).verdict is Verdict.INCONCLUSIVE
    # failures above the tolerance: the sentence's premise is not met, so nothing is measured
    big = dataclasses.replace(FACTS, curated_examples=3000)
    weak = cases({"weak": (REQ, evals(8, 5, 27), FACTS), "weak, 3000": (REQ, evals(8, 5, 27), big)})
    assert judge_tolerance(weak, 0.05, 30).verdict is Verdict.INCONCLUSIVE


def test_platform_configuration_is_read_back() -> None:
    cfg = PlatformConfig("x.model-v1", "eu-west-1")
    good = {"generator": "bedrock", "model id": "x.model-v1", "region": "eu-west-1"}
    assert judge_platform(cfg.env(), good, cfg.langchain_kwargs(), "x.model-v1", "eu-west-1").verdict is Verdict.HELD
    bad = {**good, "region": "us-east-1"}
    assert judge_platform(cfg.env(), bad, cfg.langchain_kwargs(), "x.model-v1", "eu-west-1").verdict is (
        Verdict.DID_NOT_HOLD
    )
    local = {**good, "generator": "local"}
    assert judge_platform({}, local, cfg.langchain_kwargs(), "x.model-v1", "eu-west-1").verdict is Verdict.DID_NOT_HOLD
