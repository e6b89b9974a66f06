"""Bad-input suite, class 3 of issue 12: thresholds and other numbers in configuration are validated.

Generated from :data:`playbook_lib.checks.REGISTRY`, so a new check is covered the day it is registered: for every
check, ``warn`` and ``fail`` set to NaN (which compares false with everything: a NaN ``fail`` turned a failing PII
gate into a pass), infinities, strings, booleans, values outside the check's ``metric_range``, and a pair ordered
against the check's ``direction`` must each make ``playbook check`` exit 3 with one line naming ``file:line``, the
item and the option; every other numeric option refuses NaN and infinity. Thresholds at the edges of the range, in
the right order, still parse (the control). The same holds for the numbers of model plans, requirements profiles
and model catalogues. Every input is generated here, in ``tmp_path``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from playbook_lib import sample_data
from playbook_lib.checklist.parse import parse_checklist_text
from playbook_lib.checks import REGISTRY, Check
from playbook_lib.config.validate import params_of, type_ok
from playbook_lib.errors import ExitCode, UsageError
from tests.cli import CliResult, assert_one_line_error, assert_unchanged, run_cli, snapshot

ROOT = Path(__file__).resolve().parents[2]
MODEL_CHECKLIST = ROOT / "checklists" / "model_readiness.yaml"
EVALS = sample_data.path("model_evals.jsonl")
PLAN = sample_data.path("model_plan.yaml")
PROFILE = sample_data.path("requirements_profile.yaml")
CATALOG = sample_data.path("model_catalog.yaml")
CHECKS = sorted(REGISTRY)


def span(cls: type[Check]) -> tuple[float, float]:
    """The metric range with a finite stand-in for an open upper end."""
    lo, hi = cls.metric_range
    return lo, hi if math.isfinite(hi) else lo + 100.0


def bad_thresholds(cls: type[Check]) -> list[tuple[str, dict[str, str], str, str]]:
    """``(case id, {option: YAML value}, option blamed, message fragment)`` for every way a threshold is wrong."""
    lo, hi = span(cls)
    low, high = lo + 0.25 * (hi - lo), lo + 0.75 * (hi - lo)
    cases = [
        ("warn-nan", {"warn": ".nan"}, "warn", "must be a finite number"),
        ("fail-nan", {"fail": ".NaN"}, "fail", "must be a finite number"),
        ("warn-inf", {"warn": ".inf"}, "warn", "must be a finite number"),
        ("fail-minus-inf", {"fail": "-.inf"}, "fail", "must be a finite number"),
        ("warn-string", {"warn": '"0.1"'}, "warn", "must be float | None"),
        ("fail-word", {"fail": "high"}, "fail", "must be float | None"),
        ("warn-bool", {"warn": "true"}, "warn", "must be float | None"),
        ("fail-bool", {"fail": "false"}, "fail", "must be float | None"),
        ("warn-below-range", {"warn": repr(cls.metric_range[0] - 1)}, "warn", "must be in ["),
        ("fail-list", {"fail": "[0.1]"}, "fail", "must be float | None"),
    ]
    if math.isfinite(cls.metric_range[1]):
        cases.append(("fail-above-range", {"fail": repr(cls.metric_range[1] + 0.5)}, "fail", "must be in ["))
    inverted = (
        {"warn": repr(high), "fail": repr(low)} if cls.direction == "above" else {"warn": repr(low), "fail": repr(high)}
    )
    cases.append(
        ("inverted", inverted, "warn", "so warn must be " + ("<= fail" if cls.direction == "above" else ">= fail"))
    )
    return cases


THRESHOLD_CASES = [(name, *case) for name in CHECKS for case in bad_thresholds(REGISTRY[name])]


def checklist_text(check: str, options: dict[str, str], item: str = "under-test") -> tuple[str, dict[str, int]]:
    """A one-item checklist running ``check`` with ``options``; also the line of each option."""
    lines = ["name: thresholds", "items:", f"  - id: {item}", "    title: the check under test", f"    check: {check}"]
    at: dict[str, int] = {}
    for key, value in options.items():
        lines.append(f"    {key}: {value}")
        at[key] = len(lines)
    return "\n".join(lines) + "\n", at


def run_check(cls: type[Check], path: Path, tmp_path: Path) -> CliResult:
    """``playbook check`` with the inputs the check reads (a tiny dataset, or the sample plan and evals)."""
    if "data" in cls.inputs:
        data = tmp_path / "rows.jsonl"
        data.write_text('{"instruction": "q", "output": "a"}\n', encoding="utf-8")
        return run_cli("check", path, "--data", data, "-q")
    return run_cli("check", path, "--plan", PLAN, "--evals", EVALS, "-q")


@pytest.mark.parametrize(
    ("check", "case", "options", "blamed", "fragment"), THRESHOLD_CASES, ids=[f"{c[0]}-{c[1]}" for c in THRESHOLD_CASES]
)
def test_bad_thresholds_are_usage_errors_naming_item_and_option(
    check: str, case: str, options: dict[str, str], blamed: str, fragment: str, tmp_path: Path
) -> None:
    text, at = checklist_text(check, options)
    path = tmp_path / "checklist.yaml"
    path.write_text(text, encoding="utf-8")
    before = snapshot(path)
    r = run_check(REGISTRY[check], path, tmp_path)
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{at[blamed]}: {check}.{blamed} ")
    assert fragment in r.error_lines[0] and "(item 'under-test')" in r.error_lines[0], r.error_lines[0]
    assert_unchanged(before, [path])


@pytest.mark.parametrize("check", CHECKS)
def test_thresholds_at_the_edges_and_in_order_still_parse(check: str) -> None:
    """The control: in-range thresholds ordered by the direction (and equal ones) are accepted."""
    cls = REGISTRY[check]
    lo, hi = span(cls)
    worse_end, better_end = (hi, lo) if cls.direction == "above" else (lo, hi)
    for warn, fail in ((better_end, worse_end), ((lo + hi) / 2, (lo + hi) / 2), (None, None)):
        options = {k: repr(v) if v is not None else "null" for k, v in (("warn", warn), ("fail", fail))}
        spec = parse_checklist_text(checklist_text(check, options)[0], "ok.yaml")
        assert spec.items[0].params == {"warn": warn, "fail": fail}
        built = cls(warn=warn, fail=fail)
        if warn is not None:  # None disables a threshold (quantity: takes the method's default)
            assert (built.warn, built.fail) == (warn, fail)


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize(
    "bad",
    [float("nan"), np.float64("nan"), float("inf"), True, np.bool_(True), "0.1", -1e9, 1e9],
    ids=["nan", "np-nan", "inf", "bool", "np-bool", "str", "very-low", "very-high"],
)
def test_constructors_refuse_bad_thresholds_too(check: str, bad: Any) -> None:
    """Checks built in code (notebooks, the experiments) get the same validation as checklists."""
    cls = REGISTRY[check]
    if bad == 1e9 and not math.isfinite(cls.metric_range[1]):
        bad = float("nan")  # counts have no upper end; keep the case a bad one
    for option in ("warn", "fail"):
        with pytest.raises(UsageError, match=rf"^{check}: {option} ") as info:
            cls(**{option: bad})
        assert [opt for opt, _ in info.value.problems] == [option]  # type: ignore[attr-defined]


def numeric_options(cls: type[Check]) -> list[str]:
    """The check's options other than the thresholds that take a number."""
    return [
        k
        for k, p in params_of(cls).items()
        if k not in ("warn", "fail") and (type_ok(1, p.annotation) or type_ok(0.5, p.annotation))
    ]


OPTION_CASES = [
    (name, option, value)
    for name in CHECKS
    for option in numeric_options(REGISTRY[name])
    for value in (".nan", ".inf", "-.inf")
]


@pytest.mark.parametrize(("check", "option", "value"), OPTION_CASES, ids=[f"{c}-{o}-{v}" for c, o, v in OPTION_CASES])
def test_other_numeric_options_refuse_nan_and_infinity(check: str, option: str, value: str, tmp_path: Path) -> None:
    text, at = checklist_text(check, {option: value})
    path = tmp_path / "checklist.yaml"
    path.write_text(text, encoding="utf-8")
    r = run_check(REGISTRY[check], path, tmp_path)
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{at[option]}: {check}.{option} must be ")


def test_a_nan_threshold_no_longer_turns_a_failing_pii_gate_into_a_pass(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(
        "".join(f'{{"instruction": "mail ana.silva{i}@corp-mail.net", "output": "ok"}}\n' for i in range(10)),
        encoding="utf-8",
    )
    gate = tmp_path / "gate.yaml"
    gate.write_text(checklist_text("pii", {"warn": "0.0", "fail": "0.01"})[0], encoding="utf-8")
    assert run_cli("check", gate, "--data", data, "-q").code == ExitCode.FAIL  # the control: the gate fails
    for options in ({"warn": "0.0", "fail": ".nan"}, {"warn": ".nan", "fail": ".nan"}, {"fail": ".nan"}):
        gate.write_text(checklist_text("pii", options)[0], encoding="utf-8")
        assert_one_line_error(run_cli("check", gate, "--data", data, "-q"), ExitCode.USAGE, "must be a finite number")


# ---------------------------------------------------------------- numbers of model plans, profiles and catalogues

PLAN_CASES = (
    [
        ("cost_model", "target_cost_per_success", v, "must be a finite number >= 0")
        for v in (".nan", ".inf", "-0.001", "true", "cheap")
    ]
    + [("cost_model", "monthly_budget", v, "must be a finite number >= 0") for v in (".nan", "-.inf", "-5")]
    + [
        ("routing", "escalation_threshold", v, "must be a number in [0, 1]")
        for v in (".nan", ".inf", "1.5", "-0.1", "true")
    ]
    + [("eval_harness", "min_tasks", v, "must be an integer >= 1") for v in ("0", "true", ".nan", "2.5", "-3")]
)


@pytest.mark.parametrize(
    ("section", "key", "value", "fragment"), PLAN_CASES, ids=[f"{s}.{k}={v}" for s, k, v, _ in PLAN_CASES]
)
def test_model_plan_numbers(section: str, key: str, value: str, fragment: str, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"name: p\nmodel: open-weights-70b\n{section}:\n  {key}: {value}\n", encoding="utf-8")
    before = snapshot(plan)
    r = run_cli("check", MODEL_CHECKLIST, "--plan", plan, "--evals", EVALS, "-q")
    assert_one_line_error(r, ExitCode.USAGE, f"{plan}:4: {section}: {key} {fragment}")
    assert_unchanged(before, [plan])


def test_model_plan_numbers_control(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "name: p\nmodel: open-weights-70b\ncost_model:\n  target_cost_per_success: 0.002\n"
        "  monthly_budget: 0\nrouting:\n  escalation_threshold: 1\neval_harness:\n  min_tasks: 1\n",
        encoding="utf-8",
    )
    r = run_cli("check", MODEL_CHECKLIST, "--plan", plan, "--evals", EVALS, "-q")
    assert r.code in (ExitCode.OK, ExitCode.WARN, ExitCode.FAIL), r.stderr


PROFILE_CASES = [
    ("cost_ceiling_per_1k_requests", v, "must be a finite number >= 0") for v in (".nan", ".inf", "-1", "true", "cheap")
] + [
    (key, v, "must be an integer >= 0")
    for key in ("input_tokens", "output_tokens", "min_context_window")
    for v in ("-5", "true", "1.5", ".nan")
]


@pytest.mark.parametrize(("key", "value", "fragment"), PROFILE_CASES, ids=[f"{k}={v}" for k, v, _ in PROFILE_CASES])
def test_requirements_profile_numbers(key: str, value: str, fragment: str, tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"name: p\nsuperpower: accuracy\n{key}: {value}\n", encoding="utf-8")
    r = run_cli("decide", "model", "--profile", profile, "--catalog", CATALOG)
    assert_one_line_error(r, ExitCode.USAGE, f"{profile}:3: profile: {key} {fragment}")


MODEL = {
    "name": "m",
    "provider": "p",
    "open_weights": "true",
    "regions": "[eu]",
    "context_window": "8000",
    "modalities": "[text]",
    "price_per_1m_input": "1.0",
    "price_per_1m_output": "2.0",
    "priced_on": "2025-01-01",
    "latency_class": "low",
    "strengths": "[code]",
    "reasoning": "false",
}
CATALOG_CASES = [
    (key, v, "must be a finite number >= 0")
    for key in ("price_per_1m_input", "price_per_1m_output")
    for v in (".nan", ".inf", "-0.5", "true", "free")
] + [("context_window", v, "must be an integer >= 1") for v in ("0", "true", ".nan", "1.5")]


def catalog_text(**override: str) -> str:
    return "models:\n" + "".join(
        f"{'  - ' if i == 0 else '    '}{k}: {override.get(k, v)}\n" for i, (k, v) in enumerate(MODEL.items())
    )


@pytest.mark.parametrize(("key", "value", "fragment"), CATALOG_CASES, ids=[f"{k}={v}" for k, v, _ in CATALOG_CASES])
def test_model_catalogue_numbers(key: str, value: str, fragment: str, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(catalog_text(**{key: value}), encoding="utf-8")
    line = 2 + list(MODEL).index(key)
    r = run_cli("decide", "model", "--profile", PROFILE, "--catalog", catalog)
    assert_one_line_error(r, ExitCode.USAGE, f"{catalog}:{line}: models[0]: {key} {fragment}")


def test_profile_and_catalogue_numbers_control(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(catalog_text(price_per_1m_input="0", context_window="1"), encoding="utf-8")
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "name: p\nsuperpower: code\ncost_ceiling_per_1k_requests: 0\ninput_tokens: 0\n", encoding="utf-8"
    )
    r = run_cli("decide", "model", "--profile", profile, "--catalog", catalog)
    assert r.code in (ExitCode.OK, ExitCode.FAIL), r.stderr
