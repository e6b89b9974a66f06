"""The scaling experiment of the production-checklists page (playbook_lib.experiments.engine_scale)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from playbook_lib.errors import UsageError
from playbook_lib.experiments import engine_scale as es
from playbook_lib.experiments.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]
CHECKLIST = ROOT / "checklists" / "dataset_readiness.yaml"


def test_generate_is_seeded_and_plants_what_it_says(tmp_path: Path) -> None:
    a, b = es.generate(tmp_path / "a", 3_000, seed=4), es.generate(tmp_path / "b", 3_000, seed=4)
    assert a.train.read_bytes() == b.train.read_bytes() and a.planted == b.planted
    assert es.generate(tmp_path / "c", 3_000, seed=5).train.read_bytes() != a.train.read_bytes()
    rows = [json.loads(line) for line in a.train.read_text().splitlines()]
    assert len(rows) == 3_000 and len(a.planted["contaminated"]) == 20
    evals = {r["instruction"] for r in map(json.loads, a.eval.read_text().splitlines())}
    assert all(rows[i]["instruction"] in evals for i in a.planted["contaminated"])
    first = {}
    for i, r in enumerate(rows):
        first.setdefault((r["instruction"], r["output"]), i)
    assert all(first[(rows[i]["instruction"], rows[i]["output"])] < i for i in a.planted["exact"])
    assert all("@" in rows[i]["output"] for i in a.planted["pii"])
    assert sum("@" in r["output"] for r in rows) >= len(a.planted["pii"])
    with pytest.raises(UsageError, match="at least 1,000"):
        es.generate(tmp_path / "d", 999)


def test_model_free_checklist_drops_the_embedding_items_and_never_overwrites(tmp_path: Path) -> None:
    out = es.model_free_checklist(CHECKLIST, tmp_path / "c.yaml")
    original = yaml.safe_load(CHECKLIST.read_text())
    kept = yaml.safe_load(out.read_text())
    assert [i["id"] for i in kept["items"]] == [
        i["id"] for i in original["items"] if i["check"] not in es.EMBEDDING_CHECKS
    ]
    assert len(kept["items"]) < len(original["items"])
    copy = tmp_path / "same.yaml"
    copy.write_text(CHECKLIST.read_text())
    with pytest.raises(UsageError, match="overwrite"):
        es.model_free_checklist(copy, copy)
    assert copy.read_text() == CHECKLIST.read_text()


def test_tree_rss_counts_children() -> None:
    alone = es.tree_rss(os.getpid())
    assert alone > 10_000_000
    run = es.run_tree([sys.executable, "-c", "b = bytearray(300_000_000); import time; time.sleep(0.5)"])
    assert run.returncode == 0 and run.peak_bytes > 300_000_000


def test_tree_pids_finds_grandchildren() -> None:
    script = (
        "import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']);"
    )
    script += " print(c.pid, flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    grandchild = int(child.stdout.readline())
    try:
        assert set(es.tree_pids(child.pid)) == {child.pid, grandchild}
        assert es.tree_rss(child.pid) > es.tree_rss(grandchild) > 0
        assert es.rss_of(es.tree_pids(child.pid)) >= es.tree_rss(grandchild)
    finally:
        os.kill(grandchild, signal.SIGKILL)
        child.kill()
        child.wait()


def _table(local_peaks: list[float], same: bool = True, recall: float = 1.0) -> pd.DataFrame:
    rows = []
    for n, mem, loc in zip((10_000, 40_000, 160_000), (0.5, 0.8, 1.7), local_peaks):
        rows.append({"rows": n, "engine": "memory", "peak_gb": mem, "same_report": True, "recall_exact": 1.0})
        rows.append({"rows": n, "engine": "local", "peak_gb": loc, "same_report": same, "recall_exact": recall})
    return pd.DataFrame(rows)


def test_judge_scaling_holds_fails_and_is_inconclusive() -> None:
    assert es.judge_scaling(_table([0.5, 0.52, 0.55])).verdict is Verdict.HELD
    assert es.judge_scaling(_table([0.5, 0.8, 1.6])).verdict is Verdict.DID_NOT_HOLD  # grows like memory
    assert es.judge_scaling(_table([0.5, 0.5, 0.5], same=False)).verdict is Verdict.DID_NOT_HOLD
    assert es.judge_scaling(_table([0.5, 0.5, 0.5], recall=0.9)).verdict is Verdict.DID_NOT_HOLD
    one = _table([0.5, 0.5, 0.5])
    assert es.judge_scaling(one[one["rows"] == 10_000]).verdict is Verdict.INCONCLUSIVE  # one size: no slope
    assert es.slope(_table([0.5, 0.5, 0.5]), "memory") == pytest.approx(7.8, abs=0.5)


def test_both_engines_on_generated_rows_agree_and_find_the_planted(tmp_path: Path) -> None:
    data = es.generate(tmp_path / "d", 2_000, seed=1)
    checklist = es.model_free_checklist(CHECKLIST, tmp_path / "c.yaml")
    runs = [es.run_check(checklist, data, engine, tmp_path / "out") for engine in ("memory", "local")]
    table = es.runs_table(runs, {2_000: data.planted})
    assert table["same_report"].tolist() == [True, True]
    assert (table.filter(like="recall_") == 1.0).all().all(), table.to_dict("records")
    assert (table["peak_gb"] > 0.05).all() and runs[0].returncode in (0, 1, 2)
    with pytest.raises(UsageError, match="wrote no report"):
        es.run_check(tmp_path / "missing.yaml", data, "local", tmp_path / "out2")
