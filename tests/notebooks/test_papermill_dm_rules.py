"""Papermill runs of the default-recommendation, production-checklist and scaling pages with other inputs: each
claim prints its verdict from the library (``playbook_lib.experiments.*_claim``), with the page's own parameters."""

from __future__ import annotations

import re
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


def test_production_checklists_print_their_rule_verdicts(tmp_path: Path, shared_data: Path) -> None:
    from playbook_lib import sample_data

    plan = tmp_path / "plan.yaml"
    text = sample_data.path("model_plan.yaml").read_text(encoding="utf-8")
    plan.write_text(text.replace("audit_log: false", "audit_log: true"), encoding="utf-8")
    nb = run_notebook(
        tmp_path,
        "dm_09_production_checklists",
        {
            "widget_item": "quality.compliance.pii",
            "plan_path": str(plan),
            "shared_data": str(shared_data),
            "scale_sizes": [1_000],  # section 8 at one small size: its engines at two sizes, test_papermill.py's
            "ray_at": 1_000,  # Ray on the page's path (the build runs it at 160k; the engine: test_ray_engine.py)
        },
    )
    text = outputs_text(nb)
    # the bundled data: every evaluated planted item is flagged; the golden-set item cannot run without --golden
    assert "every item with a problem planted in the sample warns or fails**: **" in text
    assert "undecided: golden warns or fails" in text
    assert "planted items flagged: 11 of 11" in text
    # the same checklist on GSM8K rows with 40 rows of each problem planted: a verdict per item, golden included
    assert "GSM8K with planted problems: 760 training rows, 200 eval rows, a golden set of 10" in text
    assert re.search(
        r"every checklist item finds the problems planted into real rows\*\*: \*\*(held|did not hold|inconclusive)",
        text,
    )
    assert "split.contamination: warns or fails, recall > 0.8 (fail; caught 40 of 40" in text
    assert "golden: warns or fails (10-row golden set: warn)" in text
    # every planted address counted, web.de's too (the allowlist once took "web" for a placeholder word)
    assert "quality.compliance.pii: warns or fails, recall > 0.8 (fail; caught 40 of 40" in text
    assert "planted addresses the pii item did not count, by domain: {}" in text
    # the widget's item, graded again: pii_rate 0.05 against the file's warn 0.0 / fail 0.01
    assert "quality.compliance.pii: the outcome moves with the thresholds**: **held**" in text
    assert "with warn > 0, fail > 0.01: fail" in text
    assert text.count("the command line reaches the library's verdict**: **held**") == 2
    # another plan: no planted ground truth, so that claim is inconclusive, never held
    assert "every item with a problem planted in the model plan warns or fails**: **inconclusive** (0 of 0" in text
    assert "a routing threshold trades cost for success**: **held**" in text
    # section 8 at one small size, Ray too: every engine writes the memory engine's report
    assert "every engine writes the memory engine's report at every size (2 of 2 runs identical)" in text
    assert "every planted problem is found by every engine at every size (lowest recall 1.000)" in text


def test_scaling_prints_its_rule_verdicts(tmp_path: Path) -> None:
    nb = run_notebook(tmp_path, "dm_04_scaling", {"layer": 4, "head": 7, "compute_budget": 1e21, "ssm_repeats": 2})
    text = outputs_text(nb)
    # another head: the formula still reproduces the model's weights
    assert "the textbook formula reproduces the model's attention**: **held** (6 of 6 checks passed)" in text
    # Table 3 is the paper's: the 67B row trains 22.4 tokens per parameter, beyond ±10 % of 20
    assert "reproduce Table 3 within ±10 %**: **did not hold** (2 of 3 checks passed)" in text
    assert "failed: 20·N gives the paper's tokens" in text
    # the budget's closed form, found again by the grid, and the rule against the fit at this budget too
    assert "the fitted loss is lowest at the closed form**: **held**" in text
    assert "the rule's loss is within 1 % of the fit's while the fit trains on more tokens**: **held**" in text
    assert "1e+21: 50 vs 20" in text
