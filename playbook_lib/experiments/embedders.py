"""Two embedders for the embedding checks, measured side by side: MiniLM against the static model distilled from it.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``, "Two embedders");
``bench/embedders.py`` runs the same cases at full size and records the numbers.

Each case plants a known truth in real public data (``../shared/data``) or in the bundled sample:

- relevance: rows from other datasets mixed into one dataset, which the ``relevance`` check (the checklist's
  settings: each row against its nearest rows) should flag, and nothing else;
- coverage: production queries of which some come from the training data's own distribution (held out) and some
  from elsewhere, which the ``embedding_coverage`` check should report as uncovered, and nothing else.

:func:`measure` runs a case with one embedder and returns its precision and recall; :func:`calibrate_threshold`
sets an embedder's coverage threshold on a calibration split (never on the cases it is judged on); and
:func:`choose_default` is the rule, fixed before the numbers, that picks the checks' default embedder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.checks import CheckContext
from playbook_lib.checks.embedding import EmbeddingCoverageCheck, RelevanceCheck, default_embedder
from playbook_lib.data import load_records, record_text, records_from_rows
from playbook_lib.sample_data import path as sample_path

#: How much precision or recall the fast embedder may lose on any case and still become the default.
TOLERANCE = 0.02
QUESTIONS = ("instruction", "input")


@dataclass
class Case:
    """A dataset with a planted truth: ``records`` (training rows), ``truth`` (the rows, or with ``traffic`` the
    queries, that should be flagged), and the check ``options``."""

    name: str
    check: str
    records: pd.DataFrame
    truth: np.ndarray
    traffic: pd.DataFrame | None = None
    options: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def _sample(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    rows = np.random.default_rng(seed).permutation(len(frame))[: n if n is not None else len(frame)]
    return frame.iloc[np.sort(rows)].reset_index(drop=True)


def _mix(base: pd.DataFrame, planted: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    mixed = pd.concat([base, planted], ignore_index=True)
    order = np.random.default_rng(seed).permutation(len(mixed))
    return mixed.iloc[order].reset_index(drop=True), order >= len(base)


def relevance_cases(shared: Path | None, base_rows: int | None = None, seed: int = 0) -> list[Case]:
    """The relevance cases: the bundled sample's 4 planted off-topic rows; and, with ``shared`` (the public data
    folder), 1 % LIMA rows (general chat) planted among GSM8K train questions, and 20 SciFact abstracts planted among
    GPTeacher codegen instructions. ``base_rows`` caps the real datasets' rows (``None``: all)."""
    sample = load_records(sample_path("sft_sample.jsonl"))
    last_four = [r["instruction"] for r in _jsonl(sample_path("sft_sample.jsonl"))[-4:]]  # README: at the end
    planted = sample["instruction"].isin(last_four).to_numpy()
    cases = [Case("bundled sample: 4 off-topic rows", "relevance", sample, planted, source="written for this project")]
    if shared is None:
        return cases
    sft = shared / "sft"
    gsm = _sample(load_records(sft / "gsm8k_train.jsonl"), base_rows, seed)
    lima = _sample(load_records(sft / "lima_llamafactory.json"), max(10, len(gsm) // 100), seed + 1)
    mixed, truth = _mix(gsm, lima, seed + 2)
    cases.append(
        Case(f"{truth.sum()} LIMA rows in {len(gsm)} GSM8K questions", "relevance", mixed, truth, source="public")
    )
    code = _sample(load_records(sft / "gpteacher_codegen-instruct.json"), base_rows, seed + 3)
    abstracts = [json.loads(line) for line in (shared / "scifact" / "corpus.jsonl").open(encoding="utf-8")]
    picked = np.random.default_rng(seed + 4).permutation(len(abstracts))[:20]
    sci = records_from_rows([{"instruction": abstracts[i]["title"] + "\n" + abstracts[i]["text"]} for i in picked])
    mixed, truth = _mix(code, sci, seed + 5)
    cases.append(
        Case(f"20 SciFact abstracts in {len(code)} codegen instructions", "relevance", mixed, truth, source="public")
    )
    return cases


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("instruction"), str):
            rows.append(row)
    return rows


def coverage_cases(
    shared: Path | None, half: int, queries: int = 300, train_rows: int | None = None, seed: int = 0
) -> list[Case]:
    """The coverage cases of one ``half`` (0: calibration, 1: evaluation) of held-out queries: the bundled
    traffic (billing never appears in training: uncovered) and, with ``shared``, GSM8K test questions (covered by
    GSM8K train, ``train_rows`` of it; ``None``: all) mixed with LIMA and GPTeacher toolformer instructions
    (uncovered), ``queries`` of each."""
    cases = []
    if half == 1:
        train = load_records(sample_path("sft_sample.jsonl"))
        traffic = load_records(sample_path("sft_traffic.jsonl"))
        truth = (traffic["category"] == "billing").to_numpy()
        cases.append(Case("bundled traffic: billing uncovered", "embedding_coverage", train, truth, traffic))
    if shared is None:
        return cases
    sft = shared / "sft"

    def split(frame: pd.DataFrame, n: int, salt: int) -> pd.DataFrame:
        order = np.random.default_rng(seed + salt).permutation(len(frame))
        return frame.iloc[np.sort(order[half::2][:n])].reset_index(drop=True)

    train = _sample(load_records(sft / "gsm8k_train.jsonl"), train_rows, seed + 5)
    covered = split(load_records(sft / "gsm8k_test.jsonl"), queries, 1)
    other = pd.concat(
        [
            split(load_records(sft / "lima_llamafactory.json"), queries // 2, 2),
            split(load_records(sft / "gpteacher_toolformer-dedupe-only.json"), queries // 2, 3),
        ],
        ignore_index=True,
    )
    traffic, truth = _mix(covered, other, seed + 4)
    name = f"{truth.sum()} LIMA/toolformer + {len(covered)} GSM8K test queries vs GSM8K train"
    cases.append(Case(name, "embedding_coverage", train, truth, traffic, {"by": None}, source="public"))
    return cases


def precision_recall(flags: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Precision (1.0 when nothing is flagged) and recall of ``flags`` against ``truth``."""
    hits = int((flags & truth).sum())
    return (hits / int(flags.sum()) if flags.any() else 1.0), (hits / int(truth.sum()) if truth.any() else 1.0)


def uncovered(case: Case, model: str, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The nearest-training similarity of each of the case's queries with ``model``, and which are uncovered
    (below ``threshold``, default the model's)."""
    check = EmbeddingCoverageCheck(model=model, threshold=threshold, fields=list(QUESTIONS), **case.options)
    assert case.traffic is not None
    sims, _ = check.max_similarity(case.records, case.traffic)
    return sims, ~np.isnan(sims) & (np.nan_to_num(sims, nan=1.0) < check.threshold)


def measure(case: Case, model: str, threshold: float | None = None) -> dict[str, Any]:
    """Run ``case``'s check with ``model`` (the checklist's relevance settings: each row against its 5 nearest
    rows, robust z 3 and the null floor); return precision, recall, flagged count and seconds."""
    start = time.perf_counter()
    if case.check == "relevance":
        check = RelevanceCheck(model=model, fields=list(QUESTIONS), **case.options)
        flags = check.run(case.records, CheckContext()).flags
    else:
        _, flags = uncovered(case, model, threshold)
    precision, recall = precision_recall(flags, case.truth)
    return {
        "case": case.name,
        "check": case.check,
        "model": model,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "flagged": int(flags.sum()),
        "planted": int(case.truth.sum()),
        "seconds": round(time.perf_counter() - start, 2),
    }


def calibrate_threshold(sims: np.ndarray, truth: np.ndarray, grid: Sequence[float] | None = None) -> float:
    """The coverage threshold with the best F1 of "uncovered" against ``truth`` on a calibration split (ties: the
    lowest threshold, which flags least)."""
    values = np.round(np.arange(0.2, 0.95, 0.01), 2) if grid is None else np.asarray(grid, dtype=float)
    best, best_f1 = float(values[0]), -1.0
    for t in values:
        p, r = precision_recall(sims < t, truth)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(t), f1
    return best


def throughput(model: str, texts: Sequence[str]) -> float:
    """Texts per second embedding ``texts`` with ``model`` (loaded first, not timed; no cache)."""
    embedder = default_embedder(model)
    embedder.embed_documents(list(texts[:8]))
    start = time.perf_counter()
    embedder.embed_documents(list(texts))
    return len(texts) / (time.perf_counter() - start)


@dataclass(frozen=True)
class Choice:
    """The default embedder and why."""

    model: str
    reason: str
    worst_loss: float


def choose_default(
    results: pd.DataFrame, fast: str = "static", reference: str = "minilm", tolerance: float = TOLERANCE
) -> Choice:
    """The rule fixed before the numbers: the ``fast`` embedder becomes the default only if on *every* case it
    loses at most ``tolerance`` of precision and of recall against ``reference``; else ``reference`` stays the
    default and the fast one is an option. ``results`` has the columns of :func:`measure`."""
    table = results.pivot_table(index="case", columns="model", values=["precision", "recall"])
    losses = {
        (metric, case): float(table.loc[case, (metric, reference)] - table.loc[case, (metric, fast)])
        for metric in ("precision", "recall")
        for case in table.index
    }
    (metric, case), worst = max(losses.items(), key=lambda kv: kv[1])
    if worst <= tolerance + 1e-9:  # measurements are rounded to 3 places; 1.0 - 0.98 is 0.0200...02 in floats
        return Choice(
            fast, f"{fast} loses at most {max(worst, 0):.3f} (precision or recall) on every case", round(worst, 6)
        )
    return Choice(
        reference,
        f"{fast} loses {worst:.3f} of {metric} on {case!r} (more than {tolerance}): {reference} stays the default",
        round(worst, 6),
    )


def texts_of(records: pd.DataFrame) -> list[str]:
    """The texts the checks embed by default for relevance and coverage (instruction and input)."""
    return [t for t in record_text(records, QUESTIONS) if t.strip()]
