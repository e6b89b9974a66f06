"""Every notebook page ends as a d2l section does: a "Try it on your data" cell with the papermill command that runs
this page on other inputs, then two or three exercises. The command must name the page's own file and only
parameters its ``parameters`` cell assigns, so it keeps working when the page changes. Reads the notebooks' JSON;
executes nothing."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PAGES = sorted(NOTEBOOKS.glob("*.ipynb"))

TRY_IT = "## Try it on your data"
EXERCISES = "## Exercises"
# `-p NAME value` (papermill's parameter flag) and `-y "NAME: value"` (its YAML form, for lists)
PARAMETER_FLAG = re.compile(r"(?:^|[\s`])(?:-p|--parameters)\s+([A-Za-z_]\w*)")
YAML_FLAG = re.compile(r"(?:^|[\s`])(?:-y|--parameters_yaml)\s+[\"']\{?\s*([A-Za-z_]\w*)\s*:")
NUMBERED_ITEM = re.compile(r"^(\d+)\. \S", re.MULTILINE)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def parameter_names(path: Path) -> set[str]:
    """The names the page's papermill ``parameters`` cell assigns, from its syntax tree."""
    cells = [c for c in _cells(path) if c["cell_type"] == "code" and "parameters" in c["metadata"].get("tags", [])]
    assert len(cells) == 1, f"{path.name}: expected one cell tagged 'parameters', found {len(cells)}"
    names: set[str] = set()
    for node in ast.parse(_source(cells[0])).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def command_text(markdown: str) -> str:
    """The cell's text with shell line continuations joined, so a wrapped command reads as one line."""
    return re.sub(r"\\\n\s*", " ", markdown)


def flagged_parameters(markdown: str) -> list[str]:
    text = command_text(markdown)
    return PARAMETER_FLAG.findall(text) + YAML_FLAG.findall(text)


def ending_problems(path: Path) -> list[str]:
    """What is wrong with the last two cells of ``path``; empty when the page ends as it should."""
    cells = _cells(path)
    if len(cells) < 2:
        return ["fewer than two cells"]
    try_it, exercises = cells[-2], cells[-1]
    problems = []
    for cell, heading in ((try_it, TRY_IT), (exercises, EXERCISES)):
        first = _source(cell).lstrip().splitlines()[:1]
        if cell["cell_type"] != "markdown" or first != [heading]:
            problems.append(f"cell {cells.index(cell)} should be a markdown cell headed {heading!r}")
    if problems:
        return problems
    text = command_text(_source(try_it))
    if not re.search(rf"papermill\s+notebooks/{re.escape(path.name)}\s", text):
        problems.append(f"the Try-it cell has no `papermill notebooks/{path.name} ...` command")
    known = parameter_names(path)
    for cell, label in ((try_it, "Try-it"), (exercises, "Exercises")):
        flags = flagged_parameters(_source(cell))
        if label == "Try-it" and not flags:
            problems.append("the Try-it command sets no parameter")
        unknown = sorted(set(flags) - known)
        if unknown:
            problems.append(f"the {label} cell sets {unknown}, not assigned in the parameters cell {sorted(known)}")
    numbers = [int(n) for n in NUMBERED_ITEM.findall(_source(exercises))]
    if numbers not in ([1, 2], [1, 2, 3]):
        problems.append(f"the Exercises cell should number 2 or 3 items 1., 2.[, 3.]; found {numbers}")
    return problems


def test_there_are_pages() -> None:
    assert len(PAGES) >= 24, f"{len(PAGES)} notebooks in {NOTEBOOKS}"


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_page_ends_with_try_it_and_exercises(path: Path) -> None:
    assert ending_problems(path) == []


def _notebook(tmp_path: Path, name: str, params: str, try_it: str, exercises: str) -> Path:
    def cell(kind: str, text: str, **extra: object) -> dict:
        return {"cell_type": kind, "metadata": extra.pop("metadata", {}), "source": text, **extra}

    cells = [
        cell("markdown", "# A page"),
        cell("code", params, metadata={"tags": ["parameters"]}, outputs=[], execution_count=None),
        cell("markdown", try_it),
        cell("markdown", exercises),
    ]
    path = tmp_path / name
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


GOOD_TRY = (
    "## Try it on your data\n\n```bash\n.venv/bin/papermill notebooks/x_page.ipynb out.ipynb \\\n"
    '    -p corpus ../shared/data/scifact -y "ks: [1, 2]"\n```\n'
)
GOOD_EXERCISES = "## Exercises\n\n1. Change `k`.\n2. Rerun with\n   `-p seed 1`.\n"
PARAMS = '# Parameters (papermill)\ncorpus = ""\nks = [1, 3]\nseed: int = 0\n'


def test_a_good_ending_passes(tmp_path: Path) -> None:
    assert ending_problems(_notebook(tmp_path, "x_page.ipynb", PARAMS, GOOD_TRY, GOOD_EXERCISES)) == []


@pytest.mark.parametrize(
    ("try_it", "exercises", "expected"),
    [
        (GOOD_TRY.replace("-p corpus", "-p corpora"), GOOD_EXERCISES, "sets ['corpora']"),
        (GOOD_TRY.replace("ks:", "kss:"), GOOD_EXERCISES, "sets ['kss']"),
        (GOOD_TRY, GOOD_EXERCISES.replace("-p seed", "-p sed"), "Exercises cell sets ['sed']"),
        (GOOD_TRY.replace("x_page", "other_page"), GOOD_EXERCISES, "no `papermill notebooks/x_page.ipynb"),
        (GOOD_TRY, "## Exercises\n\n1. Only one.\n", "found [1]"),
        (GOOD_TRY, GOOD_EXERCISES + "3. Three.\n4. Four.\n", "found [1, 2, 3, 4]"),
        (GOOD_TRY.replace("## Try it on your data", "## Try it"), GOOD_EXERCISES, "headed '## Try it on your data'"),
        (GOOD_EXERCISES, GOOD_TRY, "headed"),
    ],
)
def test_a_bad_ending_is_named(tmp_path: Path, try_it: str, exercises: str, expected: str) -> None:
    problems = ending_problems(_notebook(tmp_path, "x_page.ipynb", PARAMS, try_it, exercises))
    assert any(expected in p for p in problems), problems


#: The longest code line a page may show: longer ones are cut off or wrapped mid-expression on the site.
MAX_CODE_LINE = 100


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_no_code_line_is_longer_than_the_page(page: Path) -> None:
    long = [
        (n, len(line))
        for n, cell in enumerate(_cells(page))
        if cell["cell_type"] == "code"
        for line in _source(cell).splitlines()
        if len(line) > MAX_CODE_LINE
    ]
    assert not long, f"{page.name}: (cell, length) of code lines over {MAX_CODE_LINE} characters: {long}"
