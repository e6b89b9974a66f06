"""The model-readiness checklist: a plan judged against eval results, by the same `playbook check` machinery.

Pass, warn and fail per item on variations of the bundled plan; bad plans are one-line usage errors with file:line;
the CLI asks for exactly the inputs the checklist reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from playbook_lib import sample_data
from playbook_lib.checklist.parse import parse_checklist
from playbook_lib.checklist.run import exit_code, required_inputs, run_checklist
from playbook_lib.checks import CheckContext
from playbook_lib.decide.cost import cost_per_successful_task
from playbook_lib.decide.evals import final_attempts, load_eval_results
from playbook_lib.decide.plan import load_plan, parse_plan
from playbook_lib.errors import ExitCode, UsageError
from tests.cli import CliResult, assert_one_line_error, run_cli
from tests.conftest import need_module

ROOT = Path(__file__).resolve().parents[2]
CHECKLIST = ROOT / "checklists" / "model_readiness.yaml"
PLAN = sample_data.path("model_plan.yaml")
EVALS = sample_data.path("model_evals.jsonl")


def outcomes(plan: dict[str, Any], evals_path: Path = EVALS) -> dict[str, str]:
    report = run_checklist(parse_checklist(CHECKLIST), load_eval_results(evals_path), CheckContext(plan=plan))
    return {r.item.check: r.result.outcome.value for r in report.items}


def sample_plan() -> dict[str, Any]:
    return load_plan(PLAN)


def cli(*args: str | Path) -> CliResult:
    return run_cli("check", *args, env={"PLAYBOOK_THREADS": "1"})


def test_checklist_reads_plan_and_evals_only() -> None:
    assert required_inputs(parse_checklist(CHECKLIST)) == {"plan", "evals"}
    assert required_inputs(parse_checklist(ROOT / "checklists" / "dataset_readiness.yaml")) == {"data"}


def test_bundled_sample_warns_on_the_planted_gap() -> None:
    got = outcomes(sample_plan())
    assert got == {
        "superpower": "pass",
        "eval_success": "pass",
        "cost_model": "pass",
        "routing_plan": "pass",
        "guardrails": "warn",
        "eval_harness": "pass",
    }


def test_cost_model_ratio_is_measured_cost_over_target() -> None:
    plan = sample_plan()
    evals = load_eval_results(EVALS)
    measured = cost_per_successful_task(evals[evals["model"] == plan["model"]]).cost_per_success
    for factor, expected in ((1.2, "pass"), (0.8, "warn"), (0.5, "fail")):
        plan["cost_model"] = {"target_cost_per_success": measured * factor}
        assert outcomes(plan)["cost_model"] == expected, factor
    del plan["cost_model"]
    assert outcomes(plan)["cost_model"] == "fail"


def test_routing_that_never_escalates_fails() -> None:
    plan = sample_plan()
    plan["routing"] = {**plan["routing"], "escalation_threshold": 0.0, "failures_detectable": False}
    report = run_checklist(parse_checklist(CHECKLIST), load_eval_results(EVALS), CheckContext(plan=plan))
    routing = next(r for r in report.items if r.item.check == "routing_plan")
    assert routing.result.outcome.value == "fail"
    evals = load_eval_results(EVALS)
    cheap = evals[(evals["model"] == "open-weights-8b") & (evals["attempt"] == 1)]
    strong = final_attempts(evals, "open-weights-70b")
    # nothing escalates: the routed success is the cheap model's own first-attempt success rate
    assert routing.result.summary["routed_success"] == pytest.approx(cheap["success"].mean())
    assert routing.result.summary["success_drop"] == pytest.approx(strong["success"].mean() - cheap["success"].mean())
    plan["routing"] = {"cheap": "open-weights-8b"}
    assert outcomes(plan)["routing_plan"] == "fail"


def test_guardrails_and_harness_grades() -> None:
    plan = sample_plan()
    plan["guardrails"] = {"input": ["pii_masking"], "output": ["schema"], "audit_log": True}
    assert outcomes(plan)["guardrails"] == "pass"
    plan["guardrails"] = {"input": [], "output": [], "audit_log": True}
    assert outcomes(plan)["guardrails"] == "fail"
    del plan["guardrails"]
    assert outcomes(plan)["guardrails"] == "fail"
    plan["eval_harness"] = {**plan["eval_harness"], "runs_on": "nightly"}
    assert outcomes(plan)["eval_harness"] == "warn"
    plan["eval_harness"] = {"runs_on": "release", "min_tasks": 100}
    assert outcomes(plan)["eval_harness"] == "fail"


def test_uncategorised_failures_are_flagged_rows(tmp_path: Path) -> None:
    rows = [json.loads(x) for x in EVALS.read_text(encoding="utf-8").splitlines()]
    broken = next(i for i, r in enumerate(rows) if r["model"] == "open-weights-70b" and not r["success"])
    del rows[broken]["category"]
    path = tmp_path / "evals.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = run_checklist(parse_checklist(CHECKLIST), load_eval_results(path), CheckContext(plan=sample_plan()))
    harness = next(r for r in report.items if r.item.check == "eval_harness")
    assert harness.result.outcome.value == "warn" and harness.flagged_lines == [broken + 1]


def test_unknown_model_and_low_success() -> None:
    plan = sample_plan()
    plan["model"] = "gpt-9"
    got = outcomes(plan)
    assert got["superpower"] == "fail" and got["eval_success"] == "not_evaluated"
    plan["model"] = "open-weights-8b"  # 70% final success on the sample: below the fail threshold of 0.8
    assert outcomes(plan)["eval_success"] == "fail"


def test_cli_exit_codes_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = cli(CHECKLIST, "--plan", PLAN, "--evals", EVALS, "--json", out, "--quiet")
    assert r.code == ExitCode.OK, r.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["outcome"] == "warn" and report["data"]["plan"]["name"] == "heronsgate-support-assistant"
    assert report["data"]["evals"]["rows"] == len(load_eval_results(EVALS))
    assert cli(CHECKLIST, "--plan", PLAN, "--evals", EVALS, "--fail-on", "warn", "-q").code == ExitCode.WARN
    bad = tmp_path / "plan.yaml"
    bad.write_text(
        yaml.safe_dump({**{k: v for k, v in yaml.safe_load(PLAN.read_text()).items()}, "model": "open-weights-8b"}),
        encoding="utf-8",
    )
    assert cli(CHECKLIST, "--plan", bad, "--evals", EVALS, "-q").code == ExitCode.FAIL


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: x\nrouting: [unclosed\n", "plan.yaml:3: malformed YAML"),
        ("name: x\nsuperpower: telepathy\n", "plan.yaml:2: plan: superpower must be one of"),
        ("name: x\nguardrail: {}\n", "plan.yaml:2: unknown key 'guardrail'"),
        ("name: x\nrouting:\n  escalation_threshold: 1.5\n", "plan.yaml:3: routing: escalation_threshold must be"),
        ("name: x\neval_harness:\n  runs_on: sometimes\n", "runs_on must be one of"),
        ("superpower: accuracy\n", "plan lacks required key 'name'"),
        ("", "empty model plan"),
    ],
)
def test_bad_plans_are_one_line_usage_errors(tmp_path: Path, text: str, fragment: str) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(text, encoding="utf-8")
    before = plan.read_bytes()
    assert_one_line_error(cli(CHECKLIST, "--plan", plan, "--evals", EVALS), ExitCode.USAGE, fragment)
    assert plan.read_bytes() == before


def test_every_plan_error_at_once() -> None:
    with pytest.raises(UsageError) as info:
        parse_plan("name: x\nsuperpower: telepathy\nrouting:\n  cheap: 3\nguardrails:\n  audit_log: maybe\n", "p.yaml")
    assert len(info.value.errors) == 3  # type: ignore[attr-defined]
    assert [e.split(":")[1] for e in info.value.errors] == ["2", "4", "6"]  # type: ignore[attr-defined]


def test_cli_asks_for_the_inputs_the_checklist_reads(tmp_path: Path) -> None:
    assert_one_line_error(cli(CHECKLIST, "--evals", EVALS), ExitCode.USAGE, "needs --plan")
    assert_one_line_error(cli(CHECKLIST, "--plan", PLAN), ExitCode.USAGE, "needs --evals")
    assert_one_line_error(
        cli(CHECKLIST, "--plan", PLAN, "--evals", EVALS, "--data", EVALS), ExitCode.USAGE, "does not read --data"
    )
    assert_one_line_error(
        cli(ROOT / "checklists" / "dataset_readiness.yaml", "--plan", PLAN), ExitCode.USAGE, "needs --data"
    )
    assert_one_line_error(
        cli(CHECKLIST, "--plan", tmp_path / "none.yaml", "--evals", EVALS), ExitCode.USAGE, "cannot read"
    )
    broken = tmp_path / "e.jsonl"
    broken.write_text('{"task_id": "a", "success": true}\n{oops\n', encoding="utf-8")
    assert_one_line_error(cli(CHECKLIST, "--plan", PLAN, "--evals", broken), ExitCode.DATA, "e.jsonl:2: invalid JSON")
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(
        "name: m\nitems:\n  - {id: a, title: a, check: formatting}\n  - {id: b, title: b, check: guardrails}\n",
        encoding="utf-8",
    )
    assert_one_line_error(cli(mixed, "--plan", PLAN, "--data", EVALS), ExitCode.USAGE, "mixes dataset checks and model")


def test_schema_accepts_the_checklist() -> None:
    jsonschema = need_module("jsonschema")
    schema = json.loads((ROOT / "checklists" / "schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(yaml.safe_load(CHECKLIST.read_text(encoding="utf-8")), schema)
    assert (
        exit_code(
            run_checklist(parse_checklist(CHECKLIST), load_eval_results(EVALS), CheckContext(plan=sample_plan())),
            "warn",
        )
        == ExitCode.WARN
    )
