"""The dataset checklist at growing sizes on each engine: time, peak memory and the report, measured, not assumed.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``, section
"The same checklist at scale"). The page states three things and judges them with :func:`judge_scaling`:

- the engines agree: at every size, ``playbook check --engine local`` (and ``--engine ray`` where it ran) writes
  the same JSON report as ``--engine memory``, every outcome, metric, message and flagged row;
- the streamed engine's memory does not grow with the rows: its peak memory grows by less than a quarter as much
  per row as the in-memory engine's (the slopes of a least-squares line through each engine's points);
- the planted problems are found at every size and by every engine: recall 1.0 of the planted exact
  duplicates, near duplicates, personal data and eval rows copied into training, on rows the checks have never
  seen (generated here, from a seeded vocabulary of made-up words).

Each run is a fresh ``playbook check`` process (:func:`run_check`), so its peak memory is its own: the resident
memory of the process and every process it starts (Ray's workers included), sampled every 50 ms, or the
process's own high-water mark where that is higher (:func:`run_tree`).
The checklist is the shipped one less its two embedding items (:func:`model_free_checklist`): those embed a fixed
sample of rows with MiniLM whatever the size, which would hide how the rest scales.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from playbook_lib.errors import UsageError
from playbook_lib.experiments.planting import fictional_email
from playbook_lib.experiments.verdict import Check, RuleVerdict, rule_verdict

#: Checks that embed rows with a model: left out of the scaling runs (:func:`model_free_checklist`).
EMBEDDING_CHECKS = ("relevance", "embedding_coverage")
#: The planted kinds and the check that must flag them.
PLANTED_BY = {"exact": "exact_duplicates", "near": "near_duplicates", "pii": "pii", "contaminated": "contamination"}
#: How much more slowly (per row) the streamed engine's peak memory may grow than the in-memory engine's.
SLOPE_SHARE = 0.25


@dataclass(frozen=True)
class Generated:
    """Files written by :func:`generate` and the 0-based training rows planted with each problem."""

    train: Path
    eval: Path
    traffic: Path
    rows: int
    planted: dict[str, list[int]] = field(default_factory=dict)


def _vocabulary(rng: np.random.Generator, size: int = 20_000) -> list[str]:
    syllables = [a + b for a in "bcdfghklmnprstvz" for b in "aeiou"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(syllables[int(i)] for i in rng.integers(0, len(syllables), int(rng.integers(2, 4)))))
    return sorted(words)


def _text(rng: np.random.Generator, vocab: Sequence[str], low: int, high: int) -> str:
    return " ".join(vocab[int(i)] for i in rng.integers(0, len(vocab), int(rng.integers(low, high))))


def _row(rng: np.random.Generator, vocab: Sequence[str], number: int) -> dict[str, Any]:
    return {
        "id": f"r{number}",
        "instruction": _text(rng, vocab, 8, 16).capitalize() + "?",
        "input": "",
        "output": _text(rng, vocab, 40, 70).capitalize() + ".",
        "category": ("qa", "summary", "howto", "classify")[number % 4],
        "provenance": "human" if number % 3 else "synthetic",
        "licence": "CC-BY-4.0",
    }


def _near_copy(row: Mapping[str, Any], rng: np.random.Generator, vocab: Sequence[str]) -> dict[str, Any]:
    """One word of the output replaced: about 3 of 50-odd word 3-grams differ (Jaccard about 0.9)."""
    words = str(row["output"]).split(" ")
    words[int(rng.integers(1, len(words) - 1))] = vocab[int(rng.integers(0, len(vocab)))]
    return {**row, "output": " ".join(words)}


def generate(folder: str | Path, rows: int, seed: int = 0) -> Generated:
    """Write ``train.jsonl`` (``rows`` rows), ``eval.jsonl`` and ``traffic.jsonl`` (500 rows each) into ``folder``,
    made-up instruction rows with planted problems: 1 % exact copies of earlier rows, 1 % near copies (one output
    word replaced), 0.5 % rows with a fictional personal e-mail address, and 20 eval rows copied into training.
    Written a row at a time (memory does not grow with ``rows``); the same ``seed`` writes the same bytes.

    Raises:
        UsageError: ``rows`` below 1,000 (too few for every planted kind).
    """
    if rows < 1_000:
        raise UsageError(f"generate: rows must be at least 1,000, got {rows}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng)
    evals = [_row(rng, vocab, 10_000_000 + i) for i in range(500)]
    copied = iter(sorted(rng.choice(np.arange(rows // 10, rows), 20, replace=False).tolist()))
    next_copy = next(copied)
    planted: dict[str, list[int]] = {"exact": [], "near": [], "pii": [], "contaminated": []}
    recent: list[dict[str, Any]] = []  # the rows copies are taken from: a window, not the whole set
    with (folder / "train.jsonl").open("w", encoding="utf-8") as out:
        for number in range(rows):
            draw = rng.random()
            if number == next_copy:
                row = {**evals[len(planted["contaminated"])], "id": f"r{number}"}
                planted["contaminated"].append(number)
                next_copy = next(copied, -1)
            elif recent and draw < 0.01:
                row = {**recent[int(rng.integers(0, len(recent)))], "id": f"r{number}"}
                planted["exact"].append(number)
            elif recent and draw < 0.02:
                row = {**_near_copy(recent[int(rng.integers(0, len(recent)))], rng, vocab), "id": f"r{number}"}
                planted["near"].append(number)
            else:
                row = _row(rng, vocab, number)
                if draw > 0.995:
                    row["output"] += f" Write to {fictional_email(rng)} for the form."
                    planted["pii"].append(number)
                if len(recent) < 5_000:
                    recent.append(row)
                else:
                    recent[int(rng.integers(0, len(recent)))] = row
            out.write(json.dumps(row) + "\n")
    for name, table in (("eval", evals), ("traffic", [_row(rng, vocab, 20_000_000 + i) for i in range(500)])):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in table), encoding="utf-8")
    return Generated(folder / "train.jsonl", folder / "eval.jsonl", folder / "traffic.jsonl", rows, planted)


def model_free_checklist(checklist: str | Path, out: str | Path) -> Path:
    """A copy of ``checklist`` at ``out`` without the items of :data:`EMBEDDING_CHECKS` (never in place)."""
    checklist, out = Path(checklist), Path(out)
    if out.resolve() == checklist.resolve():
        raise UsageError(f"{out}: the copy would overwrite its checklist")
    spec = yaml.safe_load(checklist.read_text(encoding="utf-8"))
    spec["items"] = [i for i in spec["items"] if i.get("check") not in EMBEDDING_CHECKS]
    out.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return out


def _children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found = []
    for task in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def _status_bytes(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_pids(pid: int) -> list[int]:
    """Process ``pid`` and all its descendants alive now (Linux ``/proc``; ``[pid]`` where it cannot read)."""
    found, todo, seen = [], [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        found.append(p)
        todo += _children(p)
    return found


def tree_rss(pid: int) -> int:
    """Resident bytes of process ``pid`` and all its descendants now (Linux ``/proc``; 0 where it cannot read;
    pages shared between processes count once per process)."""
    return rss_of(tree_pids(pid))


def rss_of(pids: Iterable[int]) -> int:
    """The summed resident bytes of ``pids`` now (0 for one that is gone), e.g. of :func:`tree_pids`' list."""
    return sum(_status_bytes(p) for p in pids)


@dataclass(frozen=True)
class TreeRun:
    """A finished command: exit code, wall seconds, peak resident bytes of its process tree, its stderr."""

    returncode: int
    seconds: float
    peak_bytes: int
    stderr: str


def run_tree(command: Sequence[str], interval: float = 0.05, env: Mapping[str, str] | None = None) -> TreeRun:
    """Run ``command`` (in ``env``; default: this process's environment) and sample the resident memory of its
    process tree every ``interval`` seconds; the peak is the larger of the sampled tree's and the command's own
    high-water mark (``VmHWM``, exact however brief its peak, read while it runs).

    Raises:
        UsageError: not on Linux (the tree is read from ``/proc``).
    """
    if not Path("/proc/self/status").exists():
        raise UsageError("run_tree measures memory from /proc: Linux only")
    start = time.perf_counter()
    with subprocess.Popen(
        list(command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else dict(env),
    ) as process:
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid), _status_bytes(process.pid, "VmHWM"))
            time.sleep(interval)
        stderr = process.stderr.read() if process.stderr is not None else ""
    return TreeRun(process.returncode, time.perf_counter() - start, peak, stderr)


@dataclass(frozen=True)
class EngineRun:
    """One ``playbook check`` run: its size, engine, measured cost, its JSON report and the rows it flagged."""

    rows: int
    engine: str
    seconds: float
    peak_bytes: int
    returncode: int
    report: dict[str, Any]
    flagged: dict[str, list[int]]


def run_check(
    checklist: str | Path,
    data: Generated,
    engine: str,
    work: str | Path,
    batch_rows: int | None = None,
    memory_limit: str | None = None,
    extra: Sequence[str] = (),
) -> EngineRun:
    """``playbook check checklist --data --eval --traffic --engine engine`` in a fresh process, measured by
    :func:`run_tree`; the JSON report and the flagged rows (``--flags``) read back. ``batch_rows`` and
    ``memory_limit`` are given to the batched engines (``--batch-rows``, ``--memory-limit``: the memory engine has
    neither batches nor a feature store).

    Raises:
        UsageError: the run wrote no report (its last line of stderr is the message).
    """
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    report, flags = work / f"{engine}-{data.rows}.json", work / f"{engine}-{data.rows}.flags.jsonl"
    command = [sys.executable, "-m", "playbook_lib", "check", str(checklist), "--data", str(data.train)]
    command += ["--eval", str(data.eval), "--traffic", str(data.traffic), "--engine", engine]
    command += ["--json", str(report), "--flags", str(flags), "-q", *extra]
    if batch_rows is not None and engine != "memory":
        command += ["--batch-rows", str(batch_rows)]
    if memory_limit is not None and engine != "memory":
        command += ["--memory-limit", memory_limit]
    done = run_tree(command)
    if not report.exists():
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise UsageError(f"playbook check --engine {engine} at {data.rows} rows wrote no report: {last}")
    flagged: dict[str, list[int]] = {}
    for line in flags.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        flagged.setdefault(row["check"], []).append(int(row["row"]))
    loaded = json.loads(report.read_text(encoding="utf-8"))
    return EngineRun(data.rows, engine, done.seconds, done.peak_bytes, done.returncode, loaded, flagged)


def comparable(report: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON report without what names the run rather than the data (the checklist's path, the flags file's path);
    every outcome, metric, message, example and flagged row stays."""
    out = {k: v for k, v in report.items() if k != "checklist_path"}
    if isinstance(out.get("data"), Mapping):
        out["data"] = {k: v for k, v in out["data"].items() if k != "flags_file"}
    return out


def recall(run: EngineRun, planted: Mapping[str, Sequence[int]]) -> dict[str, float]:
    """Share of each planted kind's rows that its check flagged (:data:`PLANTED_BY`)."""
    out = {}
    for kind, rows in planted.items():
        flagged = set(run.flagged.get(PLANTED_BY[kind], ()))
        out[kind] = sum(r in flagged for r in rows) / len(rows) if rows else float("nan")
    return out


def runs_table(runs: Sequence[EngineRun], planted: Mapping[int, Mapping[str, Sequence[int]]]) -> pd.DataFrame:
    """One row per run: rows, engine, seconds, peak GB, rows/s, same report as memory's, each planted recall."""
    base = {r.rows: comparable(r.report) for r in runs if r.engine == "memory"}
    table = []
    for r in runs:
        row: dict[str, Any] = {"rows": r.rows, "engine": r.engine, "seconds": round(r.seconds, 2)}
        row["peak_gb"] = round(r.peak_bytes / 1e9, 3)
        row["rows_per_s"] = round(r.rows / r.seconds) if r.seconds else None
        row["same_report"] = comparable(r.report) == base[r.rows] if r.rows in base else None
        row.update({f"recall_{k}": v for k, v in recall(r, planted[r.rows]).items()})
        table.append(row)
    return pd.DataFrame(table)


def slope(table: pd.DataFrame, engine: str, column: str = "peak_gb") -> float:
    """Least-squares slope of ``column`` against rows (per million rows) for ``engine``; NaN under two sizes."""
    part = table[table["engine"] == engine]
    if part["rows"].nunique() < 2:
        return float("nan")
    return float(np.polyfit(part["rows"].to_numpy(float) / 1e6, part[column].to_numpy(float), 1)[0])


def judge_scaling(table: pd.DataFrame) -> RuleVerdict:
    """The page's claim over :func:`runs_table`: the engines agree, the streamed engine's peak memory grows by
    less than :data:`SLOPE_SHARE` of the in-memory engine's per row, and every planted problem is found."""
    others = table[table["engine"] != "memory"]
    memory_slope, local_slope = slope(table, "memory"), slope(table, "local")
    recalls = [c for c in table.columns if c.startswith("recall_")]
    checks = [
        Check(
            "every engine writes the memory engine's report at every size",
            bool(len(others)) and bool(others["same_report"].fillna(False).astype(bool).all()),
            f"{int(others['same_report'].fillna(False).astype(bool).sum())} of {len(others)} runs identical",
        ),
        Check(
            f"the local engine's peak memory grows < {SLOPE_SHARE:g}x the memory engine's per row",
            None
            if np.isnan(memory_slope) or np.isnan(local_slope) or memory_slope <= 0
            else bool(local_slope < SLOPE_SHARE * memory_slope),
            f"slopes {local_slope:+.2f} vs {memory_slope:+.2f} GB per million rows",
        ),
        Check(
            "every planted problem is found by every engine at every size",
            bool(len(table)) and bool((table[recalls] == 1.0).all().all()),
            f"lowest recall {float(table[recalls].min().min()):.3f}" if len(table) and recalls else "no runs",
        ),
    ]
    return rule_verdict("The checklist's engines agree, and the streamed one's memory stays flat", checks)
