"""The ``playbook`` CLI: help, ``rag query`` results, one-line errors, untouched inputs.

Most runs are in-process (:func:`tests.cli.run_cli`); the first tests start the installed entry points (the
``playbook`` console script and ``python -m playbook_lib``) in a subprocess, as a user does, for what only a process
shows: its exit status and what it prints before any command runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from playbook_lib import __version__, sample_data
from playbook_lib.errors import ExitCode
from tests.cli import CliResult, assert_one_line_error, run_cli

SAMPLE = sample_data.path("heronsgate_kb.jsonl")


def run(*args: str) -> CliResult:
    return run_cli(*args, env={"PLAYBOOK_THREADS": "1", "COLUMNS": "200"})


def entry_point(*args: str | Path, module: bool = False) -> subprocess.CompletedProcess[str]:
    """``playbook ARGS`` through the installed console script, or ``python -m playbook_lib ARGS``."""
    script = shutil.which("playbook", path=str(Path(sys.executable).parent)) or "playbook"
    command = [sys.executable, "-m", "playbook_lib"] if module else [script]
    env = {**os.environ, "PLAYBOOK_THREADS": "1", "COLUMNS": "200"}
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


def test_console_script_help_version_and_no_arguments() -> None:
    result = entry_point("--help")
    assert result.returncode == 0 and "rag" in result.stdout and "Exit codes" in result.stdout, result.stderr
    version = entry_point("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"playbook {__version__}", version.stderr
    assert entry_point().returncode == 0


def test_module_entry_point_exit_codes(tmp_path: Path) -> None:
    """``python -m playbook_lib``: a failing checklist exits 2 with its summary, a usage error 3 on one line."""
    checklist = tmp_path / "small.yaml"
    checklist.write_text(
        "name: small\nitems:\n  - {id: fmt, title: formatting, check: formatting, warn: 0.0, fail: 0.5}\n",
        encoding="utf-8",
    )
    data = tmp_path / "empty_outputs.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"q{i}", "output": ""}) + "\n" for i in range(5)), "utf-8")
    failing = entry_point("check", checklist, "--data", data, module=True)
    assert failing.returncode == ExitCode.FAIL, failing.stderr
    assert "Traceback" not in failing.stderr and "overall: fail" in failing.stdout
    usage = entry_point("nosuchcommand", module=True)
    lines = [line for line in usage.stderr.splitlines() if line.strip()]
    assert usage.returncode == ExitCode.USAGE and len(lines) == 1 and "nosuchcommand" in lines[0], usage.stderr


def test_help_lists_commands_and_exit_codes() -> None:
    result = run("--help")
    assert result.code == 0 and "rag" in result.stdout and "Exit codes" in result.stdout
    assert run().code == 0
    assert "--corpus" in run("rag", "query", "--help").stdout


def test_query_json_ranks_the_answer_first() -> None:
    result = run("rag", "query", "--corpus", str(SAMPLE), "What does error E17 mean?", "-k", "3", "--format", "json")
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [h["rank"] for h in payload["hits"]] == [1, 2, 3]
    assert payload["hits"][0]["doc_id"] == "kb-020"


def test_query_table() -> None:
    result = run("rag", "query", "-c", str(SAMPLE), "Who runs the company?", "-k", "2")
    assert result.code == 0 and "kb-036" in result.stdout


def test_missing_corpus(tmp_path: Path) -> None:
    assert_one_line_error(run("rag", "query", "-c", str(tmp_path / "no.jsonl"), "q"), ExitCode.DATA, "file not found")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"text": "fine"}\n{"text": \n', "bad.jsonl:2: invalid JSON"),
        (b"", "no documents"),
        (b'{"text": "\xff\xfe"}\n', "bad.jsonl:1: not UTF-8"),
    ],
)
def test_bad_corpus_is_one_line_and_untouched(tmp_path: Path, data: bytes, fragment: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(data)
    assert_one_line_error(run("rag", "query", "-c", str(path), "q"), ExitCode.DATA, fragment)
    assert path.read_bytes() == data


def test_usage_errors() -> None:
    assert_one_line_error(run("rag", "query"), ExitCode.USAGE, "Missing")
    assert_one_line_error(run("rag", "query", "-c", str(SAMPLE), "q", "-k", "0"), ExitCode.USAGE, "-k")
    assert_one_line_error(run("nosuchcommand"), ExitCode.USAGE, "nosuchcommand")
