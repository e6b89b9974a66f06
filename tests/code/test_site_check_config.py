"""``book/_tools/site_check_config.py`` (the partial-build config): bad arguments get one line and exit 2, and the
book's own ``_config.yml`` is never overwritten."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT

TOOL = ROOT / "book" / "_tools" / "site_check_config.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *args], cwd=ROOT, capture_output=True, text=True)


def test_writes_a_config_that_executes_only_the_named_pages(tmp_path: Path) -> None:
    out = tmp_path / "site" / "_config.yml"
    done = run(str(out), "--execute", "ops_06_minimal_rag")
    assert done.returncode == 0, done.stderr
    skipped = yaml.safe_load(out.read_text(encoding="utf-8"))["execute"]["exclude_patterns"]
    assert "**/ops_06_minimal_rag.ipynb" not in skipped and "**/dm_02_dataset_engineering.ipynb" in skipped


def test_refuses_an_unknown_page_an_unwritable_path_and_the_books_own_config(tmp_path: Path) -> None:
    before = (ROOT / "_config.yml").read_bytes()
    cases = [
        ([str(tmp_path / "c.yml"), "--execute", "no_such_page"], "not in _toc.yml: ['no_such_page']"),
        ([str(tmp_path / "file" / "c.yml"), "--execute", "ops_06_minimal_rag"], "cannot write"),
        ([str(ROOT / "_config.yml"), "--execute", "ops_06_minimal_rag"], "refusing to overwrite"),
    ]
    (tmp_path / "file").write_text("a file where a folder is wanted", encoding="utf-8")
    for args, message in cases:
        done = run(*args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert (ROOT / "_config.yml").read_bytes() == before
    assert not (tmp_path / "c.yml").exists()
