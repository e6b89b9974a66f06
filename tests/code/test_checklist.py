"""Checklist parsing (every error at once, with file:line), evaluation, exit codes and deterministic reports."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from playbook_lib.checklist.parse import ChecklistError, parse_checklist, parse_checklist_text
from playbook_lib.checklist.report import to_json, to_junit
from playbook_lib.checklist.run import exit_code, run_checklist
from playbook_lib.checks import REGISTRY, CheckContext, Outcome
from playbook_lib.data import records_from_rows
from playbook_lib.errors import ExitCode, UsageError
from playbook_lib.io.outputs import write_atomic
from tests.conftest import need_module

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
name: tiny
items:
  - id: fmt
    title: formatting
    check: formatting
    warn: 0.0
    fail: 0.5
  - id: dup
    title: duplicates
    check: exact_duplicates
"""


def test_bundled_checklist_parses_and_its_schema_matches_the_registry() -> None:
    spec = parse_checklist(ROOT / "checklists" / "dataset_readiness.yaml")
    assert {i.check for i in spec.items} >= {
        "formatting",
        "near_duplicates",
        "pii",
        "contamination",
        "splits",
        "provenance",
        "golden_set",
        "quantity",
        "consistency",
    }
    schema = json.loads((ROOT / "checklists" / "schema.json").read_text(encoding="utf-8"))
    assert sorted(schema["$defs"]["item"]["properties"]["check"]["enum"]) == sorted(REGISTRY)
    jsonschema = need_module("jsonschema")
    import yaml

    jsonschema.validate(yaml.safe_load((ROOT / "checklists" / "dataset_readiness.yaml").read_text()), schema)


def test_every_config_error_is_reported_with_its_line() -> None:
    text = """\
name: broken
items:
  - id: a
    title: x
    check: formating
  - id: b
    title: y
    check: formatting
    warn: "high"
    colour: blue
  - id: b
    check: pii
"""
    with pytest.raises(ChecklistError) as info:
        parse_checklist_text(text, "c.yaml")
    errors = info.value.errors
    assert len(errors) == 5, errors
    assert errors[0].startswith("c.yaml:5: unknown check 'formating'; valid: chat_template, consistency, contamination")
    assert errors[1].startswith("c.yaml:9: formatting.warn must be")
    assert errors[2].startswith("c.yaml:10: check 'formatting' has no option 'colour'")
    assert errors[3] == "c.yaml:11: item is missing 'title'"
    assert errors[4] == "c.yaml:11: duplicate id 'b' (first at c.yaml:6)"
    assert "5 configuration errors" in str(info.value) and "\n" not in str(info.value)


def test_malformed_yaml_is_one_usage_error_with_line() -> None:
    with pytest.raises(UsageError, match=r"^c.yaml:4: malformed YAML"):
        parse_checklist_text("name: x\nitems:\n  - id: a\n   title: bad indent\n", "c.yaml")
    with pytest.raises(UsageError, match="'items' must be a non-empty list"):
        parse_checklist_text("name: x\n", "c.yaml")


def test_run_grades_items_and_exit_codes_follow_the_worst_outcome(tmp_path: Path) -> None:
    spec = parse_checklist_text(GOOD)
    clean = records_from_rows([{"instruction": f"q{i}", "output": "a"} for i in range(10)])
    report = run_checklist(spec, clean, CheckContext())
    assert [r.result.outcome for r in report.items] == [Outcome.PASS, Outcome.PASS]
    assert exit_code(report) == ExitCode.OK and exit_code(report, "warn") == ExitCode.OK
    warned = records_from_rows([{"instruction": f"q{i}", "output": "a" if i else ""} for i in range(10)])
    report = run_checklist(spec, warned, CheckContext())
    assert report.outcome is Outcome.WARN
    assert exit_code(report) == ExitCode.OK and exit_code(report, "warn") == ExitCode.WARN
    failed = records_from_rows([{"instruction": "q", "output": ""} for _ in range(10)])
    report = run_checklist(spec, failed, CheckContext())
    assert report.items[0].flagged_lines == list(range(1, 11)) and report.items[1].flagged_lines == list(range(2, 11))
    assert exit_code(report) == ExitCode.FAIL and exit_code(report, "warn") == ExitCode.FAIL
    # same inputs, same bytes
    assert to_json(run_checklist(spec, failed, CheckContext())) == to_json(report)
    xml = ET.fromstring(to_junit(report).split("\n", 1)[1])
    assert xml.find("testsuite").get("failures") == "2"
    write_atomic(tmp_path / "out" / "r.json", to_json(report))
    assert json.loads((tmp_path / "out" / "r.json").read_text())["outcome"] == "fail"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["r.json"]


def test_a_check_that_raises_is_never_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = parse_checklist_text(GOOD)

    def boom(self, records, context):  # noqa: ANN001
        raise RuntimeError("bug in check")

    monkeypatch.setattr(REGISTRY["exact_duplicates"], "run", boom)
    with pytest.raises(RuntimeError, match="bug in check"):
        run_checklist(spec, records_from_rows([{"instruction": "q", "output": "a"}]), CheckContext())


def test_registry_lists_valid_names_for_an_unknown_check() -> None:
    from playbook_lib.checks import get_check

    assert get_check("pii").name == "pii"
    with pytest.raises(
        UsageError, match=r"unknown check 'pi'; valid: chat_template, consistency, contamination, cost_model, coverage"
    ):
        get_check("pi")
