"""The model benchmarks refuse an output path they could never write before they load a model (a full run takes
tens of minutes; a bad ``--out`` must not cost it): one line on stderr, exit code 3 (a usage error)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("bench", ["sampling", "impact", "instruction_following"])
def test_an_unwritable_out_is_refused_before_the_run(bench: str, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("keep me\n", encoding="utf-8")
    for out in (blocker / "table.csv", tmp_path):  # below a file; a folder
        run = subprocess.run(
            [sys.executable, str(ROOT / "bench" / f"{bench}.py"), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 3, run.stderr
        assert run.stderr.count("\n") == 1 and run.stderr.startswith(f"error: --out {out}")
        assert "Traceback" not in run.stderr and run.stdout == ""
    assert blocker.read_text(encoding="utf-8") == "keep me\n"
