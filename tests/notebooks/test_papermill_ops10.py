"""Papermill run of the intuition-summary page with other knobs: its verdicts and its kernel-free control."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks.test_papermill import outputs_text, run_notebook


def test_intuition_summary_with_another_share_and_k_shows_its_control_at_that_setting(tmp_path: Path) -> None:
    params = {"change_share": 0.3, "k": 2, "seeds": 2}
    text = outputs_text(run_notebook(tmp_path, "ops_10_intuition_summary", params))
    assert "2 seeds x " in text and "**unreliable**: " in text and "**slow**: " in text
    # the control's grid holds the page's own setting (0.3 and 2 are not on its default grid), shown first
    assert "data-pb-kind='context-share'" in text and "6 shares x 5 k: " in text
    assert "30% of the documents changed, k=2 passages retrieved: " in text
    assert "pairs over 2 seeds" in text
