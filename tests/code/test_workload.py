"""A page's workload: the bundled KB with facts, a BEIR subset, or a JSONL corpus with synthetic questions."""

from __future__ import annotations

import json

import pytest

from playbook_lib.errors import DataError
from playbook_lib.scenarios.workload import load_workload, synthetic_queries


def test_bundled_kb_has_judged_questions_and_facts() -> None:
    w = load_workload()
    assert len(w.documents) == 36 and len(w.queries) == 12 and not w.synthetic
    assert set(w.facts) == set(w.queries) == set(w.qrels)
    assert "12 judged questions" in w.describe()


def test_jsonl_corpus_gets_synthetic_known_item_questions(tmp_path, sample_docs) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps({"id": d.id, "text": d.text}) for d in sample_docs[:10]))
    w = load_workload(path, n_queries=5)
    assert w.synthetic and len(w.queries) == 5 and w.name == "mine"
    by_id = {d.id: d.text for d in w.documents}
    for qid, text in w.queries.items():
        (doc_id,) = w.qrels[qid]
        assert text in by_id[doc_id]  # the question is a sentence of its only relevant document
    assert w.queries == load_workload(path, n_queries=5).queries  # seeded


def test_synthetic_queries_skip_documents_without_long_sentences(sample_docs) -> None:
    queries, qrels = synthetic_queries(sample_docs, n=100, min_words=200)
    assert queries == {} and qrels == {}


def test_beir_subset(shared_data) -> None:
    w = load_workload(shared_data / "scifact", n_queries=4, n_distractors=20)
    assert len(w.queries) == 4 and len(w.documents) >= 20 and not w.facts
    assert all(d in {x.id for x in w.documents} for judged in w.qrels.values() for d in judged)


def test_missing_corpus_is_a_data_error(tmp_path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_workload(tmp_path / "nope.jsonl")
