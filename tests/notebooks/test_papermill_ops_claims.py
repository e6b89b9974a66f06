"""The Model–Data Operations pages print each claim's verdict from the library (``playbook_lib.scenarios.ops_claims``)
as the book shows them (the build's default run, :func:`built_notebook`): the deterministic claims must hold, and the
measured or timed ones must print a verdict whatever it is. The same pages with other parameters:
``test_papermill_ops.py`` (ops_06: ``test_papermill.py``)."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks.test_papermill import built_notebook, outputs_text


def test_pipeline_overview_prints_its_stage_and_time_verdicts(tmp_path: Path) -> None:
    """The bundled knowledge base and its first question (the probe calibration): whatever the generator says, the
    answer the page shows states the reference fact (14 days), and the page says whether the generated text was kept
    or replaced; and the page's claims print their verdicts."""
    text = outputs_text(built_notebook(tmp_path, "ops_01_pipeline_overview"))
    assert "correctness: the answer states the reference fact '14 days'" in text
    assert "CHECK: kept" in text or "CHECK: replaced by the evidence" in text
    assert "every stage is a separate step that leaves an output to inspect**: **held** (3 of 3" in text
    assert "passed: every stage of the chain ran (10 of 10)" in text
    assert "the time is concentrated in one or two stages**: **" in text  # timings: any verdict, but printed
    # ... from 5 repeats of the pipeline, each claim a ratio with its interval against the fixed threshold
    assert "slowest (" in text and "/ even share" in text and "claim > 2x" in text and "(95%, n=5)" in text
    assert "generate / slowest other (" in text and "embed / slowest other (" in text


def test_why_ops_matter_prints_a_verdict_per_operation(tmp_path: Path) -> None:
    nb = built_notebook(tmp_path, "ops_02_why_ops_matter")
    text = outputs_text(nb)
    assert "deduplication improves at least one measure**: **held**" in text  # copies removed: fewer tokens
    assert "chunking improves at least one measure**: **" in text
    assert "refresh improves at least one measure**: **held**" in text
    assert "a refresh re-embeds only the changed documents**: **held** (3 of 3" in text
    assert "Each operation improves at least one measure: " in text


def test_data_types_prints_a_verdict_per_data_type(tmp_path: Path) -> None:
    nb = built_notebook(tmp_path, "ops_04_data_types")
    text = outputs_text(nb)
    for claim in (
        "a version changes exactly when the content changes",
        "the refreshing index follows the corpus snapshot by snapshot",
        "session data is bounded, expires and can be erased",
        "feedback is logged, then promoted into a golden set",
    ):
        assert f"{claim}**: **held**" in text
    assert "session memory makes follow-up questions answerable**: **" in text
    assert "synthetic questions are easier than human ones**: **" in text and "(95%, n=12)" in text
    assert "real (judged)" not in text and "human " in text  # the human-written rows are labelled human


def test_rag_workflow_prints_its_trace_grounding_and_time_verdicts(tmp_path: Path) -> None:
    nb = built_notebook(tmp_path, "ops_05_rag_workflow")
    text = outputs_text(nb)
    assert "the prompt and the answer's citations can be traced back to the search**: **held**" in text
    assert "every sentence of the answer is supported by the prompt**: **" in text  # this answer: either way
    assert "generation dominates the time of a request**: **" in text
    assert "generation / the rest" in text and "(95%, n=5)" in text and "5 requests timed, 5 distinct" in text


def test_minimal_rag_prints_its_ranking_and_retrieval_verdicts(tmp_path: Path) -> None:
    nb = built_notebook(tmp_path, "ops_06_minimal_rag")
    text = outputs_text(nb)
    assert "inner product, cosine and L2 give the same ranking on unit vectors**: **held** (2 of 2" in text
    assert "dense retrieval puts the answering document first for most questions**: **" in text
    assert "of 12 questions; share" in text  # the Wilson interval over the 12 judged questions


def test_operation_types_prints_a_verdict_per_type(tmp_path: Path) -> None:
    nb = built_notebook(tmp_path, "ops_07_operation_types")
    text = outputs_text(nb)
    assert "training-time operations: stable shards, equal vectors, faster batches**: **" in text
    assert "passed: no existing item moved shard (0 moved)" in text
    assert "passed: the request log reproduces what was served (12 of 12 rows)" in text
    assert "passed: the refresh re-embedded exactly the changed documents" in text
    assert "batch 1 time / batch 32 time" in text and "a full rebuild takes >= 2x as long" in text
    assert "rebuild time / incremental time" in text and "(95%, n=5), claim > 2x" in text
    assert "The largest speed-up here was at batch" in text and "the largest batch tested, 32, gave" in text
    assert "data-pb-kind='batch-throughput'" in text and "Batch size 32: 32 texts embedded, 5 paired repeats" in text
    assert "Over 5 paired repeats a full rebuild took" in text and "ms** per question (95% interval" in text
    assert "a reviewer's correction fixes its question and leaves the others alone**: **" in text
