"""The harness of the CLI tests: run ``playbook`` in this process and assert what the README promises for a run.

:func:`run_cli` calls the real entry point (:func:`playbook_lib.cli.main`) in-process and captures what a user would
see, leaving no state behind (environment, working directory, standard streams, logging handlers, rich's console);
:func:`assert_one_line_error` is the one-line-error rule. The bad-input suite (``tests/code/test_bad_input_*.py``)
adds hostile inputs generated at test time in a temporary folder and the assertions it needs: no input changed
(:func:`snapshot`, :func:`assert_unchanged`), no secret printed (:func:`assert_no_secret`), no temporary file left.
A few tests still start the real console script in a subprocess (``tests/code/test_cli.py``): what only a process
shows, such as the exit status, a closed stdout or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Values planted in hostile inputs that must never appear unmasked in any output (stdout, stderr, report files).
SECRETS = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
    "jane.doe@corp-mail.net",
    "+44 20 7946 0958",
)


@dataclass
class CliResult:
    """What one in-process run of ``playbook`` gave: its exit code and what it printed."""

    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_cli(
    *argv: str | os.PathLike[str],
    env: Mapping[str, str | None] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    terminal: bool = False,
) -> CliResult:
    """Run ``playbook ARGV`` in this process (stdin empty) and return its exit code and output.

    ``env`` sets environment variables (``None`` unsets one) and ``cwd`` the working directory for the run only;
    ``terminal`` makes the captured stderr say it is a terminal, as an interactive shell's is. The environment, the
    working directory, the root logger's handlers and level and rich's global console are as they were afterwards
    (a command may set ``HF_HUB_OFFLINE`` or draw with rich). A ``SystemExit`` counts as its code; any other exception
    escaping :func:`~playbook_lib.cli.main` is a traceback the user would see, so it propagates and fails the test.
    """
    from playbook_lib.cli import main

    out, err = io.StringIO(), _Terminal() if terminal else io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    for name, value in (env or {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        if cwd is not None:
            os.chdir(cwd)
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _stdin(io.StringIO("")),
        ):
            try:
                code = main([os.fspath(a) for a in argv])
            except SystemExit as exc:  # pragma: no cover - main returns codes; kept so a regression reads clearly
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        rich = sys.modules.get("rich")
        if rich is not None:  # a console rich made during the run would keep writing to this run's buffer
            rich._console = None
    return CliResult(int(code), out.getvalue(), err.getvalue())


class _Terminal(io.StringIO):
    """A captured stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@contextlib.contextmanager
def _stdin(stream: io.StringIO) -> Iterator[None]:
    """``sys.stdin`` is ``stream`` inside the block (:mod:`contextlib` has no ``redirect_stdin``)."""
    saved = sys.stdin
    sys.stdin = stream
    try:
        yield
    finally:
        sys.stdin = saved


def assert_one_line_error(result: CliResult, code: int, fragment: str | None = None) -> None:
    """The run failed with ``code`` and exactly one ``playbook: error:`` line (containing ``fragment``), no
    traceback."""
    assert result.code == int(code), (result.code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr[-2000:]
    lines = result.error_lines
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("playbook: error:"), lines[0]
    if fragment is not None:
        assert fragment in lines[0], (fragment, lines[0])


def snapshot(*roots: Path) -> dict[str, tuple[str, int, int]]:
    """Content hash, mode and kind of every file below ``roots`` (symlinks not followed), to compare after a run."""
    state: dict[str, tuple[str, int, int]] = {}
    for root in roots:
        paths = [root] if not root.is_dir() or root.is_symlink() else sorted(root.rglob("*"))
        for p in paths:
            st = p.lstat()
            if stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                digest = "->" + os.readlink(p)
            else:
                digest = ""
            state[str(p)] = (digest, stat.S_IMODE(st.st_mode), stat.S_IFMT(st.st_mode))
    return state


def assert_unchanged(before: dict[str, tuple[str, int, int]], paths: Iterable[str | Path]) -> None:
    """Every path in ``paths`` (an input of the run) is as it was in ``before``."""
    after = snapshot(*(Path(p) for p in paths))
    for p in paths:
        key = str(p)
        assert key in before, f"{key} was not in the snapshot"
        assert after.get(key) == before[key], f"{key} changed"


def assert_no_secret(result: CliResult, files: Sequence[Path] = (), secrets: Sequence[str] = SECRETS) -> None:
    """No planted secret appears in what the run printed or in the report files it wrote."""
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    for f in files:
        if f.is_file():
            texts[str(f)] = f.read_bytes().decode("utf-8", "replace")
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} printed unmasked in {where}"


def leftover_temp_files(folder: Path) -> list[Path]:
    """Temporary files an atomic writer left behind in ``folder`` (hidden ``.name.*`` files)."""
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.is_file())
