"""Curation removes exact and near duplicates (via the dataset checks) and too-short documents, keeping originals."""

from __future__ import annotations

from dataclasses import replace

from playbook_lib.ops.curate import curate, normalise_document
from playbook_lib.rag.corpus import Document
from playbook_lib.scenarios.operations import add_noisy_duplicates


def test_planted_duplicates_removed_and_originals_kept(sample_docs) -> None:
    noisy = add_noisy_duplicates(sample_docs, share=0.25, seed=1)
    assert len(noisy) == 36 + 9
    report = curate(noisy)
    copies = {d.id for d in noisy if d.id.endswith("~copy")}
    assert set(report.removed) <= copies  # no original is ever removed
    assert len(report.removed) >= 8  # MinHash estimates: a short copy with a footer may fall under 0.8
    assert {d.id for d in report.kept} >= {d.id for d in sample_docs}


def test_clean_corpus_passes_untouched(sample_docs) -> None:
    report = curate(sample_docs)
    assert report.n_removed == 0 and len(report.kept) == len(sample_docs)


def test_exact_short_and_near_reasons(sample_docs) -> None:
    docs = [
        sample_docs[0],
        replace(sample_docs[0], id="upper", text=sample_docs[0].text.upper()),
        replace(sample_docs[1], id="tail", text=sample_docs[1].text + " Thanks."),
        sample_docs[1],
        Document(id="short", text="ok"),
    ]
    report = curate(docs)
    assert report.removed["short"] == "fewer than 3 words"
    assert report.removed["upper"] == "exact duplicates"
    assert report.removed[sample_docs[1].id] == "near duplicates"  # the later copy of the pair goes
    assert curate(docs, near_threshold=None).removed.keys() == {"short", "upper"}


def test_normalise_collapses_whitespace_and_composes_unicode() -> None:
    doc = normalise_document(Document(id="a", title=" T ", text="Tromso\u0308  is\n\n cold"))
    assert doc.text == "Tromsö is cold" and doc.title == "T"
