"""The SFT-pair validator on real curated data (LIMA, read from the shared data folder, never copied)."""

from __future__ import annotations

from pathlib import Path

from playbook_lib.checks import CheckContext, get_check
from playbook_lib.data import load_records


def test_sft_pairs_on_lima(shared_data: Path) -> None:
    records = load_records(shared_data / "sft" / "lima_llamafactory.json")
    result = get_check("sft_pairs")().run(records, CheckContext())
    assert len(result.flags) == len(records) > 1000
    # LIMA is curated by hand: few rows are flagged, and every flag carries one of the check's reasons
    assert result.summary["flagged_rate"] < 0.05
    assert set(result.summary["problems"]) <= {"empty prompt", "empty response", "response repeats the prompt"}
    assert result.summary["flagged"] == int(result.flags.sum())
