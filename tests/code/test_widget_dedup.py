"""The near-duplicate threshold explorer shows, at each threshold, what the near_duplicates check flags there."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from playbook_lib import sample_data
from playbook_lib.checks import CheckContext
from playbook_lib.checks.uniqueness import NearDuplicatesCheck
from playbook_lib.data import load_records, records_from_rows
from playbook_lib.experiments.dataset_claims import judge_near, run_near_plants
from playbook_lib.widgets.dedup import NEAR_THRESHOLDS, near_threshold_explorer, near_threshold_html, weakest_matches


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return load_records(sample_data.path("sft_sample.jsonl"))


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    """1,000 rows of 60 made-up words each, so that no two share a word 3-gram by chance (real-row stand-in)."""
    rng = np.random.default_rng(7)
    vocab = [f"w{i}" for i in range(5000)]
    rows = [
        {"instruction": " ".join(rng.choice(vocab, 30)), "output": " ".join(rng.choice(vocab, 30))} for _ in range(1000)
    ]
    return records_from_rows(rows)


def _counts(shown: str) -> tuple[int, int]:
    found = re.search(r"<b>(\d+) removable rows in (\d+) clusters</b>", shown)
    assert found is not None, shown[:300]
    return int(found.group(1)), int(found.group(2))


def test_each_threshold_shows_what_the_check_flags_there(bundled: pd.DataFrame) -> None:
    explorer = near_threshold_explorer(bundled, 0.8)
    assert explorer.initial() == {"threshold": 0.8}
    assert explorer.controls[0].values == NEAR_THRESHOLDS
    assert explorer.inputs == {"data": "bundled", "show": 5, "planted": None}
    seen = set()
    for threshold in (0.3, 0.5, 0.8, 0.95, 1.0):
        shown = explorer.output(threshold=threshold)
        result = NearDuplicatesCheck(threshold=threshold).run(bundled, CheckContext())
        assert _counts(shown) == (result.summary["removable"], result.summary["clusters"])
        assert f"data-pb-threshold='{threshold:.2f}'" in shown and "Copies planted" not in shown
        assert shown == near_threshold_html(bundled, threshold, name="The bundled sample")
        seen.add(_counts(shown))
    assert len(seen) >= 3  # the slider moves the count on the bundled sample (93 rows at 0.3, 6 at 0.95)


def test_weakest_matches_are_the_checks_flagged_rows_weakest_first(bundled: pd.DataFrame) -> None:
    result = NearDuplicatesCheck(threshold=0.5).run(bundled, CheckContext())
    matches = weakest_matches(bundled, result, show=4)
    assert len(matches) == 4
    assert list(matches["similarity"]) == sorted(matches["similarity"])
    lines = bundled["line"].to_numpy()
    flagged = {int(lines[i]): d for i, d in result.details.items()}
    for row in matches.to_dict("records"):
        detail = flagged[row["flagged line"]]
        assert row["kept line"] == int(lines[detail["kept_row"]]) and row["similarity"] == detail["similarity"]
        assert row["similarity"] >= 0.5
    weakest = min(d["similarity"] for d in result.details.values())
    assert matches["similarity"].iloc[0] == weakest
    exact = NearDuplicatesCheck(threshold=1.0).run(bundled, CheckContext())
    assert len(weakest_matches(bundled, exact, show=50)) == int(exact.flags.sum())  # fewer flags than asked: all


def test_planted_copies_are_graded_as_the_page_grades_them(bundled: pd.DataFrame, base: pd.DataFrame) -> None:
    explorer = near_threshold_explorer(bundled, 0.8, base=base, seeds=(0, 1), thresholds=(0.3, 0.9), shared="x")
    assert explorer.controls[0].values == (0.3, 0.8, 0.9)
    assert isinstance(explorer.inputs, dict) and explorer.inputs["planted"] == {"shared": "x", "seeds": [0, 1]}
    recalls = set()
    for threshold in (0.3, 0.8, 0.9):
        shown = explorer.output(threshold=threshold)
        verdict = judge_near(run_near_plants(base, seeds=(0, 1), threshold=threshold))
        assert f"recall of the near pairs <b>{verdict.recall.text()}</b>" in shown
        assert f"precision of the flags <b>{verdict.precision.text()}</b>" in shown
        assert f"data-pb-verdict='{verdict.verdict.value}'" in shown
        assert f"{int(verdict.table['far_flagged'].sum())} on far copies" in shown
        recalls.add((verdict.recall.estimate, verdict.precision.estimate))
    assert len(recalls) > 1  # the threshold moves recall or precision on the planted copies
