"""Errors raised for bad user input, and the documented exit codes of the ``playbook`` CLI.

Every error here carries a one-line message meant for a person; the CLI prints it without a traceback.

Exit codes (the same for every ``playbook`` command):

====  ==============================================================================
code  meaning
====  ==============================================================================
0     success; for ``playbook check``: every check passed (warnings allowed by default)
1     warnings, reported as a failure because ``--fail-on warn`` was given
2     at least one check failed
3     usage or configuration error: bad option or environment value, unknown name, malformed YAML, an output path
      that cannot be written (a folder, below a file, full disk, file-size limit, no permission) or that names an
      input of the same run
4     data error: missing, empty, unreadable (a folder, a FIFO or device, no permission), non-UTF-8 or malformed
      data file
5     internal error: a bug, not bad input; one line naming the exception (``PLAYBOOK_DEBUG=1`` adds the traceback)
130   interrupted (Ctrl-C)
141   standard output closed early (``playbook ... | head -1``); nothing more is printed
====  ==============================================================================

When several apply, the highest code wins (:func:`final_code`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of the ``playbook`` CLI; see the module docstring."""

    OK = 0
    WARN = 1
    FAIL = 2
    USAGE = 3
    DATA = 4
    INTERNAL = 5
    INTERRUPTED = 130
    BROKEN_PIPE = 141


def final_code(*outcomes: int) -> ExitCode:
    """The exit code of a run from the codes of everything that happened in it (each check's outcome under
    ``--fail-on``, a usage, data or internal error): the highest wins; no outcome at all is success.

    The CLI and :func:`playbook_lib.checklist.run.exit_code` decide every final code here, so the precedence
    0 < 1 < 2 < 3 < 4 < 5 holds everywhere.
    """
    return ExitCode(max((int(o) for o in outcomes), default=int(ExitCode.OK)))


class PlaybookError(Exception):
    """Base class of every error caused by user input (files, configuration, parameters)."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(PlaybookError):
    """A bad option, an unknown method or check name, or a malformed configuration file."""

    exit_code = ExitCode.USAGE


class DataError(PlaybookError):
    """A missing, empty, unreadable or malformed data file."""

    exit_code = ExitCode.DATA


class EmptyDataError(DataError):
    """The data file exists and parses but holds no usable record."""


class StreamError(DataError):
    """A compressed data file that cannot be decompressed: corrupt, truncated, or not the codec its name says.

    ``line`` is the last line read whole before the failure (0: none); :meth:`at_line` names another, for a reader
    that knows better where it stopped than the decompressor does."""

    def __init__(self, path: object, codec: str, reason: str, line: int = 0) -> None:
        self.path, self.codec, self.reason, self.line = path, codec, reason, line
        where = f" after line {line}" if line > 0 else " before its first line"
        super().__init__(f"{path}: corrupt or truncated {codec} file{where} ({reason})")

    def at_line(self, line: int) -> StreamError:
        """The same error naming ``line`` as the last line read whole."""
        return StreamError(self.path, self.codec, self.reason, line)
