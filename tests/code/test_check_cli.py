"""``playbook check``, run in-process (:func:`tests.cli.run_cli`): every exit code, bad input as one line on
stderr, inputs unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from playbook_lib import sample_data
from playbook_lib.errors import ExitCode
from tests.cli import CliResult, assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[2]
READINESS = ROOT / "checklists" / "dataset_readiness.yaml"
SAMPLE = sample_data.path("sft_sample.jsonl")
SAMPLE_EVAL = sample_data.path("sft_eval.jsonl")
SAMPLE_TRAFFIC = sample_data.path("sft_traffic.jsonl")

SMALL = """\
name: small
items:
  - id: fmt
    title: formatting
    check: formatting
    warn: 0.0
    fail: 0.5
"""


def run(*args: str | Path) -> CliResult:
    return run_cli("check", *args, env={"PLAYBOOK_THREADS": "1"})


def digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def write_rows(path: Path, outputs: list[str]) -> Path:
    path.write_text(
        "".join(json.dumps({"instruction": f"q{i}", "output": o}) + "\n" for i, o in enumerate(outputs)),
        encoding="utf-8",
    )
    return path


def test_sample_data_fails_the_readiness_checklist_with_reports(tmp_path: Path) -> None:
    before = digest(SAMPLE, SAMPLE_EVAL, SAMPLE_TRAFFIC, READINESS)
    out1, out2, junit, page = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "r.xml", tmp_path / "r.html"
    result = run(READINESS, "--data", SAMPLE, "--eval", SAMPLE_EVAL, "--json", out1, "--junit", junit, "--html", page)
    assert result.code == ExitCode.FAIL, result.stderr
    assert "Traceback" not in result.stderr and "overall: fail" in result.stdout
    report = json.loads(out1.read_text(encoding="utf-8"))
    outcomes = {item["id"]: item["outcome"] for item in report["items"]}
    assert outcomes["quality.compliance.pii"] == "fail" and outcomes["split.contamination"] == "fail"
    assert outcomes["quality.uniqueness.exact"] in ("warn", "fail")
    assert outcomes["coverage"] == "not_evaluated"  # no --traffic given
    covered = tmp_path / "c.json"
    run(READINESS, "--data", SAMPLE, "--traffic", SAMPLE_TRAFFIC, "--json", covered, "--quiet")
    coverage = next(i for i in json.loads(covered.read_text())["items"] if i["id"] == "coverage")
    assert coverage["outcome"] == "fail" and coverage["summary"]["missing_slices"] == ["billing"]
    assert report["data"]["train"]["skipped_rows"] == 3
    assert "jane.doe@heronsgate-instruments.com" not in out1.read_text() + result.stdout
    assert junit.read_text(encoding="utf-8").startswith("<?xml")
    html_text = page.read_text(encoding="utf-8")
    assert (
        "quality.compliance.pii" in html_text
        and "[EMAIL]" in html_text
        and "jane.doe@heronsgate-instruments.com" not in html_text
    )
    assert html_text.count("<script") == 1  # only the page's own table sorter (see test_report_html.py)
    run(READINESS, "--data", SAMPLE, "--eval", SAMPLE_EVAL, "--json", out2, "--quiet")
    assert out1.read_bytes() == out2.read_bytes()  # same inputs, same report
    assert digest(SAMPLE, SAMPLE_EVAL, SAMPLE_TRAFFIC, READINESS) == before


def test_exit_codes_pass_warn_fail(small: Path, tmp_path: Path) -> None:
    clean = write_rows(tmp_path / "clean.jsonl", ["a"] * 10)
    one_empty = write_rows(tmp_path / "warn.jsonl", ["a"] * 9 + [""])
    mostly_empty = write_rows(tmp_path / "fail.jsonl", [""] * 9 + ["a"])
    assert run(small, "--data", clean).code == ExitCode.OK
    assert run(small, "--data", clean, "--fail-on", "warn").code == ExitCode.OK
    assert run(small, "--data", one_empty).code == ExitCode.OK
    assert run(small, "--data", one_empty, "--fail-on", "warn").code == ExitCode.WARN
    assert run(small, "--data", mostly_empty).code == ExitCode.FAIL
    assert run(small, "--data", mostly_empty, "--fail-on", "warn").code == ExitCode.FAIL


@pytest.mark.parametrize(
    ("yaml_text", "fragment"),
    [
        ("name: x\nitems:\n  - id: a\n   title: bad\n", "bad.yaml:4: malformed YAML"),
        ("name: x\nitems:\n  - id: a\n    title: t\n    check: nope\n", "bad.yaml:5: unknown check 'nope'; valid:"),
        (
            "name: x\nitems:\n  - id: a\n    title: t\n    check: formatting\n    fail: lots\n",
            "bad.yaml:6: formatting.fail must be",
        ),
        (
            "name: x\nitems:\n  - id: a\n    title: t\n    check: quantity\n    method: huge\n",
            "unknown quantity method",
        ),
        (
            "name: x\nitems:\n  - id: a\n    title: t\n    check: near_duplicates\n    threshold: 1.5\n",
            "bad.yaml:3: near_duplicates: threshold must be in (0, 1]",
        ),
        ("- a\n- b\n", "bad.yaml:1: a checklist must be a mapping"),
    ],
)
def test_bad_checklists_are_usage_errors(tmp_path: Path, yaml_text: str, fragment: str) -> None:
    checklist = tmp_path / "bad.yaml"
    checklist.write_text(yaml_text, encoding="utf-8")
    data = write_rows(tmp_path / "d.jsonl", ["a"])
    before = digest(checklist, data)
    assert_one_line_error(run(checklist, "--data", data), ExitCode.USAGE, fragment)
    assert digest(checklist, data) == before


def test_usage_errors(small: Path, tmp_path: Path) -> None:
    data = write_rows(tmp_path / "d.jsonl", ["a"])
    assert_one_line_error(run(tmp_path / "none.yaml", "--data", data), ExitCode.USAGE, "checklist file not found")
    assert_one_line_error(run(small, "--data", data, "--fail-on", "never"), ExitCode.USAGE, "--fail-on")
    assert_one_line_error(run(small), ExitCode.USAGE, "--data")
    assert_one_line_error(run(small, "--data", data, "--format", "xml"), ExitCode.USAGE, "unknown data format 'xml'")
    assert_one_line_error(
        run(small, "--data", data, "--json", "/proc/no/such/r.json"), ExitCode.USAGE, "cannot write the report"
    )


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.jsonl", b"", "no records found"),
        ("blank.jsonl", b"\n\n  \n", "no records found"),
        (
            "latin1.jsonl",
            b'{"instruction": "ok", "output": "a"}\n{"instruction": "caf\xe9", "output": "b"}\n',
            "latin1.jsonl:2: not UTF-8",
        ),
        (
            "truncated.json",
            b'[{"instruction": "a", "output": "b"}, {"instruction": "c", "out',
            "truncated.json:1: invalid JSON",
        ),
        ("garbage.jsonl", b"not json\n{broken\n", "no records found (2 unreadable rows, first:"),
        ("data.parquet", b"PAR1 not really parquet", "not a readable Parquet file"),
    ],
)
def test_bad_data_is_a_data_error(small: Path, tmp_path: Path, name: str, content: bytes, fragment: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert_one_line_error(run(small, "--data", path), ExitCode.DATA, fragment)
    assert path.read_bytes() == content


def test_missing_data_and_eval_files(small: Path, tmp_path: Path) -> None:
    data = write_rows(tmp_path / "d.jsonl", ["a"])
    assert_one_line_error(run(small, "--data", tmp_path / "missing.jsonl"), ExitCode.DATA, "file not found")
    empty = tmp_path / "empty"
    empty.mkdir()  # a folder of shards with none in it (tmp_path itself holds d.jsonl: a valid folder of shards)
    assert_one_line_error(run(small, "--data", empty), ExitCode.DATA, "is a folder with no data file")
    assert_one_line_error(run(small, "--data", data, "--eval", tmp_path), ExitCode.DATA, "is a folder, expected a")
    assert_one_line_error(
        run(small, "--data", data, "--eval", tmp_path / "no_eval.jsonl"), ExitCode.DATA, "no_eval.jsonl: file not found"
    )


def test_truncated_jsonl_line_is_skipped_and_reported(small: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b'{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}\n{"instruction": "e", "ou'
    )
    out = tmp_path / "r.json"
    result = run(small, "--data", path, "--json", out, "--quiet")
    assert result.code == ExitCode.OK and "Traceback" not in result.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["data"]["train"]["skipped"] == [
        f"{path}:3: invalid JSON (Unterminated string starting at; column 22)"
    ]
    assert report["items"][0]["outcome"] == "warn"  # 1 of 3 rows unreadable: above warn 0, below fail 0.5
