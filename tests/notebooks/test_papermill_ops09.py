"""The practical-impact page as the book build ran it (its default parameters, :func:`built_notebook`): the verdicts
it prints are the library's, on both runs (this build's questions and the committed full run)."""

from __future__ import annotations

from pathlib import Path

from playbook_lib import sample_data
from playbook_lib.experiments import impact_claims as ic
from playbook_lib.experiments.tables import read_table
from playbook_lib.rag.corpus import load_labelled_queries, load_reference_answers
from tests.notebooks.test_papermill import ROOT, built_notebook, outputs_text, run_notebook

VERDICTS = ("**held**", "**did not hold**", "**inconclusive**")


def test_practical_impact_prints_verdicts_for_the_build_and_the_committed_run(tmp_path: Path) -> None:
    text = outputs_text(built_notebook(tmp_path, "ops_09_practical_impact"))
    assert "this build: 8 questions; modes: with retrieval, k=1, with retrieval, k=3, without retrieval" in text
    assert "re-embedded 5 of 36 documents" in text
    build, _, committed = text.partition("**Committed full run**")
    assert "**This build** (8 questions, 5 updated facts)" in build
    for name in ("A1", "A2", "A3", "B2"):
        line = next(x for x in build.splitlines() if x.startswith(f"- **{name}**"))
        assert any(v in line for v in VERDICTS), line
    # the rule claim is deterministic: five edited documents, five re-embedded, nothing else
    assert "**B1 the refresh re-embedded exactly the changed documents**: **held** (4 of 4 checks passed)" in build
    # the committed run's lines are what the library computes from the committed table
    frame, meta = read_table(ROOT / "notebooks" / "results" / "ops_09_practical_impact.csv")
    questions = sample_data.path("heronsgate_impact_questions.jsonl")
    full, fresh = ic.split_results(frame, load_reference_answers(questions))
    _, qrels = load_labelled_queries(questions)
    edited = ic.edited_ids({q: list(r) for q, r in qrels.items()}, fresh["qid"].unique())
    expected = ic.verdicts_markdown(full, fresh, ic.refresh_from_meta(meta), edited)
    assert full["qid"].nunique() >= 40 and len(edited) >= 5
    for line in expected.splitlines():
        assert line in committed, line
    # the kernel-free control over k starts at k=1 and shows the library's summary of the committed table there
    assert "data-pb-kind='table'" in committed and ic.k_summary(frame, 1) in committed


def test_practical_impact_with_fewer_questions_one_k_and_fewer_updates(tmp_path: Path) -> None:
    params = {"n_questions": 2, "ks": [1], "n_updates": 2, "max_tokens": 16}
    build, _, _ = outputs_text(run_notebook(tmp_path, "ops_09_practical_impact", params)).partition(
        "**Committed full run**"
    )
    assert "this build: 2 questions; modes: with retrieval, k=1, without retrieval" in build
    assert "re-embedded 2 of 36 documents" in build and "**This build** (2 questions, 2 updated facts)" in build
    assert "**B1 the refresh re-embedded exactly the changed documents**: **held** (4 of 4 checks passed)" in build
