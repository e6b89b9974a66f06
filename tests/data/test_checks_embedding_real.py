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

from playbook_lib.checklist.parse import parse_checklist
from playbook_lib.checks import CheckContext
from playbook_lib.checks.embedding import EmbeddingCoverageCheck, RelevanceCheck
from playbook_lib.checks.statistics import coverage_curve
from playbook_lib.data import load_records, records_from_rows
from tests.conftest import need

QUESTIONS = ["instruction", "input"]
MATH_TASK = (
    "Grade-school math word problems: a short story with quantities and a question, answered by "
    "step-by-step arithmetic ending in a number."
)


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
    """Questions only, default z 3. Measured (precision / recall of the 20 planted rows):
    against 60 GSM8K reference questions 0.91 / 1.00 (22 flagged); against the task description alone at z 2.5
    1.00 / 0.90 (at z 3: 1.00 / 0.75); description and references together 1.00 / 0.95; against each row's 5 nearest
    other rows 0.90 / 0.95 (the 20 LIMA rows are diverse, not a cluster). Clean control, the 200 GSM8K rows alone:
    5 flagged with the references (2.5 %, the least "mathy" questions), 2 with the description.
    Negative control: with LIMA rows as the references, nothing is flagged (recall 0.00)."""
    mixed, truth, gsm_refs, lima_refs = planted
    refs = write_references(gsm_refs, tmp_path / "gsm_refs.jsonl")
    result = RelevanceCheck(references=str(refs), fields=QUESTIONS).run(mixed, CheckContext())
    precision, recall = precision_recall(result.flags, truth)
    assert precision >= 0.85 and recall >= 0.9, (precision, recall)
    worst = {e["line"] for e in result.examples}
    assert worst <= set(mixed["line"][truth].tolist())  # the most off-topic examples are planted rows
    for options, (min_precision, min_recall) in (
        ({"task": MATH_TASK, "z_threshold": 2.5}, (0.9, 0.8)),
        ({"task": MATH_TASK, "references": str(refs)}, (0.9, 0.85)),
        ({}, (0.8, 0.85)),
    ):
        flags = RelevanceCheck(fields=QUESTIONS, **options).run(mixed, CheckContext()).flags
        precision, recall = precision_recall(flags, truth)
        assert precision >= min_precision and recall >= min_recall, (options, precision, recall)

    clean = mixed[~truth].reset_index(drop=True)
    clean_rate = (
        RelevanceCheck(references=str(refs), fields=QUESTIONS).run(clean, CheckContext()).summary["off_topic_rate"]
    )
    assert clean_rate <= 0.04
    wrong = write_references(lima_refs, tmp_path / "lima_refs.jsonl")
    control = RelevanceCheck(references=str(wrong), fields=QUESTIONS).run(mixed, CheckContext())
    assert precision_recall(control.flags, truth)[1] <= 0.2  # the signal comes from the references


def test_gsm8k_test_is_covered_by_gsm8k_train_not_by_toolformer(shared_data: Path) -> None:
    """50 GSM8K test questions against 150 GSM8K train questions: nearest-neighbour similarity median 0.60 (p05 0.45),
    so 14 % uncovered at the default threshold 0.5 and none at 0.4 (a 150-row sample leaves sparser neighbours
    than the full 7,473 rows would). Against 150 GPTeacher toolformer rows: median 0.20, p75 0.23: all uncovered, and
    40 of the 50 form one cluster of similar queries (single linkage at 0.5): the gap reads as one topic."""
    queries = sample(sft(shared_data, "gsm8k_test.jsonl"), 50, seed=1)
    gsm = sample(sft(shared_data, "gsm8k_train.jsonl"), 150, seed=2)
    tools = sample(sft(shared_data, "gpteacher_toolformer-dedupe-only.json"), 150, seed=3)
    check = EmbeddingCoverageCheck(threshold=0.4, by=None)
    covered = check.run(gsm, CheckContext(traffic=queries))
    uncovered = check.run(tools, CheckContext(traffic=queries))
    assert covered.summary["uncovered_share"] <= 0.06, covered.summary
    assert uncovered.summary["uncovered_share"] >= 0.95, uncovered.summary
    assert covered.summary["max_similarity"]["p05"] > uncovered.summary["max_similarity"]["p75"] + 0.1
    groups = uncovered.summary["groups"]
    assert uncovered.summary["grouped_by"] == "neighbours" and groups[0]["uncovered"] >= 25  # one math cluster
    sims, _ = check.max_similarity(gsm, queries)
    curve = coverage_curve(sims, np.array([0.3, 0.4, 0.5, 0.6]))
    assert (np.diff(curve) <= 0).all() and curve[0] == 1.0


def checklist_relevance_options() -> dict:
    """The quality.relevance.embedding item's options, as the shipped checklist sets them."""
    spec = parse_checklist(Path(__file__).resolve().parents[2] / "checklists" / "dataset_readiness.yaml")
    (item,) = [i for i in spec.items if i.id == "quality.relevance.embedding"]
    return {k: v for k, v in item.params.items() if k not in ("warn", "fail")}


@pytest.mark.parametrize("name", ["gsm8k_test.jsonl", "lima_llamafactory.json"])
def test_clean_real_data_raises_almost_no_false_alarm_with_the_checklist_settings(shared_data: Path, name) -> None:
    """The checklist's settings on clean public data (every row scored: both sets are under its 2,000-row sample):
    measured 1 of 1,319 GSM8K test questions flagged (0.08 %; the z-score alone flagged 8, 0.61 %) and 0 of 1,029
    LIMA rows. The README gives the other datasets. Fails above 0.5 %."""
    options = checklist_relevance_options()
    assert options["z_threshold"] == 3.0 and options["min_similarity"] is not None and options["null_floor"]
    records = sft(shared_data, name)
    result = RelevanceCheck(**options).run(records, CheckContext())
    rate = result.summary["off_topic_rate"]
    print(f"{name}: {result.summary['off_topic']} of {len(records)} rows flagged ({rate:.2%}); {result.summary}")
    assert "sampled" not in result.summary and rate <= 0.005, result.examples
    z_only = RelevanceCheck(**{**options, "min_similarity": None, "null_floor": False}).run(records, CheckContext())
    assert z_only.summary["off_topic"] >= result.summary["off_topic"]  # the floor only removes flags


def test_scifact_abstracts_and_math_planted_in_code_instructions_are_found(shared_data: Path) -> None:
    """Off-topic rows from very different real data planted in 600 GPTeacher codegen instructions, with the
    checklist's settings. Ten SciFact abstracts (biomedical, each alone on its topic) are found by comparing each
    row with its nearest rows: measured recall 9/10, 1 of the 600 codegen rows flagged (0.2 %; this sparse
    600-row sample has fewer close neighbours than the full set, where none is). Twenty GSM8K questions form a
    cluster of their own (each one's nearest rows are the other math questions), which neighbours cannot find
    (measured 0 of 20): the known limit that a ``task`` or ``references`` addresses."""
    code = sample(sft(shared_data, "gpteacher_codegen-instruct.json"), 600, seed=4)
    base = code.iloc[:600]
    corpus = shared_data / "scifact" / "corpus.jsonl"
    need(corpus.is_file(), f"{corpus} not found")
    abstracts = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    picked = np.random.default_rng(5).permutation(len(abstracts))[:10]
    sci = records_from_rows([{"instruction": abstracts[i]["title"] + "\n" + abstracts[i]["text"]} for i in picked])
    math = sample(sft(shared_data, "gsm8k_train.jsonl"), 20, seed=6)
    options = checklist_relevance_options()

    mixed = pd.concat([base, sci], ignore_index=True)
    truth = np.arange(len(mixed)) >= len(base)
    flags = RelevanceCheck(**options).run(mixed, CheckContext()).flags
    precision, recall = precision_recall(flags, truth)
    print(f"SciFact in codegen, neighbours: precision {precision:.2f} recall {recall:.2f}")
    assert recall >= 0.8 and precision >= 0.75, (precision, recall)

    mixed = pd.concat([base, math], ignore_index=True)
    truth = np.arange(len(mixed)) >= len(base)
    neighbours = RelevanceCheck(**options).run(mixed, CheckContext()).flags
    print(f"GSM8K cluster in codegen, neighbours: {int((neighbours & truth).sum())} of 20 found")
    assert precision_recall(neighbours, truth)[1] <= 0.2  # a cluster is not unlike every other row: a known limit


def test_static_embedder_is_weaker_than_minilm_on_the_planted_lima_rows(planted) -> None:
    """The measurement behind the default (``bench/embedders.py`` at full size: LIMA recall 0.08 static vs 0.80
    MiniLM). On this 220-row fixture with each row against its nearest rows, measured recall: MiniLM 0.95, static
    0.25; the static model's similarities are compressed (random pairs of GSM8K questions: 0.44 vs 0.35), so the
    planted rows stay above the null floor."""
    mixed, truth, _, _ = planted
    recall = {
        model: precision_recall(RelevanceCheck(model=model, fields=QUESTIONS).run(mixed, CheckContext()).flags, truth)[
            1
        ]
        for model in ("minilm", "static")
    }
    print(f"recall of the 20 planted LIMA rows: {recall}")
    assert recall["minilm"] >= 0.85 and recall["minilm"] - recall["static"] > 0.02, recall


def test_static_coverage_on_held_out_queries(shared_data: Path) -> None:
    """The evaluation half of the coverage case (300 GSM8K test questions, covered, and 300 LIMA/toolformer
    instructions, not) against all of GSM8K train, at the static model's threshold calibrated on the other half
    (0.72). Measured precision 0.897, recall 0.903 (MiniLM at its 0.5: 0.997 / 0.987)."""
    from playbook_lib.experiments.embedders import coverage_cases, measure

    (case,) = [c for c in coverage_cases(shared_data, half=1) if c.source == "public"]
    result = measure(case, "static")
    print(result)
    assert result["precision"] >= 0.85 and result["recall"] >= 0.85, result
