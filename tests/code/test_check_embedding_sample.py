"""The ``sample`` option of the embedding checks: a seeded random sample is scored when there are more rows than
``sample``, deterministically, with a Wilson interval that holds the full run's share; small inputs are not sampled.
Runs the real packaged all-MiniLM-L6-v2 on the bundled sample."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib import sample_data
from playbook_lib.checks import CheckContext, embedding
from playbook_lib.checks.embedding import EmbeddingCoverageCheck, RelevanceCheck
from playbook_lib.checks.statistics import sample_positions, wilson_interval
from playbook_lib.data import load_records, records_from_rows
from playbook_lib.errors import UsageError


@pytest.fixture(scope="module")
def train():
    return load_records(sample_data.path("sft_sample.jsonl"))


@pytest.fixture(scope="module")
def traffic():
    return load_records(sample_data.path("sft_traffic.jsonl"))


def test_sample_positions_and_wilson_interval() -> None:
    a = sample_positions(1000, 50, seed=3)
    assert a is not None and len(a) == 50 and len(set(a.tolist())) == 50 and (np.diff(a) > 0).all()
    assert a.tolist() == sample_positions(1000, 50, seed=3).tolist()
    assert a.tolist() != sample_positions(1000, 50, seed=4).tolist()
    assert sample_positions(50, 50) is None and sample_positions(10, None) is None
    lo, hi = wilson_interval(5, 100)  # textbook value: 0.0215-0.1118
    assert abs(lo - 0.0215) < 5e-4 and abs(hi - 0.1118) < 5e-4
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(20, 20)[1] == 1.0
    for bad in (RelevanceCheck, EmbeddingCoverageCheck):
        with pytest.raises(UsageError, match="sample must be"):
            bad(sample=0)


def test_relevance_sample_is_deterministic_and_its_interval_holds_the_full_share(train) -> None:
    full = RelevanceCheck(fields=["instruction", "input"]).run(train, CheckContext())
    assert "sampled" not in full.summary and "off_topic_rate_ci95" not in full.summary
    n = len(train)
    for seed in (0, 1):
        check = RelevanceCheck(fields=["instruction", "input"], sample=70, seed=seed)
        first, again = check.run(train, CheckContext()), check.run(train, CheckContext())
        assert first.to_dict() == again.to_dict() and (first.flags == again.flags).all()
        assert first.summary["sampled"] == f"70 of {n}" and "random sample (70 of" in first.message
        assert len(first.flags) == n and len(first.scores) == n
        picked = sample_positions(n, 70, seed)
        outside = np.setdiff1d(np.arange(n), picked)
        assert not first.flags[outside].any() and not first.scores[outside].any()
        assert first.scores[picked].any()
        assert np.allclose(first.scores[picked], full.scores[picked], atol=1e-5)  # compared with all rows
        assert first.summary["off_topic_rate"] == first.flags.sum() / 70
        lo, hi = first.summary["off_topic_rate_ci95"]
        assert lo <= full.summary["off_topic_rate"] <= hi, (first.summary, full.summary)
        lines = set(train["line"].to_numpy()[picked])
        assert {e["line"] for e in first.examples} <= lines


def test_small_inputs_are_not_sampled(train, traffic) -> None:
    rel = [
        RelevanceCheck(fields=["instruction", "input"], **opts).run(train, CheckContext())
        for opts in ({}, {"sample": len(train)})
    ]
    assert rel[0].to_dict() == rel[1].to_dict() and "sampled" not in rel[1].summary
    cov = [EmbeddingCoverageCheck(**opts).run(train, CheckContext(traffic=traffic)) for opts in ({}, {"sample": 5000})]
    assert cov[0].to_dict() == cov[1].to_dict() and "sampled" not in cov[1].summary


def test_coverage_sample_is_unbiased_and_a_training_cap_leans_towards_uncovered(train, traffic) -> None:
    full = EmbeddingCoverageCheck().run(train, CheckContext(traffic=traffic))
    full_sims, _ = EmbeddingCoverageCheck().max_similarity(train, traffic)
    # queries sampled, every training row searched: each sampled query gets the full run's similarity
    check = EmbeddingCoverageCheck(sample=20, seed=2)
    first = check.run(train, CheckContext(traffic=traffic))
    assert first.to_dict() == check.run(train, CheckContext(traffic=traffic)).to_dict()
    assert first.summary["sampled"] == f"20 of {len(traffic)} queries" and "train_sampled" not in first.summary
    picked = sample_positions(len(traffic), 20, 2)
    expected = int((full_sims[picked] < 0.5).sum())
    assert first.summary["uncovered"] == expected
    lo, hi = first.summary["uncovered_share_ci95"]
    assert 0 < lo <= first.summary["uncovered_share"] <= hi
    queries = set(traffic["line"].to_numpy()[picked])
    assert first.examples and {e["line"] for e in first.examples} <= queries
    assert not first.flags.any() and len(first.flags) == len(train)
    # every query kept, training rows capped: a query's nearest training row can only get less similar
    part = EmbeddingCoverageCheck(train_sample=len(traffic)).run(train, CheckContext(traffic=traffic))
    assert part.summary["sampled"] == f"{len(traffic)} of {len(train)} training rows"
    assert "train_sampled" in part.summary and part.summary["uncovered_share_ci95"][0] == 0.0
    full_lines = {line for g in full.summary["groups"] for line in g["lines"]}
    part_lines = {line for g in part.summary["groups"] for line in g["lines"]}
    assert full_lines <= part_lines and part.summary["uncovered"] >= full.summary["uncovered"]
    assert full.summary["uncovered_share"] <= part.summary["uncovered_share_ci95"][1]
    with pytest.raises(UsageError, match="train_sample must be"):
        EmbeddingCoverageCheck(train_sample=0)


class Lookup:
    """A stand-in for the embedding model: each text is a key of a table of constructed unit vectors, so a check
    runs its own sampling, search and interval code in milliseconds."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def __call__(self, texts, cache=None, model="minilm") -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def covers(lo_hi: list[float], value: float) -> bool:
    # the summary rounds the bounds to 4 decimals
    return lo_hi[0] - 5e-5 <= value <= lo_hi[1] + 5e-5


SEEDS = 200


def test_coverage_interval_holds_the_full_share_in_about_95_percent_of_seeds(monkeypatch) -> None:
    """2,000 training rows on 20 topics, 3,000 queries of which a share asks about 10 topics training lacks (and
    the covered ones vary in closeness): 250 queries sampled per seed, every training row searched. The full run's
    share must lie in the 95 % interval in 90-99 % of 200 seeds. Capping the training rows instead (the old
    sampling) biases the share upwards: its two-sided interval misses far more often, and its one-sided bound
    still holds."""
    rng = np.random.default_rng(0)
    dim = 32
    centres = unit(rng.normal(size=(30, dim)))
    train_topic = rng.integers(0, 20, 2000)
    train_vec = unit(centres[train_topic] + rng.normal(scale=0.12, size=(2000, dim)))
    query_topic = rng.integers(0, 30, 3000)
    query_vec = unit(centres[query_topic] + rng.normal(scale=0.12, size=(3000, dim)) * rng.uniform(0.5, 2.5, (3000, 1)))
    table = {f"train {i}": v for i, v in enumerate(train_vec)} | {f"query {i}": v for i, v in enumerate(query_vec)}
    monkeypatch.setattr(embedding, "embed_texts", Lookup(table))
    train = records_from_rows([{"instruction": f"train {i}", "output": "x"} for i in range(2000)])
    traffic = records_from_rows([{"instruction": f"query {i}"} for i in range(3000)])
    context = CheckContext(traffic=traffic)
    full = EmbeddingCoverageCheck(by=None).run(train, context).summary["uncovered_share"]
    assert 0.1 < full < 0.9, full  # a share with room to miss on either side
    held = capped_held = bound_held = 0
    for seed in range(SEEDS):
        part = EmbeddingCoverageCheck(by=None, sample=250, seed=seed).run(train, context).summary
        assert part["sampled"] == "250 of 3000 queries"
        held += covers(part["uncovered_share_ci95"], full)
        capped = EmbeddingCoverageCheck(by=None, sample=250, train_sample=250, seed=seed).run(train, context).summary
        lo, hi = wilson_interval(capped["uncovered"], 250)
        capped_held += lo <= full <= hi
        bound_held += covers(capped["uncovered_share_ci95"], full)
        assert capped["uncovered_share_ci95"][0] == 0.0 and "train_sampled" in capped
    print(
        f"full share {full:.4f}; interval held in {held}/{SEEDS} seeds (capped training: {capped_held}, bound {bound_held})"
    )
    assert 0.90 * SEEDS <= held <= 0.99 * SEEDS
    assert capped_held < 0.5 * SEEDS and bound_held >= 0.95 * SEEDS


def test_relevance_interval_holds_the_full_share_in_about_95_percent_of_seeds(monkeypatch) -> None:
    """Without a task each sampled row is compared with its nearest rows among all rows, so its similarity is the
    full run's and the sampled share is unbiased: 3,000 rows on 15 topics (and on 40 sparse ones) plus 120 isolated
    off-topic rows, 300 sampled per seed; the full off-topic share lies in the 95 % interval in 90-99 % of 200
    seeds."""
    rng = np.random.default_rng(1)
    dim = 384
    centres = unit(rng.normal(size=(55, dim)))
    topics = np.concatenate([rng.integers(0, 15, 2780), rng.integers(15, 55, 100)])
    on = unit(centres[topics] + rng.normal(scale=0.03, size=(2880, dim)))
    off = unit(rng.normal(size=(120, dim)))
    table = {f"row {i}": v for i, v in enumerate(np.vstack([on, off]))}
    monkeypatch.setattr(embedding, "embed_texts", Lookup(table))
    records = records_from_rows([{"instruction": f"row {i}", "output": "x"} for i in rng.permutation(3000)])
    full = RelevanceCheck(fields=["instruction"]).run(records, CheckContext()).summary
    assert 0.02 < full["off_topic_rate"] < 0.1, full
    held = 0
    for seed in range(SEEDS):
        part = RelevanceCheck(fields=["instruction"], sample=300, seed=seed).run(records, CheckContext()).summary
        held += covers(part["off_topic_rate_ci95"], full["off_topic_rate"])
    print(f"full off-topic share {full['off_topic_rate']:.4f}; interval held in {held}/{SEEDS} seeds")
    assert 0.90 * SEEDS <= held <= 0.99 * SEEDS
