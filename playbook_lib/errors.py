"""Errors raised for bad user input, and the documented exit codes of the ``playbook`` CLI.

Every error here carries a one-line message meant for a person; the CLI prints it without a traceback.

Exit codes (the same for every ``playbook`` command):

====  ==============================================================================
code  meaning
====  ==============================================================================
0     success; for ``playbook check``: every check passed (warnings allowed by default)
1     warnings, reported as a failure because ``--fail-on warn`` was given
2     at least one check failed
3     usage or configuration error: bad option, unknown name, malformed YAML
4     data error: missing, empty, unreadable, non-UTF-8 or malformed data file
====  ==============================================================================

When several apply, the highest code wins.
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
