"""The model-collapse and provenance experiment pages run headless with non-default parameters and report their
metrics (never a fixed outcome: the verdict lines must be there, whichever way they go), and the verdicts they print
for the committed full profiles are the library's on those tables."""

from __future__ import annotations

import re
from pathlib import Path

from playbook_lib.experiments.collapse import collapse_verdict, read_collapse_table
from playbook_lib.experiments.provenance_claim import judge_table, read_provenance_table
from tests.notebooks.test_papermill import ROOT, outputs_text, run_notebook

RESULTS = ROOT / "notebooks" / "results"


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
    build, _, _ = text.partition("command: python bench/experiment_tables.py")  # the committed run's section follows
    assert "10% real" not in build and "50% real" not in build  # the default fractions were replaced
    for metric in ("vocab_size", "distinct_2", "rare_types_kept", "kl_to_real_bits", "heldout_perplexity"):
        assert metric in text
    assert re.search(r"\*\*Collapse with 0% real data: (held|did not hold|inconclusive)\*\*", build)
    assert re.search(r"\*\*Anchoring with 25% real data: (held|did not hold|inconclusive)\*\*", build)
    assert re.search(r"\*\*Claim (held|did not hold|inconclusive)\*\* over 1 seeds", build)
    assert "too few runs for an interval" in build  # one seed: no interval, so nothing can hold
    committed = text[text.index("command: python bench/experiment_tables.py --pages exp_06") :]
    full, _ = read_collapse_table(RESULTS / "exp_06_model_collapse.csv")
    for line in collapse_verdict(full).lines():
        assert line in committed, line
    assert "this build (1 seeds)" in committed and "full profile (10 seeds)" in committed
    assert "not run" in committed  # the build's 25 % share is not in the full profile, nor its 10 % and 50 % here


def test_provenance_on_three_sources(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(
        tmp_path,
        "exp_07_provenance",
        {
            "data_dir": str(shared_data / "sft"),
            "sources": ["lima", "gsm8k", "gpteacher_roleplay"],
            "n_rows": 8,
            "n_embed": 4,
            "seed": 2,
        },
    )
    text = outputs_text(nb)
    assert "embedding spread on 4 rows per source and seed" in text
    assert "mean_pairwise_cosine" in text and "distinct_2" in text and "near_duplicate_rate" in text
    build, _, _ = text.partition("command: python bench/experiment_tables.py")  # the committed run's section follows
    assert "gpteacher_roleplay - lima" in build and "alpaca_seeds" not in build
    assert "every row tagged: **PASS**" in text  # 40 synthetic of 120 rows is below the 50 % policy
    assert "40 of 120 rows flagged untagged" in text
    verdict = r"(held|did not hold|inconclusive)"
    assert re.search(verdict + r": separation gap of mtld = [-+]\d.* \(95%, n=5\)", build)
    assert "the intervals rest on 5 seeds of 8 rows per source" in text
    assert re.search(verdict + r": tagged_share_error = .*\(claim: within ±0.01\)", build)
    assert re.search(r"\*\*" + verdict + r"\*\*: some measure differs like with like", build)
    committed = text[text.index("command: python bench/experiment_tables.py --pages exp_07") :]
    full, _ = read_provenance_table(RESULTS / "exp_07_provenance.csv")
    for line in judge_table(full).lines():
        assert line in committed, line
    assert "this build (5 seeds)" in committed and "full profile (5 seeds)" in committed
    assert "not run" not in committed  # both runs judge the same parts: the side-by-side table has every verdict
