"""The ``sample`` option of the embedding checks: a seeded random sample is scored when there are more rows than
``sample``, deterministically, with a Wilson interval that holds the full run's share; small inputs are not sampled.
Runs the real packaged all-MiniLM-L6-v2 on the bundled sample."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib import sample_data
from playbook_lib.checks import CheckContext
from playbook_lib.checks.embedding import EmbeddingCoverageCheck, RelevanceCheck
from playbook_lib.checks.statistics import sample_positions, wilson_interval
from playbook_lib.data import load_records
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


def test_coverage_sample_is_deterministic_and_leans_towards_uncovered(train, traffic) -> None:
    full = EmbeddingCoverageCheck().run(train, CheckContext(traffic=traffic))
    # every query kept, training rows sampled: a query's nearest training row can only get less similar
    part = EmbeddingCoverageCheck(sample=len(traffic)).run(train, CheckContext(traffic=traffic))
    assert part.summary["sampled"] == f"{len(traffic)} of {len(train)} training rows"
    full_lines = {line for g in full.summary["groups"] for line in g["lines"]}
    part_lines = {line for g in part.summary["groups"] for line in g["lines"]}
    assert full_lines <= part_lines and part.summary["uncovered"] >= full.summary["uncovered"]
    # both sampled: deterministic, the examples come from the sampled queries
    check = EmbeddingCoverageCheck(sample=20, seed=2)
    first = check.run(train, CheckContext(traffic=traffic))
    assert first.to_dict() == check.run(train, CheckContext(traffic=traffic)).to_dict()
    assert first.summary["sampled"] == f"20 of {len(train)} training rows, 20 of {len(traffic)} queries"
    lo, hi = first.summary["uncovered_share_ci95"]
    assert lo <= first.summary["uncovered_share"] <= hi
    queries = set(traffic["line"].to_numpy()[sample_positions(len(traffic), 20, 2)])
    assert first.examples and {e["line"] for e in first.examples} <= queries
    assert not first.flags.any() and len(first.flags) == len(train)
