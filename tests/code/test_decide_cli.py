"""``playbook decide model|next`` as a user runs it: recommendations match the library, bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playbook_lib import sample_data
from playbook_lib.decide.evals import failure_counts, load_eval_results
from playbook_lib.decide.ladder import LadderState, Rung, recommend
from playbook_lib.decide.select import load_catalog, load_requirements, select_models
from playbook_lib.errors import ExitCode
from tests.cli import CliResult, assert_one_line_error, run_cli

PROFILE = sample_data.path("requirements_profile.yaml")
CATALOG = sample_data.path("model_catalog.yaml")
EVALS = sample_data.path("model_evals.jsonl")


def run(*args: str | Path) -> CliResult:
    return run_cli("decide", *args, env={"PLAYBOOK_THREADS": "1"})


def test_decide_model_json_matches_library() -> None:
    r = run("model", "--profile", PROFILE, "--catalog", CATALOG, "--json")
    assert r.code == ExitCode.OK, r.stderr
    out = json.loads(r.stdout)
    expected = select_models(load_catalog(CATALOG), load_requirements(PROFILE))
    assert out["recommended"] == expected.best.model.name
    assert [m["model"] for m in out["ranked"]] == [c.model.name for c in expected.ranked[:5]]
    assert [m["rank"] for m in out["ranked"]] == list(range(1, len(out["ranked"]) + 1))
    excluded = {m["model"]: m["excluded_because"] for m in out["excluded"]}
    assert excluded == {c.model.name: c.excluded_because for c in expected.excluded}
    # every excluded model says why; every ranked one has reasons and a dated price
    assert all(excluded.values()) and all(m["reasons"] and m["priced_on"] for m in out["ranked"])


def test_decide_model_table_and_top() -> None:
    r = run("model", "-p", PROFILE, "-c", CATALOG, "--top", "2")
    assert r.code == ExitCode.OK, r.stderr
    best = select_models(load_catalog(CATALOG), load_requirements(PROFILE)).best.model.name
    assert f"recommended: {best}" in r.stdout
    assert "excluded " in r.stdout


def test_decide_model_everything_excluded_exits_2(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: impossible\nsuperpower: accuracy\nrequire_open_weights: true\ncost_ceiling_per_1k_requests: 0.0\n",
        encoding="utf-8",
    )
    r = run("model", "-p", profile, "-c", CATALOG, "--json")
    assert r.code == ExitCode.FAIL
    out = json.loads(r.stdout)
    assert out["recommended"] is None and out["ranked"] == [] and len(out["excluded"]) == len(load_catalog(CATALOG))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: x\nsuperpower: [unclosed\n", "malformed YAML"),
        ("name: x\nsuperpower: telepathy\n", "superpower must be one of"),
        ("name: x\nsuperpower: accuracy\nlatency: low\n", "unknown key 'latency'"),
        ("", "empty requirements profile"),
    ],
)
def test_decide_model_bad_profile(tmp_path: Path, text: str, fragment: str) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text(text, encoding="utf-8")
    r = run("model", "-p", profile, "-c", CATALOG)
    assert_one_line_error(r, ExitCode.USAGE, fragment)
    assert str(profile) in r.stderr


def test_decide_model_missing_file() -> None:
    assert_one_line_error(run("model", "-p", "no/such.yaml", "-c", CATALOG), ExitCode.USAGE, "cannot read")


def test_decide_next_matches_library(tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    r = run("next", "--evals", EVALS, "--model", "open-weights-8b", "--json", "--log", log)
    assert r.code == ExitCode.OK, r.stderr
    out = json.loads(r.stdout)
    frame = load_eval_results(EVALS)
    expected = recommend(failure_counts(frame, "open-weights-8b"), LadderState(has_evals=True))
    assert (out["action"], out["rung"]) == (expected.action, expected.rung.label)
    assert out["evidence"]["counts"] == expected.evidence["counts"]
    assert out["evidence"]["evals"]["model"] == "open-weights-8b"
    run("next", "--evals", EVALS, "--model", "open-weights-8b", "--log", log)
    logged = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert [d["action"] for d in logged] == [expected.action] * 2


def test_decide_next_state_options_change_the_decision(tmp_path: Path) -> None:
    evals = tmp_path / "e.jsonl"
    rows = [
        {"task_id": f"t{i}", "success": i >= 4, "category": "behavior_format" if i < 4 else "none"} for i in range(10)
    ]
    evals.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    first = json.loads(run("next", "-e", evals, "--rung", "rag", "--json").stdout)
    assert (first["action"], first["rung"]) == ("prompt_constraints", "rag")  # stays on RAG
    tried = json.loads(run("next", "-e", evals, "--tried-prompts", "--examples", "500", "--json").stdout)
    assert (tried["action"], tried["rung"]) == ("peft_fine_tune", "fine_tune")
    few = run("next", "-e", evals, "--tried-prompts", "--examples", "20")
    assert few.code == 0 and "next: collect_examples" in few.stdout
    assert (
        recommend({"behavior_format": 4, "none": 6}, LadderState(Rung.RAG, has_evals=True, has_rag=True)).action
        == first["action"]
    )


@pytest.mark.parametrize(
    ("lines", "code", "fragment"),
    [
        (['{"task_id": "a", "success": true}', "{not json"], ExitCode.DATA, ":2: invalid JSON"),
        (['{"task_id": "a", "success": "yes"}'], ExitCode.DATA, ":1: success must be true or false"),
        (['{"task_id": "a", "success": false}'], ExitCode.DATA, ":1: failed attempt needs a failure category"),
        (['{"task_id": "a", "success": false, "category": "hallucination"}'], ExitCode.DATA, "unknown category"),
        ([], ExitCode.DATA, "no eval results"),
    ],
)
def test_decide_next_bad_evals(tmp_path: Path, lines: list[str], code: ExitCode, fragment: str) -> None:
    evals = tmp_path / "e.jsonl"
    evals.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    before = evals.read_bytes()
    assert_one_line_error(run("next", "-e", evals), code, fragment)
    assert evals.read_bytes() == before


def test_decide_next_usage_errors() -> None:
    assert_one_line_error(run("next", "-e", EVALS), ExitCode.USAGE, "several models")
    assert_one_line_error(run("next", "-e", EVALS, "-m", "gpt-9"), ExitCode.USAGE, "not in the eval results")
    assert_one_line_error(
        run("next", "-e", EVALS, "-m", "open-weights-8b", "--rung", "rag", "--no-rag"),
        ExitCode.USAGE,
        "implies a RAG pipeline",
    )
    assert_one_line_error(run("next", "-e", EVALS, "--rung", "moon"), ExitCode.USAGE, "--rung")
    assert_one_line_error(run("next", "-e", "missing.jsonl"), ExitCode.DATA, "not found")


def test_decide_help() -> None:
    r = run("--help")
    assert r.code == 0 and "model" in r.stdout and "next" in r.stdout and "Exit codes" in r.stdout
    r = run("next", "--help")
    assert r.code == 0 and "--evals" in r.stdout and "--tried-prompts" in r.stdout
