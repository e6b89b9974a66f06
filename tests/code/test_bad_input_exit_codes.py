"""Bad-input suite, classes 6 and 7 of issue 12: the documented exit code every time, and quiet means quiet.

* One function decides the final code (:func:`playbook_lib.errors.final_code`); a table written out by hand gives
  the code for every pair of outcomes a run can have, with and without ``--fail-on warn``.
* An internal error (an exception that is not bad input) is one masked line naming it, exit code 5, and a traceback
  only with ``PLAYBOOK_DEBUG=1``; Ctrl-C is 130 and one line; a closed stdout (``| head -1``) is quiet.
* A data file that cannot be read (a FIFO, a device, a symlink loop, a path below a file, no permission) is a data
  error, 4, for every command; the same for a configuration file is 3. Hostile ``PLAYBOOK_*`` values are 3.
* With stderr captured (not a terminal), every command that succeeds on a tiny input prints nothing on stderr: no
  progress bar, no warning; with ``-q`` not even on a terminal.

Every input is generated here, in ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playbook_lib import sample_data
from playbook_lib.checklist.parse import ChecklistSpec, ItemSpec
from playbook_lib.checklist.run import ItemResult, Report, exit_code, outcome_code
from playbook_lib.checks import CheckResult, Outcome
from playbook_lib.errors import ExitCode, final_code
from tests.cli import SECRETS, CliResult, assert_no_secret, assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[2]
MODEL_CHECKLIST = ROOT / "checklists" / "model_readiness.yaml"
SMALL = "name: small\nitems:\n  - id: fmt\n    title: formatting\n    check: formatting\n    warn: 0.0\n    fail: 0.5\n"

# ---------------------------------------------------------------- one function decides: the precedence table

#: What can happen in one run. The first four are a checklist item's outcome (their code depends on --fail-on),
#: the rest errors that end the run.
KINDS = ("pass", "warn", "not_evaluated", "fail", "usage", "data", "internal")

#: The final code for each pair (row kind, column kind), written out by hand from the README's table; columns in
#: the order of KINDS.
TABLE = {
    "fail": """
        pass          0 0 0 2 3 4 5
        warn          0 0 0 2 3 4 5
        not_evaluated 0 0 0 2 3 4 5
        fail          2 2 2 2 3 4 5
        usage         3 3 3 3 3 4 5
        data          4 4 4 4 4 4 5
        internal      5 5 5 5 5 5 5
    """,
    "warn": """
        pass          0 1 1 2 3 4 5
        warn          1 1 1 2 3 4 5
        not_evaluated 1 1 1 2 3 4 5
        fail          2 2 2 2 3 4 5
        usage         3 3 3 3 3 4 5
        data          4 4 4 4 4 4 5
        internal      5 5 5 5 5 5 5
    """,
}
ERRORS = {"usage": ExitCode.USAGE, "data": ExitCode.DATA, "internal": ExitCode.INTERNAL}


def _table(fail_on: str) -> dict[tuple[str, str], int]:
    out = {}
    for line in TABLE[fail_on].strip().splitlines():
        row, *codes = line.split()
        assert len(codes) == len(KINDS)
        out |= {(row, col): int(code) for col, code in zip(KINDS, codes, strict=True)}
    return out


def _code(kind: str, fail_on: str) -> int:
    return int(ERRORS[kind]) if kind in ERRORS else int(outcome_code(Outcome(kind), fail_on))


def _report(*outcomes: str) -> Report:
    spec = ChecklistSpec(name="t", description="", items=[])
    empty = np.zeros(0)
    items = [
        ItemResult(
            ItemSpec(id=f"i{n}", title="t", check="formatting"),
            CheckResult("formatting", Outcome(o), "m", empty, empty, {}),
            0.0,
        )
        for n, o in enumerate(outcomes)
    ]
    return Report(spec, items)


@pytest.mark.parametrize("fail_on", ["fail", "warn"])
def test_every_pair_of_outcomes_gets_the_documented_code(fail_on: str) -> None:
    table = _table(fail_on)
    assert len(table) == len(KINDS) ** 2
    for (a, b), expected in table.items():
        assert final_code(_code(a, fail_on), _code(b, fail_on)) == expected, (a, b, fail_on)
        assert final_code(_code(b, fail_on), _code(a, fail_on)) == expected, (b, a, fail_on)  # order never matters
        checks = [k for k in (a, b) if k not in ERRORS]
        errors = [int(ERRORS[k]) for k in (a, b) if k in ERRORS]
        assert exit_code(_report(*checks), fail_on, *errors) == expected, (a, b, fail_on)


def test_no_outcome_is_success_and_codes_are_documented() -> None:
    assert final_code() == ExitCode.OK and exit_code(_report()) == ExitCode.OK
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5, 130, 141]
    import playbook_lib.errors as errors

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"\n{int(code)} " in errors.__doc__, code  # the module docstring's table
        assert f"| {int(code)} |" in readme, code  # the README's table


def _rows(path: Path, outputs: list[str]) -> Path:
    path.write_text(
        "".join(json.dumps({"instruction": f"q{i}", "output": o}) + "\n" for i, o in enumerate(outputs)),
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_pairs_that_meet_in_one_cli_run(small: Path, tmp_path: Path) -> None:
    """The pairs a real run can hit at once: checks that would fail with a bad report path (3 beats 2), a bad report
    path with an unreadable data file (4 beats 3), failures and warnings under --fail-on warn (2 beats 1)."""
    failing = _rows(tmp_path / "fail.jsonl", [""] * 9 + ["a"])
    warning = _rows(tmp_path / "warn.jsonl", ["a"] * 9 + [""])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert run_cli("check", small, "--data", failing, "-q").code == ExitCode.FAIL
    assert run_cli("check", small, "--data", failing, "-q", "--fail-on", "warn").code == ExitCode.FAIL
    assert run_cli("check", small, "--data", warning, "-q", "--fail-on", "warn").code == ExitCode.WARN
    assert run_cli("check", small, "--data", warning, "-q").code == ExitCode.OK
    assert_one_line_error(run_cli("check", small, "--data", failing, "-q", "--json", tmp_path), ExitCode.USAGE)
    assert_one_line_error(run_cli("check", small, "--data", fifo, "-q", "--json", tmp_path), ExitCode.DATA, "fifo")
    assert_one_line_error(run_cli("check", small, "--data", fifo, "-q", "--json", failing), ExitCode.DATA)


# ---------------------------------------------------------------- internal errors, Ctrl-C, a closed stdout


PLANTED = f"unexpected state near {SECRETS[4]} and {SECRETS[2]}\nsecond line"


def _raise(exc: BaseException):  # noqa: ANN202 - a stand-in for any library function
    def boom(*args: object, **kwargs: object) -> None:
        raise exc

    return boom


def _commands(tmp_path: Path, small: Path) -> dict[str, tuple[list[str | Path], str, str]]:
    """Per command: its argv on tiny valid input, and a library function it calls (module, attribute), named where
    the command looks it up."""
    from playbook_lib.ops.feedback import FeedbackEntry, FeedbackLog

    data = _rows(tmp_path / "d.jsonl", ["a", "b"])
    corpus = tmp_path / "kb.jsonl"
    corpus.write_text('{"_id": "d1", "text": "the probe resets"}\n', encoding="utf-8")
    log = FeedbackLog(tmp_path / "fb.jsonl")
    log.append(FeedbackEntry("q one", "a [d1]", ["d1"], ["d1"], rating=5))
    evals = sample_data.path("model_evals.jsonl")
    return {
        "check": (["check", small, "--data", data, "-q"], "playbook_lib.checklist.stream", "run_checklist_batched"),
        "check memory": (
            ["check", small, "--data", data, "-q", "--engine", "memory"],
            "playbook_lib.checklist.run",
            "run_checklist",
        ),
        "rag query": (["rag", "query", "-c", corpus, "probe"], "playbook_lib.cli", "load_corpus"),
        "rag eval": (["rag", "eval", tmp_path, "-m", "bm25"], "playbook_lib.cli", "load_beir"),
        "promote": (
            ["rag", "feedback", "promote", log.path, "--out", tmp_path / "g.jsonl"],
            "playbook_lib.cli",
            "promote",
        ),
        "decide model": (
            [
                "decide",
                "model",
                "--profile",
                sample_data.path("requirements_profile.yaml"),
                "--catalog",
                sample_data.path("model_catalog.yaml"),
            ],
            "playbook_lib.decide.select",
            "select_models",
        ),
        "decide next": (
            ["decide", "next", "--evals", evals, "--model", "open-weights-8b"],
            "playbook_lib.cli",
            "recommend",
        ),
    }


def _assert_internal(result: CliResult, debug: bool) -> None:
    assert result.code == ExitCode.INTERNAL, (result.code, result.stderr)
    lines = result.error_lines
    first = lines[0]
    assert first.startswith("playbook: internal error: RuntimeError: unexpected state near"), first
    assert "second line" in first and "(set PLAYBOOK_DEBUG=1 for the traceback)" in first
    assert_no_secret(CliResult(result.code, result.stdout, first))  # the one line is masked
    if debug:
        assert "Traceback (most recent call last)" in result.stderr and len(lines) > 1
    else:
        assert len(lines) == 1 and "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_is_one_masked_line_with_its_own_code(
    small: Path, tmp_path: Path, debug: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    env = {"PLAYBOOK_DEBUG": "1" if debug else "0"}
    for argv, module, attribute in _commands(tmp_path, small).values():
        with monkeypatch.context() as m:
            m.setattr(importlib.import_module(module), attribute, _raise(RuntimeError(PLANTED)))
            _assert_internal(run_cli(*argv, env=env), debug)


def test_a_check_that_raises_is_an_internal_error_not_a_pass(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playbook_lib.checks import get_check

    for engine, step in (("memory", "run"), ("local", "finish")):  # the whole-frame run, the batched global step
        with monkeypatch.context() as m:
            m.setattr(get_check("formatting"), step, _raise(RuntimeError(PLANTED)))
            report = tmp_path / f"r-{engine}.json"
            argv = ("check", small, "--data", _rows(tmp_path / "d.jsonl", ["a"]), "--json", report, "--engine", engine)
            _assert_internal(run_cli(*argv), debug=False)
        assert not report.exists()  # no report that looks like a pass


def test_ctrl_c_is_130_and_one_line(small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    for name, (argv, module, attribute) in _commands(tmp_path, small).items():
        with monkeypatch.context() as m:
            m.setattr(importlib.import_module(module), attribute, _raise(KeyboardInterrupt()))
            result = run_cli(*argv)
        assert result.code == ExitCode.INTERRUPTED == 130, (name, result.stderr)
        assert result.error_lines == ["playbook: interrupted"], (name, result.stderr)


def test_a_closed_stdout_is_a_quiet_exit(tmp_path: Path) -> None:
    """``playbook decide model ... | head -1``: the reader is gone before anything is printed; no traceback, no
    'Exception ignored' at exit, exit code 141."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        argv = [
            "decide",
            "model",
            "--profile",
            str(sample_data.path("requirements_profile.yaml")),
            "--catalog",
            str(sample_data.path("model_catalog.yaml")),
        ]
        for extra in ([], ["--json"]):
            proc = subprocess.run(
                [sys.executable, "-m", "playbook_lib", *argv, *extra],
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
                cwd=ROOT,
            )
            assert proc.returncode == ExitCode.BROKEN_PIPE, proc.stderr
            assert proc.stderr == "", proc.stderr
    finally:
        os.close(write_end)


# ---------------------------------------------------------------- unreadable inputs: 4 for data, 3 for configuration


def _unreadable(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Paths that exist (or look as if) but cannot be read as a file, each with a fragment of its message."""
    fifo = tmp_path / "bad" / "fifo.jsonl"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    regular = tmp_path / "bad" / "file"
    regular.write_text("x", encoding="utf-8")
    loop = tmp_path / "bad" / "loop.jsonl"
    loop.symlink_to(loop)
    return {
        "fifo": (fifo, "not a regular file"),
        "device": (Path(os.devnull), "not a regular file"),
        "loop": (loop, "Too many levels of symbolic links"),
        "below a file": (regular / "d.jsonl", "Not a directory"),
    }


def test_an_unreadable_data_file_is_a_data_error_for_every_command(small: Path, tmp_path: Path) -> None:
    data = _rows(tmp_path / "d.jsonl", ["a"])
    plan = sample_data.path("model_plan.yaml")
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n', encoding="utf-8")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n", encoding="utf-8")
    for kind, (bad, fragment) in _unreadable(tmp_path).items():
        (beir / "queries.jsonl").unlink(missing_ok=True)
        if kind in ("fifo", "loop"):  # a special file inside a BEIR folder, where rag eval reads it
            (beir / "queries.jsonl").symlink_to(bad)
        commands = [
            ["check", small, "--data", bad],
            ["check", small, "--data", data, "--eval", bad],
            ["check", small, "--data", data, "--traffic", bad],
            ["check", small, "--data", data, "--golden", bad],
            ["check", MODEL_CHECKLIST, "--plan", plan, "--evals", bad],
            ["rag", "query", "-c", bad, "q"],
            ["rag", "feedback", "promote", bad, "--out", tmp_path / "g.jsonl"],
            ["decide", "next", "--evals", bad],
        ]
        if kind in ("fifo", "loop"):
            commands.append(["rag", "eval", beir, "-m", "bm25"])
        for argv in commands:
            result = run_cli(*argv)
            assert_one_line_error(result, ExitCode.DATA, fragment)
        assert not (tmp_path / "g.jsonl").exists()


def test_an_unreadable_configuration_file_is_a_usage_error(small: Path, tmp_path: Path) -> None:
    data = _rows(tmp_path / "d.jsonl", ["a"])
    evals = sample_data.path("model_evals.jsonl")
    profile, catalog = sample_data.path("requirements_profile.yaml"), sample_data.path("model_catalog.yaml")
    for bad, fragment in _unreadable(tmp_path).values():
        for argv in (
            ["check", bad, "--data", data],
            ["check", MODEL_CHECKLIST, "--plan", bad, "--evals", evals],
            ["decide", "model", "--profile", bad, "--catalog", catalog],
            ["decide", "model", "--profile", profile, "--catalog", bad],
        ):
            assert_one_line_error(run_cli(*argv), ExitCode.USAGE, fragment)


def test_a_data_file_without_read_permission_is_a_data_error(small: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("runs as root, which reads files whatever their mode (no permission error to provoke)")
    data = _rows(tmp_path / "d.jsonl", ["a"])
    data.chmod(0)
    try:
        for argv in (
            ["check", small, "--data", data],
            ["decide", "next", "--evals", data],
            ["rag", "query", "-c", data, "q"],
        ):
            assert_one_line_error(run_cli(*argv), ExitCode.DATA, "Permission denied")
    finally:
        data.chmod(0o644)


# ---------------------------------------------------------------- hostile environment values


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PLAYBOOK_THREADS", "abc"),
        ("PLAYBOOK_THREADS", "-3"),
        ("PLAYBOOK_THREADS", "0"),
        ("PLAYBOOK_THREADS", "9" * 5000),
        ("PLAYBOOK_THREADS", "1.5"),
        ("PLAYBOOK_NATIVE", "yes"),
        ("PLAYBOOK_REGEX", "pcre"),
    ],
)
def test_a_hostile_environment_value_is_a_usage_error(small: Path, tmp_path: Path, name: str, value: str) -> None:
    for command, (argv, _, _) in _commands(tmp_path, small).items():
        result = run_cli(*argv, env={name: value})
        assert_one_line_error(result, ExitCode.USAGE, name)
        assert len(result.stderr) < 400, (command, result.stderr)  # a huge value is not echoed whole


def test_hostile_threads_options_and_model_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "kb.jsonl"
    corpus.write_text('{"_id": "d1", "text": "x"}\n', encoding="utf-8")
    for threads in ("-3", "0", "abc"):
        assert_one_line_error(
            run_cli("rag", "query", "-c", corpus, "q", "--threads", threads), ExitCode.USAGE, "--threads"
        )
    result = run_cli("rag", "query", "-c", corpus, "q", env={"PLAYBOOK_EMBEDDING_MODEL": str(tmp_path / "none")})
    assert_one_line_error(result, ExitCode.USAGE, "PLAYBOOK_EMBEDDING_MODEL")


# ---------------------------------------------------------------- quiet means quiet


def _quiet_commands(tmp_path: Path, small: Path) -> dict[str, list[str | Path]]:
    """Every command on a tiny valid input on which it succeeds; rag query embeds more documents than the
    threshold above which a progress bar used to be drawn."""
    from playbook_lib.embeddings.model import PROGRESS_THRESHOLD
    from playbook_lib.ops.feedback import FeedbackEntry, FeedbackLog

    corpus = tmp_path / "kb.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"_id": f"d{i}", "text": f"note {i}: the probe resets after {i} s"}) + "\n"
            for i in range(PROGRESS_THRESHOLD + 20)
        ),
        encoding="utf-8",
    )
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    shutil.copyfile(corpus, beir / "corpus.jsonl")
    (beir / "queries.jsonl").write_text('{"_id": "q1", "text": "probe resets after 7 s"}\n', encoding="utf-8")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td7\t1\n", encoding="utf-8")
    log = FeedbackLog(tmp_path / "fb.jsonl")
    log.append(FeedbackEntry("q one", "a [d1]", ["d1"], ["d1"], rating=5))
    plan, evals = sample_data.path("model_plan.yaml"), sample_data.path("model_evals.jsonl")
    return {
        "check dataset": [
            "check",
            small,
            "--data",
            _rows(tmp_path / "d.jsonl", ["a", "b"]),
            "--json",
            tmp_path / "r.json",
            "--html",
            tmp_path / "r.html",
        ],
        "check model": ["check", MODEL_CHECKLIST, "--plan", plan, "--evals", evals, "--junit", tmp_path / "r.xml"],
        "rag query": ["rag", "query", "-c", corpus, "how long until the probe resets?", "-k", "2"],
        "rag eval": ["rag", "eval", beir, "-m", "bm25"],
        "promote": ["rag", "feedback", "promote", log.path, "--out", tmp_path / "g.jsonl"],
        "decide model": [
            "decide",
            "model",
            "--profile",
            sample_data.path("requirements_profile.yaml"),
            "--catalog",
            sample_data.path("model_catalog.yaml"),
        ],
        "decide next": [
            "decide",
            "next",
            "--evals",
            evals,
            "--model",
            "open-weights-8b",
            "--log",
            tmp_path / "decisions.jsonl",
        ],
    }


def test_stderr_is_empty_on_success_when_it_is_not_a_terminal(small: Path, tmp_path: Path) -> None:
    for name, argv in _quiet_commands(tmp_path, small).items():
        result = run_cli(*argv)
        assert result.code == ExitCode.OK, (name, result.code, result.stderr)
        assert result.stderr == "", (name, result.stderr[-2000:])
        assert result.stdout.strip(), name  # the results still go to stdout


def test_dash_q_silences_progress_bars_even_on_a_terminal(small: Path, tmp_path: Path) -> None:
    commands = _quiet_commands(tmp_path, small)
    for name in ("check dataset", "rag query"):
        result = run_cli(*commands[name], "-q", terminal=True)
        assert result.code == ExitCode.OK, (name, result.stderr)
        assert result.stderr == "", (name, result.stderr[-2000:])


def test_output_the_terminal_cannot_encode_is_escaped_not_a_crash(tmp_path: Path) -> None:
    """An ASCII-only stdout (``PYTHONIOENCODING=ascii``, an old CI runner) and a non-ASCII name in a rich table: the
    character is escaped (rich alone raises UnicodeEncodeError)."""
    beir = tmp_path / "beir-café"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text('{"_id": "d1", "text": "the probe resets"}\n', encoding="utf-8")
    (beir / "queries.jsonl").write_text('{"_id": "q1", "text": "probe resets"}\n', encoding="utf-8")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "playbook_lib", "rag", "eval", str(beir), "-m", "bm25"],
        capture_output=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert proc.stderr == b"" and b"beir-caf\\xe9" in proc.stdout, proc.stdout
