"""The embedding_coverage check: production queries that no training example comes near are found and grouped
(by category, or into clusters of similar queries); traffic like the training data passes. Real all-MiniLM-L6-v2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from playbook_lib import sample_data
from playbook_lib.checklist.parse import parse_checklist
from playbook_lib.checklist.run import run_checklist
from playbook_lib.checks import CheckContext, Outcome, get_check
from playbook_lib.checks.embedding import EmbeddingCoverageCheck
from playbook_lib.checks.neighbours import neighbour_clusters
from playbook_lib.checks.statistics import coverage_curve
from playbook_lib.data import load_records, records_from_rows
from playbook_lib.errors import UsageError

DEVICES = ["pH meter", "conductivity meter", "dissolved-oxygen probe", "turbidity sensor", "nitrate probe"]
ACTIONS = ["calibrate", "clean", "store", "replace the battery of", "update the firmware of"]
TRAIN = records_from_rows(
    [
        {"instruction": f"How do I {a} the {d}?", "output": "Follow the steps in the manual.", "category": "support"}
        for d in DEVICES
        for a in ACTIONS
    ]
)
COVERED = [{"instruction": f"how to {a} my {d}", "category": "support"} for d, a in zip(DEVICES, ACTIONS)]
UNCOVERED = [
    {"instruction": "Why was my credit card charged twice for one order?", "category": "billing"},
    {
        "instruction": "I was billed two times for the same order, please refund the double charge.",
        "category": "billing",
    },
    {
        "instruction": "Can I get an invoice with my company's VAT number? Reply to ana.silva@example.org",
        "category": "billing",
    },
]


def test_traffic_like_training_passes_and_no_traffic_is_not_evaluated() -> None:
    result = EmbeddingCoverageCheck().run(TRAIN, CheckContext(traffic=records_from_rows(COVERED)))
    assert result.outcome is Outcome.PASS, result.message
    assert result.summary["uncovered"] == 0 and result.summary["max_similarity"]["p05"] >= 0.5
    assert not result.flags.any() and len(result.flags) == len(TRAIN)
    assert EmbeddingCoverageCheck().run(TRAIN, CheckContext()).outcome is Outcome.NOT_EVALUATED


def test_uncovered_traffic_is_found_and_grouped_by_category() -> None:
    traffic = records_from_rows(COVERED + UNCOVERED)
    check = EmbeddingCoverageCheck()
    sims, nearest_rows = check.max_similarity(TRAIN, traffic)
    assert (sims[:5] >= 0.5).all() and (sims[5:] < 0.5).all(), sims
    assert ((nearest_rows >= 0) & (nearest_rows < len(TRAIN))).all()
    result = check.run(TRAIN, CheckContext(traffic=traffic))
    assert result.summary["uncovered"] == 3 and result.summary["uncovered_share"] == pytest.approx(3 / 8)
    assert result.outcome is Outcome.FAIL  # 37.5 % > fail 20 %
    assert result.summary["grouped_by"] == "category"
    assert result.summary["groups"] == [
        {"group": "billing", "traffic": 3, "uncovered_share": 1.0, "uncovered": 3, "lines": [6, 7, 8]}
    ]
    (example,) = result.examples
    assert example["group"] == "billing" and example["size"] == 3 and 1 <= example["nearest_training_line"] <= 25
    shown = json.dumps(result.to_dict())
    assert "ana.silva@example.org" not in shown


def test_without_categories_uncovered_queries_are_clustered_by_neighbours() -> None:
    rows = COVERED + UNCOVERED + [{"instruction": "What is the best pizza topping?"}]
    traffic = records_from_rows([{k: v for k, v in r.items() if k != "category"} for r in rows])
    result = EmbeddingCoverageCheck(cluster_threshold=0.5).run(TRAIN, CheckContext(traffic=traffic))
    assert result.summary["grouped_by"] == "neighbours" and result.summary["uncovered"] == 4
    groups = [g["lines"] for g in result.summary["groups"]]
    assert sorted(sum(groups, [])) == [6, 7, 8, 9]
    assert [6, 7] in [sorted(g)[:2] for g in groups]  # the two double-charge complaints share a cluster
    assert [9] in groups  # the pizza question stands alone


def test_helpers_and_options() -> None:
    sims = np.array([0.2, 0.5, 0.7, 0.9])
    assert coverage_curve(sims, np.array([0.0, 0.5, 0.8, 1.0])).tolist() == [1.0, 0.75, 0.25, 0.0]
    vectors = np.eye(4, dtype=np.float32)
    vectors[1] = vectors[0]
    assert neighbour_clusters(vectors, 0.9) == [[0, 1], [2], [3]]
    assert get_check("embedding_coverage") is EmbeddingCoverageCheck
    for bad in ({"threshold": 1.5}, {"cluster_threshold": -2.0}, {"fields": []}):
        with pytest.raises(UsageError, match="embedding_coverage:"):
            EmbeddingCoverageCheck(**bad)


def test_bundled_checklist_finds_the_planted_off_topic_rows_and_uncovered_traffic() -> None:
    """The dataset-readiness checklist on the bundled sample: the four off-topic rows planted at the end of
    sft_sample.jsonl are flagged, and the billing queries of sft_traffic.jsonl are the uncovered traffic."""
    spec = parse_checklist(Path(__file__).resolve().parents[2] / "checklists" / "dataset_readiness.yaml")
    train = load_records(sample_data.path("sft_sample.jsonl"))
    traffic = load_records(sample_data.path("sft_traffic.jsonl"))
    report = run_checklist(spec, train, CheckContext(traffic=traffic))
    items = {r.item.id: r for r in report.items}
    relevance = items["quality.relevance.embedding"]
    assert set(train["line"].tail(4)) <= set(relevance.flagged_lines)
    assert {e["line"] for e in relevance.result.examples[:4]} == set(train["line"].tail(4))  # the most off-topic
    embedded = items["coverage.embedding"].result
    billing = set(traffic["line"][traffic["category"] == "billing"])
    first = embedded.summary["groups"][0]
    assert first["group"] == "billing" and set(first["lines"]) == billing
    assert embedded.outcome is Outcome.FAIL
    assert items["coverage.style"].result.summary["missing_slices"] == ["keywords"]
