"""Notebook pages read like a book: no code cell is longer than a reader takes in at a glance (25 lines), and the
code is laid out by the formatter (``ruff format`` with ``notebooks/ruff.toml``) with no line over its 88 columns,
comments and string literals included (the formatter leaves those whole: cut a long literal into implicitly joined
pieces, a long comment into two lines). Reads the notebooks' JSON and runs the formatter in check mode; executes
nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PAGES = sorted(NOTEBOOKS.glob("*.ipynb"))
MAX_CELL_LINES = 25
MAX_COLUMNS = 88  # notebooks/ruff.toml's line-length


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def long_cells(path: Path, limit: int = MAX_CELL_LINES) -> list[str]:
    """``"cell <n> (id <id>): <lines> lines"`` for each code cell of the notebook at ``path`` longer than ``limit``
    lines (``n`` counts all cells from 0, as Jupyter lists them)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        f"cell {n} (id {cell.get('id', '?')}): {len(_source(cell).splitlines())} lines"
        for n, cell in enumerate(cells)
        if cell["cell_type"] == "code" and len(_source(cell).splitlines()) > limit
    ]


def wide_lines(path: Path, limit: int = MAX_COLUMNS) -> list[str]:
    """``"cell <n> (id <id>) line <k>: <columns> columns"`` for each code line of the notebook at ``path`` wider
    than ``limit``."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        f"cell {n} (id {cell.get('id', '?')}) line {k}: {len(line)} columns"
        for n, cell in enumerate(cells)
        if cell["cell_type"] == "code"
        for k, line in enumerate(_source(cell).splitlines(), 1)
        if len(line) > limit
    ]


def test_pages_were_found() -> None:
    assert len(PAGES) >= 20, PAGES


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_no_code_cell_is_longer_than_25_lines(path: Path) -> None:
    """Split a long cell where the code changes step, with a sentence saying what the next part does, or move
    reusable logic into playbook_lib; an import cell imports fewer names or moves them to the cells using them."""
    assert long_cells(path) == [], f"{path.name}: code cells over {MAX_CELL_LINES} lines"


def test_the_rule_sees_a_long_cell(tmp_path: Path) -> None:
    code = [{"cell_type": "code", "id": f"c{n}", "source": "x = 1\n" * n} for n in (25, 26)]
    prose = {"cell_type": "markdown", "id": "m", "source": ["line\n"] * 40}
    page = tmp_path / "page.ipynb"
    page.write_text(json.dumps({"cells": [prose, *code]}), encoding="utf-8")
    assert long_cells(page) == ["cell 2 (id c26): 26 lines"]


def ruff_format_check(path: Path) -> subprocess.CompletedProcess[str]:
    """``ruff format --check --diff`` on ``path`` with the notebooks' config (``notebooks/ruff.toml``)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "format",
            "--check",
            "--diff",
            "--config",
            str(NOTEBOOKS / "ruff.toml"),
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_notebook_code_is_formatted(path: Path) -> None:
    done = ruff_format_check(path)
    assert done.returncode == 0, f"run: ruff format {path.relative_to(NOTEBOOKS.parent)}\n{done.stdout}{done.stderr}"


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_no_code_line_is_wider_than_88_columns(path: Path) -> None:
    assert wide_lines(path) == [], f"{path.name}: code lines over {MAX_COLUMNS} columns"


def test_the_rule_sees_a_wide_line(tmp_path: Path) -> None:
    source = ["x = 1\n", "# " + "c" * 86 + "\n", "y = '" + "s" * 83 + "'"]  # 5, 88 and 89 columns
    page = tmp_path / "page.ipynb"
    page.write_text(json.dumps({"cells": [{"cell_type": "code", "id": "a", "source": source}]}), encoding="utf-8")
    assert wide_lines(page) == ["cell 0 (id a) line 3: 89 columns"]


def test_the_formatter_check_sees_unformatted_code(tmp_path: Path) -> None:
    """The notebooks' config applies (88 columns, not the library's 120), and a badly laid out cell fails."""
    page = tmp_path / "page.ipynb"
    call = "value = some_function(" + ", ".join(f"argument_{n}" for n in range(7)) + ")\n"  # 106 columns
    assert 88 < len(call) <= 120
    page.write_text(
        json.dumps(
            {
                "cells": [
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": call}
                ],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        ),
        encoding="utf-8",
    )
    done = ruff_format_check(page)
    assert done.returncode == 1 and "argument_0," in done.stdout, done.stdout + done.stderr
