"""The model-collapse and provenance experiment pages run headless with non-default parameters and report their
metrics (never a fixed outcome: the verdict lines must be there, whichever way they go)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.notebooks.test_papermill import outputs_text, run_notebook


def test_model_collapse_on_lima_responses(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(
        tmp_path,
        "exp_06_model_collapse",
        {
            "data_path": str(shared_data / "sft" / "lima_llamafactory.json"),
            "field": "output",
            "n_docs": 60,
            "generations": 2,
            "seeds": [3],
            "real_fractions": [0.0, 0.25],
            "order": 2,
        },
    )
    text = outputs_text(nb)
    assert "lima_llamafactory.json: 60 training texts" in text
    assert "2 runs x 3 generations = 6 trained models" in text
    assert "25% real: provenance" in text and "0% real: provenance FAIL" in text  # pure recursion is 100 % synthetic
    assert "10% real" not in text and "50% real" not in text  # the default fractions were replaced
    for metric in ("vocab_size", "distinct_2", "rare_types_kept", "kl_to_real_bits", "heldout_perplexity"):
        assert metric in text
    assert re.search(r"\*\*Collapse with 0% real data: (held|did not hold|inconclusive)\*\*", text)
    assert re.search(r"\*\*Anchoring with 25% real data: (held|did not hold|inconclusive)\*\*", text)
    assert re.search(r"\*\*Claim (held|did not hold|inconclusive)\*\* over 1 seeds", text)
    assert "too few runs for an interval" in text  # one seed: no interval, so nothing can hold


def test_provenance_on_three_sources(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(
        tmp_path,
        "exp_07_provenance",
        {
            "data_dir": str(shared_data / "sft"),
            "sources": ["lima", "gsm8k", "gpteacher_roleplay"],
            "n_rows": 40,
            "n_embed": 8,
            "seed": 2,
        },
    )
    text = outputs_text(nb)
    assert "embedding spread on 8 rows per source" in text
    assert "mean_pairwise_cosine" in text and "distinct_2" in text and "near_duplicate_rate" in text
    assert "gpteacher_roleplay - lima" in text and "alpaca_seeds" not in text
    assert "every row tagged: **PASS**" in text  # 40 synthetic of 120 rows is below the 50 % policy
    assert "40 of 120 rows flagged untagged" in text
    verdict = r"(held|did not hold|inconclusive)"
    assert re.search(verdict + r": separation gap of mtld = [-+]\d.* \(95%, n=5\)", text)
    assert re.search(verdict + r": tagged_share_error = .*\(claim: within ±0.01\)", text)
    assert re.search(r"\*\*" + verdict + r"\*\*: some measure differs like with like", text)
