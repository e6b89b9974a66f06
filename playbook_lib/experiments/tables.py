"""Committed result tables: a measured run's rows as CSV, preceded by ``# key: value`` lines saying how, when and
where it was measured (command, date, machine, versions).

The book's pages run a small profile when the book is built and display the full profile from such a table beside
it (e.g. ``notebooks/exp_01_quality_vs_quantity.ipynb`` reads ``notebooks/results/exp_01_quality_vs_quantity.csv``,
written by ``bench/experiment_tables.py``).
"""

from __future__ import annotations

import io
import os
import platform
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from playbook_lib.errors import DataError
from playbook_lib.io.outputs import write_atomic


def write_table(frame: pd.DataFrame, path: str | Path, meta: dict[str, str]) -> None:
    """Write ``frame`` as CSV after one ``# key: value`` line per ``meta`` item (values on one line), atomically."""
    buffer = io.StringIO()
    for key, value in meta.items():
        buffer.write(f"# {key}: {' '.join(str(value).split())}\n")
    frame.to_csv(buffer, index=False)
    write_atomic(path, buffer.getvalue())


def read_table(path: str | Path, required: Iterable[str] = ()) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read a table written by :func:`write_table`: ``(frame, meta)``. A missing, non-UTF-8 or unparsable file, or
    one without the ``required`` columns, is a :class:`~playbook_lib.errors.DataError`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: results file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8") from None
    meta: dict[str, str] = {}
    lines = text.splitlines()
    body_start = len(lines)
    for number, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = number
            break
        key, _, value = line[1:].partition(":")
        meta[key.strip()] = value.strip()
    try:
        frame = pd.read_csv(io.StringIO("\n".join(lines[body_start:])))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: unreadable CSV ({str(exc)[:120]})") from None
    missing = set(required) - set(frame.columns)
    if missing:
        raise DataError(f"{path}: missing columns {sorted(missing)}")
    return frame, meta


SIMD_FLAGS = ("avx2", "avx512f", "avx512_vnni", "amx_int8")


def machine() -> str:
    """The CPU a table was measured on, for its ``machine`` header line: model name, core count and which of
    :data:`SIMD_FLAGS` it has (timings differ between AVX2 and AVX-512/AMX machines); ``platform.processor()``
    where ``/proc/cpuinfo`` is absent."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    name = next((x.split(":", 1)[1].strip() for x in lines if x.startswith("model name")), "")
    if not name:
        return f"{platform.processor() or 'unknown CPU'} ({os.cpu_count()} cores)"
    flags = next((x for x in lines if x.startswith("flags")), "").split()
    return f"{name} ({os.cpu_count()} cores; {', '.join(f for f in SIMD_FLAGS if f in flags) or 'no AVX2'})"
