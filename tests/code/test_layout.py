"""The library's layout rules that import-linter does not see (its contracts live in pyproject.toml and run in
``make lint``): every function-local import says why it is local, and no two modules share a name."""

from __future__ import annotations

import ast
import collections
from pathlib import Path

import playbook_lib

ROOT = Path(playbook_lib.__file__).parent


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def function_local_imports(path: Path) -> list[tuple[int, str, str]]:
    """``(line, module, source)`` of each import statement inside a function of ``path``; ``source`` is the
    statement's lines, comments included."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found: dict[int, tuple[int, str, str]] = {}
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    module = node.module or "" if isinstance(node, ast.ImportFrom) else node.names[0].name
                    end = node.end_lineno or node.lineno
                    found[node.lineno] = (node.lineno, module, "\n".join(lines[node.lineno - 1 : end]))
    return sorted(found.values())


def test_every_function_local_import_says_why() -> None:
    """An import inside a function is there to keep ``import playbook_lib...`` light (tests/code/test_imports.py) and
    carries ``# lazy: <reason>``; any other import belongs at the top of its module."""
    missing = [
        f"{path.relative_to(ROOT.parent)}:{line}: import {module}"
        for path in _modules()
        for line, module, text in function_local_imports(path)
        if "# lazy: " not in text or not text.split("# lazy: ", 1)[1].strip()
    ]
    assert missing == [], "function-local imports without a '# lazy: <reason>' comment:\n" + "\n".join(missing)


def test_the_rule_sees_an_unexplained_local_import(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text(
        "def f():\n    import json\n    from os import (\n        path,  # lazy: a reason\n    )\n"
        "    import math  # lazy: \n    return json\n",
        encoding="utf-8",
    )
    found = function_local_imports(sample)
    assert [(line, module) for line, module, _ in found] == [(2, "json"), (3, "os"), (6, "math")]
    explained = [m for _, m, text in found if "# lazy: " in text and text.split("# lazy: ", 1)[1].strip()]
    assert explained == ["os"]


def test_no_two_modules_share_a_name() -> None:
    """``experiments/formatting`` next to ``checks/formatting`` made every traceback and import ambiguous."""
    names = collections.defaultdict(list)
    for path in _modules():
        if path.name not in {"__init__.py", "__main__.py"}:
            names[path.stem].append(str(path.relative_to(ROOT)))
    assert {k: v for k, v in names.items() if len(v) > 1} == {}


def environment_reads(path: Path) -> list[int]:
    """Lines of ``path`` that read the process environment: ``os.environ`` / ``os.getenv`` / ``environ`` / ``getenv``
    however imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hits = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb", "getenvb"}:
            hits.add(node.lineno)
        elif isinstance(node, ast.Name) and node.id in {"environ", "getenv"}:
            hits.add(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(a.name in {"environ", "getenv", "environb", "getenvb"} for a in node.names):
                hits.add(node.lineno)
    return sorted(hits)


def test_only_settings_reads_the_environment() -> None:
    """``playbook_lib.settings`` documents and validates every variable; a read anywhere else escapes both."""
    found = [
        f"{path.relative_to(ROOT.parent)}:{line}"
        for path in _modules()
        if path != ROOT / "settings.py"
        for line in environment_reads(path)
    ]
    assert found == [], "os.environ read outside playbook_lib/settings.py:\n" + "\n".join(found)


def test_the_environment_rule_sees_every_spelling(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text(
        "import os\nfrom os import environ\na = os.environ.get('A')\nb = os.getenv('B')\nc = environ['C']\n"
        "d = os.path.join('x')\n",
        encoding="utf-8",
    )
    assert environment_reads(sample) == [2, 3, 4, 5]
