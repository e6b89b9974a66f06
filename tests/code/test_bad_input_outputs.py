"""Bad-input suite, class 1 of issue 12: outputs never destroy inputs.

Every command that writes (``check --json/--html/--junit``, ``rag feedback promote --out``, ``decide next --log``)
is given output paths that name one of its own inputs (directly, through a symlink, through a hard link), a device,
a FIFO, a folder, a path below a file, a symlink loop, a full disk and a file-size limit. Each case must end in the
documented exit code with one line on stderr, leave every input byte-for-byte as it was, replace no special file
and leave no temporary file behind. Reports get the usual permissions (``0o666`` less the umask). Every input is
generated here, in ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from playbook_lib import sample_data
from playbook_lib.errors import ExitCode, UsageError
from playbook_lib.io.outputs import append_text, check_outputs, write_atomic
from tests.cli import CliResult, assert_one_line_error, assert_unchanged, leftover_temp_files, run_cli, snapshot

ROOT = Path(__file__).resolve().parents[2]
MODEL_CHECKLIST = ROOT / "checklists" / "model_readiness.yaml"

#: A one-item dataset checklist that needs no model: fast, and passes on clean rows.
SMALL = "name: small\nitems:\n  - id: fmt\n    title: formatting\n    check: formatting\n    warn: 0.0\n    fail: 0.5\n"


class Case:
    """One command with its inputs in a fresh folder: ``argv(outputs)`` builds the command line."""

    def __init__(
        self, name: str, inputs: dict[str, Path], argv: Callable[[dict[str, str]], list[str]], outputs: tuple[str, ...]
    ) -> None:
        self.name, self.inputs, self._argv, self.outputs = name, inputs, argv, outputs

    def argv(self, **outputs: str | Path) -> list[str]:
        return self._argv({k: os.fspath(v) for k, v in outputs.items()})

    def run(self, **outputs: str | Path) -> CliResult:
        return run_cli(*self.argv(**outputs))


def _rows(path: Path, n: int = 3) -> Path:
    path.write_text(
        "".join(json.dumps({"instruction": f"question {i}", "output": f"answer {i}"}) + "\n" for i in range(n)),
        encoding="utf-8",
    )
    return path


def _flags(outputs: dict[str, str]) -> list[str]:
    return [x for flag, value in outputs.items() for x in (f"--{flag}", value)]


def dataset_case(folder: Path) -> Case:
    checklist = folder / "small.yaml"
    checklist.write_text(SMALL, encoding="utf-8")
    inputs = {
        "CHECKLIST": checklist,
        "--data": _rows(folder / "train.jsonl"),
        "--eval": _rows(folder / "eval.jsonl"),
        "--traffic": _rows(folder / "traffic.jsonl"),
        "--golden": _rows(folder / "golden.jsonl"),
    }
    return Case(
        "check dataset",
        inputs,
        lambda o: [
            "check",
            str(checklist),
            "--data",
            str(inputs["--data"]),
            "--eval",
            str(inputs["--eval"]),
            "--traffic",
            str(inputs["--traffic"]),
            "--golden",
            str(inputs["--golden"]),
            "-q",
            *_flags(o),
        ],
        ("json", "html", "junit"),
    )


def model_case(folder: Path) -> Case:
    checklist = folder / "model.yaml"
    shutil.copyfile(MODEL_CHECKLIST, checklist)
    plan, evals = folder / "plan.yaml", folder / "evals.jsonl"
    shutil.copyfile(sample_data.path("model_plan.yaml"), plan)
    shutil.copyfile(sample_data.path("model_evals.jsonl"), evals)
    inputs = {"CHECKLIST": checklist, "--plan": plan, "--evals": evals}
    return Case(
        "check model",
        inputs,
        lambda o: ["check", str(checklist), "--plan", str(plan), "--evals", str(evals), "-q", *_flags(o)],
        ("json", "html", "junit"),
    )


def promote_case(folder: Path) -> Case:
    from playbook_lib.ops.feedback import FeedbackEntry, FeedbackLog

    log = FeedbackLog(folder / "feedback.jsonl")
    log.append(FeedbackEntry("how do I reset the probe?", "hold the button [d1]", ["d1"], ["d1", "d2"], rating=5))
    log.append(FeedbackEntry("what is E17?", "a sensor fault", [], ["d3"], rating=2, correction="a probe fault"))
    return Case(
        "rag feedback promote",
        {"LOG": log.path},
        lambda o: ["rag", "feedback", "promote", str(log.path), *_flags(o)],
        ("out",),
    )


def decide_case(folder: Path) -> Case:
    evals = folder / "evals.jsonl"
    shutil.copyfile(sample_data.path("model_evals.jsonl"), evals)
    return Case(
        "decide next",
        {"--evals": evals},
        lambda o: ["decide", "next", "--evals", str(evals), "--model", "open-weights-8b", *_flags(o)],
        ("log",),
    )


CASES = {"dataset": dataset_case, "model": model_case, "promote": promote_case, "decide": decide_case}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    folder = tmp_path / "in"
    folder.mkdir()
    return CASES[request.param](folder)


def _assert_refused(case: Case, result: CliResult, before: dict, *fragments: str) -> None:
    assert_one_line_error(result, ExitCode.USAGE)
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert_unchanged(before, [str(p) for p in case.inputs.values()])
    folder = next(iter(case.inputs.values())).parent
    assert leftover_temp_files(folder) == []


# ---------------------------------------------------------------- an output naming an input


def test_output_naming_an_input_is_refused_and_the_input_kept(case: Case) -> None:
    """Every output flag pointed at every input of the run, directly: exit 3, one line naming both."""
    for flag in case.outputs:
        for label, path in case.inputs.items():
            before = snapshot(*case.inputs.values())
            result = case.run(**{flag: path})
            _assert_refused(case, result, before, f"--{flag} {path}", f"{label} {path}", "must differ")


def test_output_through_a_symlink_or_hard_link_to_an_input_is_refused(case: Case, tmp_path: Path) -> None:
    """Links are followed: a symlink (also a chain of two, also to the input's folder) or a hard link to an input is
    the input."""
    links = tmp_path / "links"
    links.mkdir()
    (links / "dir").symlink_to(next(iter(case.inputs.values())).parent, target_is_directory=True)
    for i, (label, path) in enumerate(case.inputs.items()):
        soft, chain, hard = links / f"soft{i}", links / f"chain{i}", links / f"hard{i}"
        soft.symlink_to(path)
        chain.symlink_to(soft)
        os.link(path, hard)
        for flag in case.outputs:
            for out in (soft, chain, hard, links / "dir" / path.name):
                before = snapshot(*case.inputs.values(), links)
                result = case.run(**{flag: out})
                _assert_refused(case, result, before, f"--{flag} {out}", label)
                assert_unchanged(before, [str(soft), str(chain), str(hard)])


def test_decide_next_log_never_appends_to_the_evals(tmp_path: Path) -> None:
    case = decide_case(tmp_path)
    evals = case.inputs["--evals"]
    before = snapshot(evals)
    for log in (evals, tmp_path / "." / evals.name, Path(os.path.relpath(evals))):
        _assert_refused(case, case.run(log=log), before, "--log", "--evals")
    log = tmp_path / "decisions.jsonl"
    assert case.run(log=log).code == ExitCode.OK and case.run(log=log).code == ExitCode.OK
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2  # appended, never rewritten
    assert_unchanged(before, [str(evals)])


def test_two_outputs_naming_one_file_are_refused(tmp_path: Path) -> None:
    case = dataset_case(tmp_path)
    result = case.run(json=tmp_path / "r", html=tmp_path / "r")
    assert_one_line_error(result, ExitCode.USAGE, "must differ from --json")
    assert not (tmp_path / "r").exists()


def test_a_bad_output_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The output is checked before the data is read: no minutes of checks before an error about the report path."""
    import playbook_lib.checklist.inputs as inputs_module

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the data was read although the output path is refused")

    monkeypatch.setattr(inputs_module, "load_records", must_not_run)
    case = dataset_case(tmp_path)
    assert_one_line_error(case.run(json=tmp_path), ExitCode.USAGE, "is a folder")
    assert_one_line_error(case.run(junit=case.inputs["--data"]), ExitCode.USAGE, "must differ")


def test_an_input_folder_protects_every_path_below_it(tmp_path: Path) -> None:
    """A folder input (a BEIR folder, a corpus folder) counts for every file below it, existing or not."""
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n', encoding="utf-8")
    for out in (beir / "corpus.jsonl", beir / "qrels" / "new.tsv", beir):
        with pytest.raises(UsageError) as info:
            check_outputs({"BEIR_DIR": beir}, {"--json": out})
        assert "\n" not in str(info.value)
    check_outputs({"BEIR_DIR": beir}, {"--json": tmp_path / "beir-report.json"})  # a sibling is fine


# ---------------------------------------------------------------- special files: written into, never replaced


def _device(folder: Path, name: str, minor: int) -> Path:
    """A private copy of ``/dev/<name>`` (same device numbers) in ``folder``, so that a regression replaces that copy,
    never the machine's own device; a symlink to the real one where device nodes cannot be made (not root, nodev)."""
    path = folder / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        os.close(os.open(path, os.O_WRONLY))
    except OSError:
        path.unlink(missing_ok=True)
        path.symlink_to(f"/dev/{name}")
    return path


@pytest.fixture()
def dev_null(tmp_path: Path) -> Path:
    return _device(tmp_path, "null", 3)


@pytest.fixture()
def dev_full(tmp_path: Path) -> Path:
    return _device(tmp_path, "full", 7)


def _assert_same_device(path: Path, before: os.stat_result) -> None:
    after = os.stat(path)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


def test_dev_null_is_written_into_and_stays_a_device(case: Case, dev_null: Path) -> None:
    """First a private copy of /dev/null (a regression replaces only that), then the real one."""
    folder = next(iter(case.inputs.values())).parent
    for sink in (dev_null, Path(os.devnull)):
        before = os.stat(sink)
        for flag in case.outputs:
            result = case.run(**{flag: sink})
            assert result.code in (ExitCode.OK, ExitCode.FAIL), result.stderr
            assert "Traceback" not in result.stderr
            _assert_same_device(sink, before)
        assert leftover_temp_files(folder) == [] and leftover_temp_files(dev_null.parent) == []


def test_a_symlink_to_dev_null_is_written_through(tmp_path: Path, dev_null: Path) -> None:
    case = dataset_case(tmp_path)
    link = tmp_path / "sink.json"
    link.symlink_to(dev_null)
    before = os.stat(dev_null)
    assert case.run(json=link).code == ExitCode.OK
    assert link.is_symlink() and os.readlink(link) == str(dev_null)
    _assert_same_device(dev_null, before)


def test_a_fifo_is_written_into_and_stays_a_fifo(case: Case, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for flag in case.outputs:
        # the reader is open before the run (a FIFO nobody reads is refused, see below); a second writer held open
        # here keeps the reader from seeing end-of-file before the run has written
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        holder = os.open(fifo, os.O_WRONLY)
        os.set_blocking(reader, True)
        chunks: list[bytes] = []

        def drain(fd: int = reader, out: list[bytes] = chunks) -> None:
            while chunk := os.read(fd, 65536):
                out.append(chunk)

        thread = threading.Thread(target=drain, daemon=True)
        thread.start()
        try:
            result = case.run(**{flag: fifo})
        finally:
            os.close(holder)
            thread.join(timeout=30)
            os.close(reader)
        assert not thread.is_alive(), "the FIFO's reader never saw the end of the report"
        assert result.code in (ExitCode.OK, ExitCode.FAIL), result.stderr
        assert b"".join(chunks).strip(), "nothing was written into the FIFO"
        assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert leftover_temp_files(tmp_path) == []


def test_a_fifo_with_no_reader_is_refused_not_waited_on(case: Case, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for flag in case.outputs:
        assert_one_line_error(case.run(**{flag: fifo}), ExitCode.USAGE, "no reader")
        assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert leftover_temp_files(tmp_path) == []


# ---------------------------------------------------------------- paths that cannot be written


def test_unwritable_output_paths_are_one_line_errors(case: Case, tmp_path: Path, dev_full: Path) -> None:
    """A folder, a path below a regular file (ENOTDIR), a symlink loop (ELOOP), a full disk (ENOSPC): exit 3."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    (folder / "kept.txt").write_text("kept", encoding="utf-8")
    regular = tmp_path / "x"
    regular.write_text("a file", encoding="utf-8")
    loop_a, loop_b = tmp_path / "loop_a", tmp_path / "loop_b"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    bad = {
        folder: "is a folder",
        regular / "y": "Not a directory",
        loop_a: "Too many levels of symbolic links",
        dev_full: "No space left on device",
    }
    for flag in case.outputs:
        for out, fragment in bad.items():
            before = snapshot(*case.inputs.values(), folder, regular)
            _assert_refused(case, case.run(**{flag: out}), before, fragment)
            assert_unchanged(before, [str(folder / "kept.txt"), str(regular)])
            assert leftover_temp_files(tmp_path) == [] and leftover_temp_files(folder) == []
    assert stat.S_ISCHR(os.stat(dev_full).st_mode)


def test_a_read_only_folder_is_a_one_line_error(case: Case, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("runs as root, which may write into a read-only folder (no permission error to provoke)")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for flag in case.outputs:
            result = case.run(**{flag: locked / "out.txt"})
            assert_one_line_error(result, ExitCode.USAGE, "Permission denied")
            assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


_LIMITED = """\
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from playbook_lib.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_file_size_limit_is_one_line_and_keeps_the_old_output(name: str, tmp_path: Path) -> None:
    """Under ``RLIMIT_FSIZE`` (SIGXFSZ ignored, so writes fail with EFBIG): exit 3, one line, the previous output
    intact (a report is replaced only when the new one is complete; a log is cut back to its size before), no
    temporary file."""
    folder = tmp_path / "in"
    folder.mkdir()
    case = CASES[name](folder)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    old = "".join(json.dumps({"earlier": i}) + "\n" for i in range(10)).encode()  # about 150 bytes
    limit = len(old) + 100  # a report or decision line is longer than 100 bytes
    for flag in case.outputs:
        out = out_dir / f"previous.{flag}"
        out.write_bytes(old)
        before = snapshot(*case.inputs.values(), out)
        env = {**os.environ, "PLAYBOOK_THREADS": "1"}
        proc = subprocess.run(
            [sys.executable, "-c", _LIMITED.format(limit=limit), *case.argv(**{flag: out})],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=300,
        )
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
        _assert_refused(case, result, before, "File too large")
        assert_unchanged(before, [str(out)])
        assert leftover_temp_files(out_dir) == []


def test_a_feature_store_that_cannot_grow_its_files_is_one_line(tmp_path: Path) -> None:
    """The local engine's spilling store (``--memory-limit``) under a file-size limit: DuckDB cannot write its
    files (a failed commit of its write-ahead log): exit 3, one line naming the store, the data unchanged and the
    store's folder removed."""
    data = tmp_path / "train.jsonl"
    rows = [{"instruction": f"Question {i} about item {i * 7}?", "output": f"Answer {i} " * 20} for i in range(3000)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows + rows[:300]))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    before = snapshot(data)
    argv = ["check", "checklists/dataset_readiness.yaml", "--data", str(data), "--engine", "local"]
    proc = subprocess.run(
        [sys.executable, "-c", _LIMITED.format(limit=200_000), *argv, "--memory-limit", "64MB"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PLAYBOOK_THREADS": "1", "TMPDIR": str(scratch), "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert_one_line_error(CliResult(proc.returncode, proc.stdout, proc.stderr), ExitCode.USAGE, "feature store")
    assert "File too large" in proc.stderr
    assert_unchanged(before, [])
    assert list(scratch.iterdir()) == []


# ---------------------------------------------------------------- permissions and links of a written report


@pytest.fixture()
def umask_022() -> object:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_reports_get_normal_permissions_and_keep_an_existing_mode(
    case: Case,
    tmp_path: Path,
    umask_022: object,
) -> None:
    for flag in case.outputs:
        new = tmp_path / "new" / f"report.{flag}"  # a missing folder is created
        assert case.run(**{flag: new}).code in (ExitCode.OK, ExitCode.FAIL)
        assert stat.S_IMODE(new.stat().st_mode) == 0o644, oct(new.stat().st_mode)
        kept = tmp_path / f"kept.{flag}"
        kept.write_text("", encoding="utf-8")
        kept.chmod(0o640)
        assert case.run(**{flag: kept}).code in (ExitCode.OK, ExitCode.FAIL)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.stat().st_size > 0
    assert leftover_temp_files(tmp_path) == [] and leftover_temp_files(tmp_path / "new") == []


def test_a_symlink_to_a_regular_file_keeps_the_link(case: Case, tmp_path: Path) -> None:
    for flag in case.outputs:
        target = tmp_path / "targets" / f"report.{flag}"
        target.parent.mkdir(exist_ok=True)
        target.write_text("", encoding="utf-8")
        link = tmp_path / f"link.{flag}"
        link.symlink_to(target)
        assert case.run(**{flag: link}).code in (ExitCode.OK, ExitCode.FAIL)
        assert link.is_symlink() and link.resolve() == target.resolve() and target.stat().st_size > 0
        assert leftover_temp_files(target.parent) == []


# ---------------------------------------------------------------- the writers as library functions


def test_write_atomic_cleans_up_when_the_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure in the middle of the write (here: ENOSPC from ``os.write``) or a Ctrl-C leaves the old file and
    no temporary file."""
    path = tmp_path / "r.json"
    path.write_text("old", encoding="utf-8")

    def full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(os, "write", full)
        with pytest.raises(UsageError, match="No space left on device"):
            write_atomic(path, "new")

    def interrupted(fd: int, data: object) -> int:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(os, "write", interrupted)
        with pytest.raises(KeyboardInterrupt):
            write_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "old" and leftover_temp_files(tmp_path) == []
    write_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "new"


def test_append_text_never_leaves_half_a_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "decisions.jsonl"
    log.write_text('{"a": 1}\n', encoding="utf-8")
    real_write = os.write

    def half(fd: int, data: bytes) -> int:  # the first half lands, then the disk is full
        if len(data) > 4:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(os, "write", half)
        with pytest.raises(UsageError, match="cannot append to the log"):
            append_text(log, '{"b": 2}\n')
    assert log.read_text(encoding="utf-8") == '{"a": 1}\n'
    append_text(log, '{"b": 2}\n')
    assert log.read_text(encoding="utf-8") == '{"a": 1}\n{"b": 2}\n'


def test_the_library_has_one_atomic_writer() -> None:
    """Every file the library writes goes through ``io.outputs.write_atomic``: no other module renames temporary files
    into place (the rules for symlinks, FIFOs, permissions and full disks live in one place)."""
    import ast

    import playbook_lib

    root = Path(playbook_lib.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == root / "io" / "outputs.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"mkstemp", "replace", "rename", "NamedTemporaryFile"}:
                if isinstance(node.value, ast.Name) and node.value.id in {"os", "tempfile"}:
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert found == []
    assert resource.RLIMIT_FSIZE  # the file-size case above relies on POSIX resource limits


def test_writers_never_crash_on_hostile_text_or_names(tmp_path: Path) -> None:
    """A lone surrogate in a report (from a JSON ``"\\ud800"`` in the data) is escaped, not an encoding crash; a
    name with a NUL byte is a one-line usage error."""
    path = tmp_path / "r.json"
    write_atomic(path, json.dumps({"text": "a\ud800b"}, ensure_ascii=False))
    assert json.loads(path.read_text(encoding="utf-8")) == {"text": "a\ud800b"}
    append_text(tmp_path / "log.jsonl", json.dumps({"text": "\udfff"}, ensure_ascii=False) + "\n")
    assert json.loads((tmp_path / "log.jsonl").read_text(encoding="utf-8")) == {"text": "\udfff"}
    for call in (
        lambda: write_atomic(tmp_path / "a\0b", "x"),
        lambda: append_text(tmp_path / "a\0b", "x"),
        lambda: check_outputs({}, {"--json": tmp_path / "a\0b"}),
    ):
        with pytest.raises(UsageError) as info:
            call()
        assert "\n" not in str(info.value)
    assert leftover_temp_files(tmp_path) == []
