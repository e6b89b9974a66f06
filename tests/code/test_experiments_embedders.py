"""The rule that picks the embedding checks' default embedder, and the coverage-threshold calibration, on
constructed measurements (the real ones are in ``bench/embedders.py`` and ``tests/data``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from playbook_lib.experiments.embedders import (
    calibrate_threshold,
    choose_default,
    precision_recall,
    relevance_cases,
)


def table(static: list[tuple[float, float]], minilm: list[tuple[float, float]]) -> pd.DataFrame:
    rows = []
    for model, values in (("static", static), ("minilm", minilm)):
        for i, (p, r) in enumerate(values):
            rows.append({"case": f"case {i}", "model": model, "precision": p, "recall": r})
    return pd.DataFrame(rows)


def test_the_fast_model_becomes_the_default_only_within_the_tolerance_on_every_case() -> None:
    same = choose_default(table([(0.99, 0.98), (1.0, 1.0)], [(1.0, 1.0), (1.0, 0.99)]))
    assert same.model == "static" and same.worst_loss <= 0.02
    better = choose_default(table([(1.0, 1.0)], [(0.9, 0.9)]))
    assert better.model == "static"  # a fast model that is also better is chosen
    one_bad = choose_default(table([(1.0, 1.0), (1.0, 0.95)], [(1.0, 1.0), (1.0, 0.99)]))
    assert one_bad.model == "minilm" and "recall" in one_bad.reason and "case 1" in one_bad.reason
    assert round(one_bad.worst_loss, 3) == 0.04
    precision_loss = choose_default(table([(0.5, 1.0)], [(1.0, 1.0)]))
    assert precision_loss.model == "minilm" and "precision" in precision_loss.reason
    at_edge = choose_default(table([(0.98, 0.98)], [(1.0, 1.0)]))
    assert at_edge.model == "static"  # a loss of exactly the tolerance is within it


def test_calibrated_threshold_separates_a_clean_split() -> None:
    sims = np.array([0.9, 0.85, 0.8, 0.5, 0.45, 0.4])
    truth = np.array([False, False, False, True, True, True])
    t = calibrate_threshold(sims, truth)
    assert 0.5 < t <= 0.8 and precision_recall(sims < t, truth) == (1.0, 1.0)
    assert t == 0.51  # ties: the lowest threshold with the best F1
    assert calibrate_threshold(sims, truth, grid=[0.3, 0.6]) == 0.6


def test_precision_recall_edges() -> None:
    none = np.zeros(3, bool)
    assert precision_recall(none, np.array([True, False, False])) == (1.0, 0.0)
    assert precision_recall(none, none) == (1.0, 1.0)


def test_the_bundled_relevance_case_plants_the_four_rows_at_the_end() -> None:
    (case,) = relevance_cases(None)
    assert case.truth.sum() == 4 and set(case.records["instruction"][case.truth]) >= {
        "Who won the football World Cup in 2010?"
    }
