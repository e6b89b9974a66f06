"""BM25 keyword retrieval and hybrid fusion, on the bundled knowledge base and on hand-built rankings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playbook_lib import sample_data
from playbook_lib.errors import EmptyDataError, ExitCode
from playbook_lib.rag.corpus import Document, load_labelled_queries
from playbook_lib.rag.hybrid import HybridRetriever, reciprocal_rank_fusion, weighted_fusion
from playbook_lib.rag.keyword import BM25Retriever
from playbook_lib.rag.retrieve import Hit
from tests.cli import run_cli


def hits(*ids_scores: tuple[str, float]) -> list[Hit]:
    return [Hit(rank=r + 1, score=s, document=Document(id=i, text=i)) for r, (i, s) in enumerate(ids_scores)]


def test_bm25_finds_exact_terms(sample_docs) -> None:
    bm25 = BM25Retriever.from_documents(sample_docs)
    assert bm25.retrieve("error E22", 1)[0].doc_id == "kb-021"
    assert bm25.retrieve("Ingrid Aasheim", 1)[0].doc_id == "kb-036"
    assert bm25.retrieve("the of and", 3) == []  # stopwords only


def test_stemming_matches_inflections() -> None:
    docs = [Document(id="a", text="We calibrated the probes yesterday"), Document(id="b", text="Shipping is fast")]
    assert BM25Retriever.from_documents(docs, stem=True).retrieve("calibrating probe", 1)[0].doc_id == "a"
    assert (
        BM25Retriever.from_documents(docs, stem=False).retrieve("calibrating probe", 2) == []
        or BM25Retriever.from_documents(docs, stem=False).retrieve("calibrating probe", 2)[0].score == 0.0
    )


def test_bm25_sample_queries(sample_docs) -> None:
    queries, qrels = load_labelled_queries(sample_data.path("heronsgate_queries.jsonl"))
    bm25 = BM25Retriever.from_documents(sample_docs)
    top3 = bm25.retrieve_many(list(queries.values()), 3)
    found = sum(any(h.doc_id in qrels[q] for h in hs) for q, hs in zip(queries, top3))
    assert found >= 9  # measured: 11 of 12; chance is about 1


def test_empty_bm25() -> None:
    with pytest.raises(EmptyDataError):
        BM25Retriever.from_documents([])
    with pytest.raises(EmptyDataError):
        BM25Retriever().retrieve("x")


def test_rrf_hand_computed() -> None:
    fused = reciprocal_rank_fusion([hits(("a", 9), ("b", 8)), hits(("b", 0.9), ("c", 0.1))], k=60)
    assert [h.doc_id for h in fused] == ["b", "a", "c"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].score == pytest.approx(1 / 61) and fused[2].score == pytest.approx(1 / 62)


def test_weighted_fusion_normalises_scales() -> None:
    dense = hits(("a", 0.9), ("b", 0.8), ("c", 0.1))
    keyword = hits(("c", 30.0), ("b", 20.0), ("a", 0.0))
    assert [h.doc_id for h in weighted_fusion([dense, keyword], [1.0, 1.0])][0] == "b"
    assert [h.doc_id for h in weighted_fusion([dense, keyword], [1.0, 0.0])][0] == "a"
    with pytest.raises(ValueError):
        weighted_fusion([dense], [1.0, 2.0])


def test_hybrid_combines_both(sample_docs, embedder) -> None:
    from playbook_lib.rag.retrieve import DenseRetriever

    dense = DenseRetriever.from_documents(sample_docs, embedder)
    hybrid = HybridRetriever([dense, BM25Retriever.from_documents(sample_docs)], depth=10)
    top = hybrid.retrieve("What does error E17 mean?", 3)
    assert top[0].doc_id == "kb-020" and [h.rank for h in top] == [1, 2, 3]
    assert hybrid.retrieve_many(["What does error E17 mean?"], 3)[0] == top
    with pytest.raises(ValueError, match="unknown fusion"):
        HybridRetriever([dense], method="max")  # type: ignore[arg-type]


def make_beir(tmp_path: Path) -> Path:
    """A BEIR folder built from the bundled sample (our own text)."""
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_bytes(sample_data.path("heronsgate_kb.jsonl").read_bytes())
    queries, qrels = load_labelled_queries(sample_data.path("heronsgate_queries.jsonl"))
    (tmp_path / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in queries.items())
    )
    rows = [f"{q}\t{d}\t{g}" for q, docs in qrels.items() for d, g in docs.items()]
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
    return tmp_path


def test_eval_cli_compares_methods(tmp_path: Path) -> None:
    folder = make_beir(tmp_path)
    env = {"PLAYBOOK_THREADS": "1", "COLUMNS": "200"}
    result = run_cli("rag", "eval", folder, "-m", "dense", "-m", "bm25", "-m", "hybrid", env=env)
    assert result.code == 0, result.stderr
    for method in ("dense", "bm25", "hybrid"):
        assert method in result.stdout
    assert "nDCG@10" in result.stdout and "12 queries, 36 documents" in result.stdout
    bad = run_cli("rag", "eval", folder, "-m", "magic", env=env)
    assert bad.code == ExitCode.USAGE and "Traceback" not in bad.stderr and "magic" in bad.stderr


def test_eval_cli_passages_option(tmp_path: Path) -> None:
    folder = make_beir(tmp_path)
    env = {"PLAYBOOK_THREADS": "1", "COLUMNS": "200"}
    result = run_cli("rag", "eval", folder, "-m", "hybrid", "-m", "bm25", "--fusion", "weighted", "--passages", env=env)
    assert result.code == 0, result.stderr
    assert "hybrid+passages" in result.stdout and "nDCG@10" in result.stdout
    assert "bm25+passages" not in result.stdout and "bm25" in result.stdout  # passages change dense scores only


def test_title_weight_boosts_title_terms() -> None:
    docs = [
        Document(id="a", title="Calibration", text="Steps for the field meter and its probe"),
        Document(id="b", text="Calibration happens in spring for the field meter and its probe"),
    ]
    once = {h.doc_id: h.score for h in BM25Retriever.from_documents(docs).retrieve("calibration", 2)}
    thrice = BM25Retriever.from_documents(docs, title_weight=3).retrieve("calibration", 2)
    assert thrice[0].doc_id == "a" and thrice[0].score > once["a"]
    with pytest.raises(ValueError):
        BM25Retriever(title_weight=0)
