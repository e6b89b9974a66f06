"""Embedding relevance and coverage on real public data from ``../shared/data/sft`` (nothing copied into the repo).

Relevance: LIMA rows (general chat) planted among GSM8K math word problems are off-topic for a math task, and the
check must find them, measured by precision and recall against the planted truth. Coverage: GSM8K test questions
have near neighbours in GSM8K train and none in GPTeacher toolformer. Fixed-seed subsamples keep each test well
under a minute with one thread; numbers measured on this machine are in the docstrings.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playbook_lib.checks import CheckContext
from playbook_lib.checks.embedding import EmbeddingCoverageCheck, RelevanceCheck
from playbook_lib.data import load_records
from tests.conftest import need

QUESTIONS = ["instruction", "input"]
MATH_TASK = ("Grade-school math word problems: a short story with quantities and a question, answered by "
             "step-by-step arithmetic ending in a number.")


def sft(shared_data: Path, name: str) -> pd.DataFrame:
    path = shared_data / "sft" / name
    need(path.is_file(), f"{path} not found")
    return load_records(path)


def sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    rows = np.random.default_rng(seed).permutation(len(frame))[:n]
    return frame.iloc[np.sort(rows)].reset_index(drop=True)


def write_references(frame: pd.DataFrame, path: Path) -> Path:
    path.write_text("".join(json.dumps({"instruction": t}) + "\n" for t in frame["instruction"]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def planted(shared_data: Path) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, pd.DataFrame]:
    """200 GSM8K train questions with 20 LIMA rows mixed in at random positions; disjoint GSM8K and LIMA samples
    to serve as reference examples."""
    gsm = sft(shared_data, "gsm8k_train.jsonl")
    lima = sft(shared_data, "lima_llamafactory.json")
    order = np.random.default_rng(7).permutation(len(gsm))
    base, gsm_refs = gsm.iloc[order[:200]], gsm.iloc[order[200:260]]
    lima_order = np.random.default_rng(8).permutation(len(lima))
    off_topic, lima_refs = lima.iloc[lima_order[:20]], lima.iloc[lima_order[20:80]]
    mixed = pd.concat([base, off_topic], ignore_index=True)
    shuffle = np.random.default_rng(9).permutation(len(mixed))
    mixed = mixed.iloc[shuffle].reset_index(drop=True)
    truth = shuffle >= len(base)
    return mixed, truth, gsm_refs, lima_refs


def precision_recall(flags: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    hits = int((flags & truth).sum())
    return hits / max(int(flags.sum()), 1), hits / int(truth.sum())


def test_lima_rows_planted_in_gsm8k_are_off_topic(planted, tmp_path: Path) -> None:
    """Measured: against 60 GSM8K reference questions, precision 1.00 / recall 1.00 (20 flagged); against the task
    description alone at z 2.5, precision P_TASK / recall R_TASK. Clean GSM8K (the 200 base rows alone) flags
    N_CLEAN rows. Negative control: with LIMA rows as the references, the planted LIMA rows are no longer found."""
    mixed, truth, gsm_refs, lima_refs = planted
    refs = write_references(gsm_refs, tmp_path / "gsm_refs.jsonl")
    result = RelevanceCheck(references=str(refs), fields=QUESTIONS).run(mixed, CheckContext())
    precision, recall = precision_recall(result.flags, truth)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    worst = {e["line"] for e in result.examples}
    assert worst <= set(mixed["line"][truth].tolist())  # the most off-topic examples are planted rows

    described = RelevanceCheck(task=MATH_TASK, z_threshold=2.5, fields=QUESTIONS).run(mixed, CheckContext())
    precision, recall = precision_recall(described.flags, truth)
    assert precision >= 0.8 and recall >= 0.7, (precision, recall)

    clean = mixed[~truth].reset_index(drop=True)
    assert RelevanceCheck(references=str(refs), fields=QUESTIONS).run(clean, CheckContext()).summary[
        "off_topic_rate"] <= 0.02
    wrong = write_references(lima_refs, tmp_path / "lima_refs.jsonl")
    control = RelevanceCheck(references=str(wrong), fields=QUESTIONS).run(mixed, CheckContext())
    assert precision_recall(control.flags, truth)[1] <= 0.2  # the signal comes from the references


def test_gsm8k_test_is_covered_by_gsm8k_train_not_by_toolformer(shared_data: Path) -> None:
    """50 GSM8K test questions against 150 GSM8K train questions: uncovered share U_GSM at threshold 0.5 (median
    nearest-neighbour similarity M_GSM); against 150 GPTeacher toolformer rows: U_TOOL (median M_TOOL)."""
    queries = sample(sft(shared_data, "gsm8k_test.jsonl"), 50, seed=1)
    gsm = sample(sft(shared_data, "gsm8k_train.jsonl"), 150, seed=2)
    tools = sample(sft(shared_data, "gpteacher_toolformer-dedupe-only.json"), 150, seed=3)
    check = EmbeddingCoverageCheck(threshold=0.5, by=None)
    covered = check.run(gsm, CheckContext(traffic=queries))
    uncovered = check.run(tools, CheckContext(traffic=queries))
    assert covered.summary["uncovered_share"] <= 0.1, covered.summary
    assert uncovered.summary["uncovered_share"] >= 0.9, uncovered.summary
    assert covered.summary["max_similarity"]["median"] - uncovered.summary["max_similarity"]["median"] >= 0.2
    assert uncovered.summary["grouped_by"] == "neighbours" and uncovered.summary["groups"]
    assert sum(g["uncovered"] for g in uncovered.summary["groups"]) == uncovered.summary["uncovered"] or \
        len(uncovered.summary["groups"]) == 20  # the summary lists at most 20 groups
