"""Scenario builders change copies, never their input, and score retrieval at any granularity."""

from __future__ import annotations

import pytest

from playbook_lib.rag.chunk import ChunkSpec, chunk_documents
from playbook_lib.rag.corpus import BeirDataset, Document
from playbook_lib.rag.keyword import BM25Retriever
from playbook_lib.rag.retrieve import Hit
from playbook_lib.scenarios.operations import (
    add_noisy_duplicates,
    answer_ranks,
    context_recall,
    document_ranking,
    edit_share,
    merge_into_pages,
    revise_facts,
    revise_number,
    run_queries,
    source_ids,
)
from playbook_lib.scenarios.workload import load_workload


def test_pages_keep_their_members(sample_docs) -> None:
    pages = merge_into_pages(sample_docs, 5)
    assert len(pages) == 8 and pages[-1].metadata["members"] == [d.id for d in sample_docs[35:]]
    assert sample_docs[1].text in pages[0].text
    hit = Hit(1, 0.5, pages[0])
    assert source_ids(hit) == [d.id for d in sample_docs[:5]]
    assert context_recall([hit], {sample_docs[2].id: 1, sample_docs[9].id: 1}) == 0.5


def test_chunks_and_copies_map_back_to_their_document(sample_docs, embedder) -> None:
    chunk = chunk_documents(sample_docs[:1], embedder.count_tokens, ChunkSpec(size=16, overlap=0))[1]
    assert source_ids(Hit(1, 1.0, chunk.as_document())) == [sample_docs[0].id]
    copy = add_noisy_duplicates(sample_docs, 0.1, seed=3)[-1]
    assert source_ids(Hit(1, 1.0, copy)) == [copy.metadata["duplicate_of"]]
    first = chunk_documents(sample_docs[:1], embedder.count_tokens, ChunkSpec(size=16, overlap=0))[0]
    hits = [Hit(1, 1.0, chunk.as_document()), Hit(2, 0.9, copy), Hit(3, 0.8, first.as_document())]
    assert document_ranking(hits) == [sample_docs[0].id, copy.metadata["duplicate_of"]]


def test_edit_share_changes_exactly_that_share(sample_docs) -> None:
    edited, changed = edit_share(sample_docs, 0.1, seed=2)
    assert len(changed) == 4
    assert [d.id for d in edited] == [d.id for d in sample_docs]
    assert {d.id for d, o in zip(edited, sample_docs) if d.text != o.text} == set(changed)
    assert edit_share(sample_docs, 0.001)[1].__len__() == 1  # at least one


def test_revise_number() -> None:
    assert revise_number("14 days") == "21 days"
    assert revise_number("1,890") == "1,897"
    assert revise_number("5.3") == "12.3"
    assert revise_number("membrane") is None


def test_revised_facts_replace_old_ones_in_the_answering_document() -> None:
    w = load_workload()
    docs, new = revise_facts(w.documents, w.facts, w.qrels)
    assert new and all(revise_number(w.facts[q]) == f for q, f in new.items())
    by_id = {d.id: d for d in docs}
    for qid, fact in new.items():
        (doc_id,) = w.qrels[qid]
        assert fact in by_id[doc_id].text and w.facts[qid] not in by_id[doc_id].text
    assert "q02" not in new  # "membrane" has no number
    assert docs is not w.documents and w.documents[3].text.count("14 days") == 1  # input untouched


def test_run_queries_times_each_question(sample_docs, embedder) -> None:
    from playbook_lib.rag.retrieve import DenseRetriever

    retriever = DenseRetriever.from_documents(sample_docs, embedder)
    hits, ms = run_queries(retriever, {"a": "pH calibration interval", "b": "error E17"}, k=2)
    assert list(hits) == ["a", "b"] and all(len(h) == 2 for h in hits.values())
    assert len(ms) == 2 and all(m > 0 for m in ms)


def test_pages_of_copies_count_as_their_originals(sample_docs) -> None:
    noisy = add_noisy_duplicates(sample_docs[:4], 0.5, seed=0)
    page = merge_into_pages(noisy, 6)[0]
    assert set(page.metadata["members"]) == {d.id for d in sample_docs[:4]}


def test_answer_ranks_are_the_first_relevant_documents_rank() -> None:
    docs = [
        Document("a", "lighthouse keepers log the weather"),
        Document("b", "the lighthouse lamp turns at night"),
        Document("c", "bakers start before dawn"),
    ]
    data = BeirDataset(
        corpus=docs,
        queries={"q1": "lighthouse lamp at night", "q2": "bakers before dawn"},
        qrels={"q1": {"b": 0, "a": 1}, "q2": {"c": 1}},
    )
    retriever = BM25Retriever.from_documents(docs)
    ranking = [h.doc_id for h in retriever.retrieve("lighthouse lamp at night", 3)]
    assert ranking[:2] == ["b", "a"]  # b shares the most words, but is judged 0: a is q1's answer
    assert answer_ranks(retriever, data) == [2, 1]


def test_answer_ranks_refuse_an_answer_that_is_not_ranked() -> None:
    docs = [Document("a", "lighthouse keepers"), Document("b", "bakers at dawn")]
    data = BeirDataset(corpus=docs, queries={"q": "lighthouse"}, qrels={"q": {"missing": 1}})
    with pytest.raises(ValueError, match="'q'"):
        answer_ranks(BM25Retriever.from_documents(docs), data)
