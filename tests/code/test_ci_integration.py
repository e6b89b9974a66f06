"""The CI gate of README "Use it in your CI": the GitHub Action (``action.yml``), its job summary
(``.github/playbook_ci_summary.py``) and the pre-commit hooks (``.pre-commit-hooks.yaml``).

Nothing here needs GitHub or pre-commit. The action's own shell script, taken from ``action.yml``, runs under bash
as the runner starts it (``bash --noprofile --norc -eo pipefail``), once with a stub ``playbook`` that records its
argv and once with the real console script on real data (GSM8K test from ``../shared/data`` with planted
duplicates). Every option the action, the hooks and the README's snippets pass is checked against the real
``playbook check`` command's parameters (Typer's click command), so an option that is renamed or removed fails here.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from playbook_lib.cli import app
from playbook_lib.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
SUMMARY = ROOT / ".github" / "playbook_ci_summary.py"
README = ROOT / "README.md"
DEFAULT_CHECKLIST = ROOT / "checklists" / "dataset_readiness.yaml"
DIST = "data-models-playbook"

#: Options the action passes that this CLI may lack (none now: --validation, --licence, --strict and --flags have
#: landed); the action must keep working without an option whose input is empty (it adds nothing).
PENDING_OPTIONS: set[str] = set()

#: The keys a step of a composite action may have (GitHub's metadata syntax for composite actions).
STEP_KEYS = {"id", "if", "name", "continue-on-error", "env", "run", "shell", "working-directory", "uses", "with"}

#: The keys of a hook in a pre-commit manifest (pre-commit's MANIFEST_HOOK_DICT) and the languages it knows.
HOOK_KEYS = {
    "id", "name", "entry", "language", "alias", "files", "exclude", "types", "types_or", "exclude_types",
    "additional_dependencies", "args", "always_run", "fail_fast", "pass_filenames", "description",
    "language_version", "log_file", "minimum_pre_commit_version", "require_serial", "stages", "verbose",
}  # fmt: skip
HOOK_LANGUAGES = {
    "conda", "coursier", "dart", "docker", "docker_image", "dotnet", "fail", "golang", "haskell", "julia", "lua",
    "node", "perl", "pygrep", "python", "r", "ruby", "rust", "script", "swift", "system", "unsupported",
    "unsupported_script",
}  # fmt: skip


# --------------------------------------------------------------------------------------------------------------------
# helpers


def action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def hooks() -> list[dict[str, Any]]:
    data = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert isinstance(data, list) and data
    return data


def step(name_or_id: str) -> dict[str, Any]:
    for s in action()["runs"]["steps"]:
        if name_or_id in (s.get("id"), s.get("name")):
            return s
    raise AssertionError(f"no step {name_or_id!r} in action.yml")


def check_params() -> dict[str, bool]:
    """Every option string of the real ``playbook check`` -> whether it is a flag (takes no value)."""
    group = typer.main.get_command(app)
    command = group.commands["check"]  # type: ignore[attr-defined]
    options: dict[str, bool] = {}
    for param in command.params:
        if param.param_type_name == "option":
            for opt in [*param.opts, *param.secondary_opts]:
                options[opt] = bool(getattr(param, "is_flag", False))
    return options


def parse_check_argv(argv: list[str], pending: Collection[str] = ()) -> dict[str, str | bool]:
    """``argv`` (after ``check``) read as the real command reads it: option -> value (``True`` for a flag), plus
    ``CHECKLIST``. An unknown option (outside ``pending``), an empty value or a value that is an option fails."""
    params = check_params()
    parsed: dict[str, str | bool] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        assert token != "", f"an empty argument in {argv}"
        if token.startswith("-"):
            if token in params:
                flag = params[token]
            else:
                assert token in pending, f"{token} is not an option of playbook check ({sorted(params)})"
                flag = token == "--strict"
            if flag:
                parsed[token] = True
                i += 1
                continue
            assert i + 1 < len(argv), f"{token} has no value in {argv}"
            value = argv[i + 1]
            assert value != "" and not value.startswith("--"), f"{token} is given {value!r} in {argv}"
            parsed[token] = value
            i += 2
        else:
            assert "CHECKLIST" not in parsed, f"two positional arguments in {argv}"
            parsed["CHECKLIST"] = token
            i += 1
    return parsed


def input_defaults() -> dict[str, str]:
    """Each input's default as the runner passes it (a string; an input without a default is empty)."""
    return {name: str(spec.get("default", "")) for name, spec in action()["inputs"].items()}


def check_env(inputs: dict[str, str]) -> dict[str, str]:
    """The environment the runner gives the check step for ``inputs``: its ``env:`` with ``${{ inputs.x }}``
    replaced by the input's value (and nothing else in it is an expression)."""
    env = {}
    for key, value in step("check")["env"].items():
        m = re.fullmatch(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", str(value))
        env[key] = inputs[m.group(1)] if m else str(value)
        assert m or "${{" not in str(value), value
    return env


def run_check_step(
    tmp_path: Path, inputs: dict[str, str], playbook: Path | None = None, stub_code: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[str] | None, dict[str, str]]:
    """Run the check step's script in ``tmp_path`` as the runner would (workspace = ``tmp_path``, the action's
    folder = this repository). ``playbook=None``: a stub that records its argv and exits ``stub_code``.

    Returns the finished process, the argv ``playbook`` got (``None`` if it never ran) and the step's outputs."""
    bindir = Path(tempfile.mkdtemp(prefix="bin", dir=tmp_path))
    (bindir / "python").symlink_to(sys.executable)
    argv_file = bindir / "argv"
    if playbook is None:
        stub = bindir / "playbook"
        stub.write_text(
            '#!/usr/bin/env bash\nprintf \'%s\\0\' "$@" > "$STUB_ARGV"\nexit "$STUB_CODE"\n', encoding="utf-8"
        )
        stub.chmod(0o755)
    else:
        (bindir / "playbook").symlink_to(playbook)
    script = bindir / "check-step.sh"
    script.write_text(step("check")["run"], encoding="utf-8")
    outputs = bindir / "github_output"
    outputs.write_text("", encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))},
        **check_env(inputs),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_WORKSPACE": str(tmp_path),
        "STUB_ARGV": str(argv_file),
        "STUB_CODE": str(stub_code),
        "PLAYBOOK_THREADS": "1",
    }
    shell = step("check")["shell"]
    assert shell == "bash"
    # `shell: bash` is `bash --noprofile --norc -eo pipefail {0}` on the runner
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    argv = argv_file.read_text(encoding="utf-8").split("\0")[:-1] if argv_file.exists() else None
    outs = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines() if "=" in line)
    return done, argv, outs


def ci_section() -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"^## Use it in your CI\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert m, "README has no '## Use it in your CI' section"
    return m.group(1)


def yaml_blocks(text: str) -> list[Any]:
    return [yaml.safe_load(block) for block in re.findall(r"^```yaml\n(.*?)^```", text, flags=re.S | re.M)]


# --------------------------------------------------------------------------------------------------------------------
# the action's metadata


def test_the_action_is_a_composite_action_of_known_steps() -> None:
    a = action()
    assert a["name"] and a["description"]
    assert a["runs"]["using"] == "composite"
    steps = a["runs"]["steps"]
    for s in steps:
        assert set(s) <= STEP_KEYS, (s.get("name"), set(s) - STEP_KEYS)
        assert ("run" in s) != ("uses" in s), s.get("name")
        if "run" in s:
            assert s.get("shell") == "bash", f"a composite run step needs a shell: {s.get('name')}"
    uses = [s["uses"] for s in steps if "uses" in s]
    assert uses == ["actions/setup-python@v5", "actions/upload-artifact@v4"]
    for name, spec in a["inputs"].items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*", name), name
        assert spec.get("description"), name
    assert a["inputs"]["data"].get("required") is True


def test_every_input_the_action_reads_is_declared_and_every_declared_input_is_read() -> None:
    a = action()
    text = yaml.safe_dump(a["runs"]) + yaml.safe_dump(a.get("outputs", {}))
    read = set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text))
    assert read == set(a["inputs"]), read ^ set(a["inputs"])
    ids = {s.get("id") for s in a["runs"]["steps"]}
    for sid, _ in re.findall(r"\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", text):
        assert sid in ids, sid


def test_the_check_step_reads_exactly_the_variables_it_is_given() -> None:
    s = step("check")
    given = {k for k in s["env"] if k.startswith("INPUT_")}
    used = set(re.findall(r"\$\{?(INPUT_[A-Z_]+)", s["run"]))
    assert used == given, used ^ given


def test_no_run_script_pastes_an_expression() -> None:
    """Inputs reach scripts through ``env:`` only: ``${{ inputs.x }}`` inside ``run:`` would run a value as code
    (and the script this file runs would not be the one the runner runs)."""
    for s in action()["runs"]["steps"]:
        assert "${{" not in s.get("run", ""), s.get("name")


def test_the_reports_are_uploaded_and_summarised_even_when_the_check_fails() -> None:
    """A failed check fails its step; the later steps still run (``!cancelled()``), and the step summary and the
    artifact read the check step's outputs."""
    steps = action()["runs"]["steps"]
    names = [s.get("id") or s.get("name") for s in steps]
    assert names.index("check") < names.index("Upload the reports")
    upload, summarise = step("Upload the reports"), step("Summarise the checklist")
    for s in (upload, summarise):
        assert "!cancelled()" in s["if"], s["if"]
        assert "continue-on-error" not in s
    assert upload["with"]["path"] == "${{ steps.check.outputs.report-dir }}"
    assert upload["with"]["name"] == "${{ inputs.artifact-name }}"
    assert "continue-on-error" not in step("check"), "the check's failure must fail the action"
    assert action()["outputs"]["exit-code"]["value"] == "${{ steps.check.outputs.exit-code }}"


def test_the_install_step_pins_torch_first_from_the_cpu_index() -> None:
    s = step("Install the playbook")
    lines = [line.strip() for line in s["run"].splitlines()]
    torch = next(i for i, line in enumerate(lines) if "torch==" in line)
    package = next(i for i, line in enumerate(lines) if "PLAYBOOK_PACKAGE" in line and "pip" in line)
    assert torch < package
    assert "--index-url" in lines[torch]
    defaults = input_defaults()
    assert any(re.match(r"torch\b", dep) for dep in importlib.metadata.requires(DIST) or [])
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert f"torch=={defaults['torch-version']}" in constraints.splitlines(), "the action's torch is the project's pin"
    assert defaults["torch-index-url"] == "https://download.pytorch.org/whl/cpu"


# --------------------------------------------------------------------------------------------------------------------
# the check step's script, run


def test_empty_optional_inputs_add_no_option(tmp_path: Path) -> None:
    inputs = {name: "" for name in input_defaults()}
    inputs["data"] = "data/train.jsonl"
    done, argv, outs = run_check_step(tmp_path, inputs)
    assert done.returncode == 0, done.stdout + done.stderr
    assert argv == [
        "check",
        str(DEFAULT_CHECKLIST),
        "--data",
        "data/train.jsonl",
        "--json",
        "playbook-reports/report.json",
        "--junit",
        "playbook-reports/report.xml",
        "--html",
        "playbook-reports/report.html",
    ]
    parse_check_argv(argv[1:])
    assert (tmp_path / "playbook-reports").is_dir()
    assert outs == {
        "report-dir": "playbook-reports",
        "json": "playbook-reports/report.json",
        "junit": "playbook-reports/report.xml",
        "html": "playbook-reports/report.html",
        "exit-code": "0",
    }


def test_the_defaults_give_a_command_of_existing_options(tmp_path: Path) -> None:
    inputs = input_defaults() | {"data": "train.jsonl"}
    done, argv, _ = run_check_step(tmp_path, inputs)
    assert done.returncode == 0, done.stdout + done.stderr
    assert argv is not None and argv[0] == "check"
    parsed = parse_check_argv(argv[1:])  # no pending option: the defaults run on this very CLI
    assert parsed["CHECKLIST"] == str(DEFAULT_CHECKLIST) and DEFAULT_CHECKLIST.is_file()
    assert parsed["--fail-on"] == "fail"
    assert set(parsed) == {"CHECKLIST", "--data", "--fail-on", "--json", "--junit", "--html"}
    # the command is echoed into the log
    assert "playbook check " in done.stdout and "--data train.jsonl" in done.stdout


def test_every_input_becomes_its_option(tmp_path: Path) -> None:
    inputs = input_defaults() | {
        "checklist": "my checklist.yaml",
        "data": "data/train set.jsonl",
        "eval": "data/test.jsonl",
        "validation": "data/val.jsonl",
        "golden": "data/golden.jsonl",
        "traffic": "data/traffic.jsonl",
        "licence": "CC-BY-4.0",
        "format": "jsonl",
        "fail-on": "warn",
        "strict": "true",
        "flags": "true",
        "report-dir": "out/reports",
        "extra-args": "--quiet  '--plan' \"plan file.yaml\"",
    }
    done, argv, outs = run_check_step(tmp_path, inputs)
    assert done.returncode == 0, done.stdout + done.stderr
    assert argv is not None and argv[0] == "check"
    parsed = parse_check_argv(argv[1:], pending=PENDING_OPTIONS)
    assert parsed == {
        "CHECKLIST": "my checklist.yaml",
        "--data": "data/train set.jsonl",
        "--eval": "data/test.jsonl",
        "--validation": "data/val.jsonl",
        "--golden": "data/golden.jsonl",
        "--traffic": "data/traffic.jsonl",
        "--licence": "CC-BY-4.0",
        "--format": "jsonl",
        "--fail-on": "warn",
        "--strict": True,
        "--flags": "out/reports/flags.jsonl",
        "--json": "out/reports/report.json",
        "--junit": "out/reports/report.xml",
        "--html": "out/reports/report.html",
        "--quiet": True,
        "--plan": "plan file.yaml",
    }
    assert outs["report-dir"] == "out/reports" and (tmp_path / "out" / "reports").is_dir()


@pytest.mark.parametrize("code", [0, 1, 2, 3, 4, 5])
def test_the_step_exits_with_the_checks_exit_code(tmp_path: Path, code: int) -> None:
    done, argv, outs = run_check_step(tmp_path, input_defaults() | {"data": "d.jsonl"}, stub_code=code)
    assert argv is not None
    assert done.returncode == code
    assert outs["exit-code"] == str(code)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("strict", "yes", "input 'strict' must be true or false"),
        ("flags", "1", "input 'flags' must be true or false"),
        ("extra-args", "--format 'csv", "input 'extra-args' is not valid shell words"),
        ("report-dir", "a\nb", "input 'report-dir' must be one line"),
    ],
)
def test_a_bad_input_is_a_usage_error_before_playbook_runs(
    tmp_path: Path, name: str, value: str, fragment: str
) -> None:
    done, argv, outs = run_check_step(tmp_path, input_defaults() | {"data": "d.jsonl", name: value})
    assert done.returncode == ExitCode.USAGE
    assert argv is None, "playbook ran despite a bad input"
    assert f"::error::{fragment}" in done.stdout
    assert outs.get("exit-code") == "3"


def _console_script() -> Path:
    found = shutil.which("playbook", path=str(Path(sys.executable).parent))
    assert found, f"the playbook console script is not installed beside {sys.executable}"
    return Path(found)


def test_the_step_runs_the_real_playbook_and_leaves_the_reports_when_the_check_fails(
    tmp_path: Path, shared_data: Path
) -> None:
    """GSM8K test, clean, then with 100 of its rows appended again (7% duplicates, over the item's 5% fail
    threshold): the real command writes all three reports either way and the step exits as it does."""
    checklist = tmp_path / "ci.yaml"
    checklist.write_text(
        "name: ci_gate\nitems:\n"
        "  - {id: quality.formatting, title: formatting, check: formatting, required: [instruction, output],"
        " warn: 0.0, fail: 0.05}\n"
        "  - {id: quality.uniqueness.exact, title: exact duplicates, check: exact_duplicates, warn: 0.0, fail: 0.05}\n",
        encoding="utf-8",
    )
    lines = (shared_data / "sft" / "gsm8k_test.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "clean.jsonl").write_text("".join(lines), encoding="utf-8")
    (tmp_path / "data" / "dup.jsonl").write_text("".join(lines + lines[:100]), encoding="utf-8")
    playbook = _console_script()
    for name, code, outcome in (("clean", ExitCode.OK, "pass"), ("dup", ExitCode.FAIL, "fail")):
        inputs = input_defaults() | {"checklist": "ci.yaml", "data": f"data/{name}.jsonl", "report-dir": name}
        done, _, outs = run_check_step(tmp_path, inputs, playbook=playbook)
        assert done.returncode == code, done.stdout + done.stderr
        assert outs["exit-code"] == str(int(code))
        reports = tmp_path / name
        assert sorted(p.name for p in reports.iterdir()) == ["report.html", "report.json", "report.xml"]
        report = json.loads((reports / "report.json").read_text(encoding="utf-8"))
        assert report["outcome"] == outcome
        assert report["data"]["train"]["rows"] == len(lines) + (100 if name == "dup" else 0)
        junit = (reports / "report.xml").read_text(encoding="utf-8")
        assert ('failures="1"' if name == "dup" else 'failures="0"') in junit

        summary = tmp_path / f"summary-{name}.md"
        shown = subprocess.run(
            [sys.executable, str(SUMMARY), "--report", str(reports / "report.json"), "--exit-code",
             outs["exit-code"], "--summary", str(summary), "--annotate"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        md = summary.read_text(encoding="utf-8")
        assert f"exit code {int(code)}:" in md
        assert "| `quality.formatting` | ✅ pass |" in md
        if name == "dup":
            assert "| `quality.uniqueness.exact` | ❌ fail | duplicate_rate = 0.07" in md
            assert "::error title=playbook quality.uniqueness.exact::duplicate_rate = 0.07" in shown.stdout
            assert "::error title=playbook check exited 2::at least one checklist item failed" in shown.stdout
        else:
            assert shown.stdout == ""


# --------------------------------------------------------------------------------------------------------------------
# the job summary


def _summary(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SUMMARY), *args], capture_output=True, text=True, check=True, timeout=60)


def test_the_summary_says_what_each_exit_code_means() -> None:
    spec = importlib.util.spec_from_file_location("playbook_ci_summary", SUMMARY)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert set(module.EXIT_CODES) == {int(c) for c in ExitCode}


def test_the_summary_without_a_report_says_why(tmp_path: Path) -> None:
    out = _summary("--report", str(tmp_path / "missing.json"), "--exit-code", "4", "--annotate").stdout
    assert "exit code 4: data error" in out and "No JSON report was written" in out
    assert "::error title=playbook check exited 4::data error" in out
    out = _summary("--report", "", "--exit-code", "").stdout
    assert "playbook check did not run" in out and "::" not in out


def test_the_summary_escapes_what_the_report_says(tmp_path: Path) -> None:
    report = {
        "checklist": "c",
        "outcome": "fail",
        "counts": {"fail": 1},
        "items": [{"id": "a|b", "outcome": "fail", "message": "x | y <script>\nz 100%"}],
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    out = _summary("--report", str(path), "--exit-code", "2", "--annotate").stdout
    row = next(line for line in out.splitlines() if line.startswith("| `a"))
    assert row == "| `a\\|b` | ❌ fail | x \\| y &lt;script&gt; z 100% |"
    assert "::error title=playbook a|b::x | y <script>%0Az 100%25" in out


# --------------------------------------------------------------------------------------------------------------------
# the pre-commit hooks


def test_the_hooks_are_a_valid_pre_commit_manifest() -> None:
    ids = [h["id"] for h in hooks()]
    assert ids == ["playbook-check", "playbook-check-system"]
    for h in hooks():
        assert set(h) <= HOOK_KEYS, set(h) - HOOK_KEYS
        assert {"id", "name", "entry", "language"} <= set(h)
        assert h["language"] in HOOK_LANGUAGES
        assert h["pass_filenames"] is False, "the checklist runs on the files in args, not on the staged names"
    assert [h["language"] for h in hooks()] == ["python", "system"]


def test_the_hooks_entry_is_the_packages_console_script() -> None:
    """The entry's program is a console script of this distribution (pyproject.toml [project.scripts]), which is
    what pre-commit's python environment installs, and it is on PATH beside this interpreter."""
    scripts = {
        ep.name: ep.value for ep in importlib.metadata.distribution(DIST).entry_points if ep.group == "console_scripts"
    }
    group = typer.main.get_command(app)
    for h in hooks():
        program, command, *rest = h["entry"].split()
        assert scripts.get(program) == "playbook_lib.cli:main", (program, scripts)
        assert _console_script().name == program
        assert command in group.commands and command == "check"  # type: ignore[attr-defined]
        parse_check_argv(rest + [*h.get("args", [])])


@pytest.mark.parametrize(
    ("path", "runs"),
    [
        ("data/train.jsonl", True),
        ("data/prod.parquet", True),
        ("exports/rows.csv", True),
        ("data/train.json", True),
        ("checklists/dataset_readiness.yaml", True),
        ("qa/checklist.yml", True),
        ("src/model.py", False),
        ("docs/index.md", False),
        (".github/workflows/ci.yaml", False),
    ],
)
def test_the_hooks_run_when_a_data_file_or_a_checklist_is_staged(path: str, runs: bool) -> None:
    for h in hooks():
        assert bool(re.search(h["files"], path)) is runs, (h["id"], path)


# --------------------------------------------------------------------------------------------------------------------
# the README's section


def test_the_readme_workflow_uses_declared_inputs_only() -> None:
    workflows = [b for b in yaml_blocks(ci_section()) if isinstance(b, dict) and "jobs" in b]
    assert workflows, "no workflow in README 'Use it in your CI'"
    inputs = action()["inputs"]
    seen = 0
    for wf in workflows:
        for job in wf["jobs"].values():
            for s in job["steps"]:
                if str(s.get("uses", "")).startswith("OWNER/REPO@"):
                    seen += 1
                    given = set(s.get("with", {}))
                    assert given <= set(inputs), given - set(inputs)
                    required = {n for n, spec in inputs.items() if spec.get("required")}
                    assert required <= given, required - given
    assert seen, "the README's workflow does not use the action"


def test_the_readme_pre_commit_config_uses_existing_hooks_and_options() -> None:
    configs = [b for b in yaml_blocks(ci_section()) if isinstance(b, dict) and "repos" in b]
    assert configs, "no .pre-commit-config.yaml in README 'Use it in your CI'"
    ids = {h["id"] for h in hooks()}
    seen = 0
    for cfg in configs:
        for repo in cfg["repos"]:
            for h in repo["hooks"]:
                assert h["id"] in ids, h["id"]
                seen += 1
                args = [str(a) for a in h.get("args", [])]
                parsed = parse_check_argv(args)  # options that exist in this very CLI
                checklist = parsed["CHECKLIST"]
                assert isinstance(checklist, str) and checklist.endswith(".yaml")
                assert (ROOT / checklist).is_file(), "the README's checklist path is this repository's checklist"
                assert "--data" in parsed
    assert seen


def test_the_readme_tells_every_exit_code() -> None:
    section = ci_section()
    codes = {int(m) for m in re.findall(r"^\| *(\d+) *\|", section, flags=re.M)}
    assert codes == {int(c) for c in ExitCode}, codes ^ {int(c) for c in ExitCode}
