"""The ``playbook`` CLI as a user runs it: real subprocesses, exit codes, one-line errors, untouched inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from playbook_lib import sample_data
from playbook_lib.errors import ExitCode

SAMPLE = sample_data.path("heronsgate_kb.jsonl")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLAYBOOK_THREADS": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "playbook_lib", *args], capture_output=True, text=True, env=env, timeout=300
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: ExitCode, fragment: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("playbook: error:") and fragment in lines[0], result.stderr


def test_help_lists_commands_and_exit_codes() -> None:
    result = run("--help")
    assert result.returncode == 0 and "rag" in result.stdout and "Exit codes" in result.stdout
    assert run().returncode == 0
    assert "--corpus" in run("rag", "query", "--help").stdout


def test_query_json_ranks_the_answer_first() -> None:
    result = run("rag", "query", "--corpus", str(SAMPLE), "What does error E17 mean?", "-k", "3", "--format", "json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [h["rank"] for h in payload["hits"]] == [1, 2, 3]
    assert payload["hits"][0]["doc_id"] == "kb-020"


def test_query_table() -> None:
    result = run("rag", "query", "-c", str(SAMPLE), "Who runs the company?", "-k", "2")
    assert result.returncode == 0 and "kb-036" in result.stdout


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
