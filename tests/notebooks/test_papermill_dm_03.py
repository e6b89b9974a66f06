"""Papermill run of the data-synthesis page on another gap slice, with no live generation: the coverage check must
name the new slice, and every verdict line must be there with a typed outcome."""

from __future__ import annotations

import re
from pathlib import Path

from tests.notebooks.test_papermill import outputs_text, run_notebook


def test_data_synthesis_on_another_slice(tmp_path: Path) -> None:
    nb = run_notebook(tmp_path, "dm_03_data_synthesis", {"slice_name": "weather", "live_rows": 0})
    text = outputs_text(nb)
    assert "gap slices: **['weather']**" in text
    assert "0 rows kept" in text
    for part in ("(a) synthetic rows fill the gap", "(b) synthetic rows do not replace", "(c) superficial"):
        assert re.search(re.escape(part) + r"[^*]*: (held|did not hold|inconclusive)\*\*", text), part
    assert "of 160 ledger rows are near-copies" in text
    assert "data-pb-kind='mix-ratio'" in text and "Training mix with <b>75% synthetic rows</b>" in text
