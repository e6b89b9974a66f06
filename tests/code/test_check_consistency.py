"""The consistency check: conflicting labels and low annotator agreement are found; consistent labels pass."""

from __future__ import annotations

import pytest

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.consistency import ConsistencyCheck, cohens_kappa, krippendorff_alpha
from playbook_lib.data import records_from_rows


def test_agreement_statistics_match_hand_computed_values() -> None:
    # 4 items, two annotators agreeing on 3: p_o = 0.75, p_e = 0.5 -> kappa 0.5
    assert cohens_kappa(["y", "y", "n", "n"], ["y", "y", "n", "y"]) == pytest.approx(0.5)
    assert krippendorff_alpha([["a", "a"], ["b", "b"]]) == pytest.approx(1.0)
    # Krippendorff (2011) nominal example reduced to two coders: alpha = 1 - (n-1) * D_o / D_e
    assert krippendorff_alpha([["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]) == pytest.approx(0.5333, abs=1e-3)


def test_consistent_labels_pass_and_unlabelled_is_not_evaluated() -> None:
    rows = [
        {"instruction": f"item {i}", "label": "pos" if i % 2 else "neg", "annotator": a}
        for i in range(20)
        for a in ("ann1", "ann2")
    ]
    result = ConsistencyCheck().run(records_from_rows(rows), CheckContext())
    assert result.outcome is Outcome.PASS and result.summary["krippendorff_alpha"] == pytest.approx(1.0)
    assert result.summary["cohens_kappa"] == pytest.approx(1.0)
    unlabelled = records_from_rows([{"instruction": "x", "output": "y"}])
    assert ConsistencyCheck().run(unlabelled, CheckContext()).outcome is Outcome.NOT_EVALUATED


def test_conflicting_labels_are_found() -> None:
    rows = [
        {"instruction": f"item {i}", "label": "pos" if i % 2 else "neg", "annotator": a}
        for i in range(20)
        for a in ("ann1", "ann2")
    ]
    rows[1]["label"] = "pos"  # ann2 disagrees on item 0
    rows[3]["label"] = "neg"  # and on item 1
    result = ConsistencyCheck().run(records_from_rows(rows), CheckContext())
    assert result.summary["conflicting_items"] == 2 and result.flags.sum() == 4
    assert result.summary["cohens_kappa"] == pytest.approx(0.8)
    assert result.outcome is Outcome.FAIL  # 4/40 rows conflict > 5 %
