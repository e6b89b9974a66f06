"""Papermill runs of the default-recommendation, production-checklist and scaling pages with other inputs: each
claim prints its verdict from the library (``playbook_lib.experiments.*_claim``), with the page's own parameters."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks.test_papermill import outputs_text, run_notebook


def test_default_recommendation_prints_its_rule_verdicts(tmp_path: Path) -> None:
    nb = run_notebook(
        tmp_path,
        "dm_10_default_recommendation",
        {"curated_examples": 450, "bedrock_model_id": "my.model-v2", "aws_region": "eu-west-1"},
    )
    text = outputs_text(nb)
    # with 450 examples the given path takes PEFT; the rule still holds over the variants
    assert "repeatable behaviour gap (5 tasks) and 450 curated examples" in text
    assert "the default path's rule on the variants table**: **held** (9 of 9 checks passed)" in text
    assert "failures within 5% -> neither RAG nor fine-tuning, whatever the example count**: **held**" in text
    assert "example counts [450, 3000]" in text
    assert "the closed model's platform is configuration the library reads**: **held**" in text
    assert "my.model-v2, eu-west-1" in text
