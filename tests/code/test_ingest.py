"""Ingestion of text, Markdown, HTML, JSONL, CSV and BEIR folders, with stable ids and content hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from playbook_lib.errors import DataError, EmptyDataError
from playbook_lib.ops.versioning import content_hash
from playbook_lib.rag.ingest import ingest


def make_tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("Plain   text\n\n\n\nwith gaps.")
    (root / "b.md").write_text("# Probe care\n\nStore probes wet.")
    (root / "sub" / "c.html").write_text(
        "<html><head><title>Pricing</title><style>p{}</style></head>"
        "<body><p>Wren-3: 2,950 &euro;</p><script>var x=1;</script></body></html>"
    )
    (root / "d.jsonl").write_text('{"_id": "r1", "text": "record one"}\n')
    (root / "e.csv").write_text("id,title,text\nx,Row X,row text\n")
    (root / "ignored.bin").write_bytes(b"\x00\x01")
    return root


def test_folder_of_mixed_files(tmp_path: Path) -> None:
    docs = {d.id: d for d in ingest(make_tree(tmp_path))}
    assert sorted(docs) == ["a.txt", "b.md", "d.jsonl:r1", "e.csv:x", "sub/c.html"]
    assert docs["a.txt"].text == "Plain text\n\nwith gaps."
    assert docs["b.md"].title == "Probe care"
    assert docs["sub/c.html"].title == "Pricing" and docs["sub/c.html"].text == "Wren-3: 2,950 €"
    assert docs["e.csv:x"].title == "Row X"
    for doc in docs.values():
        assert doc.metadata["content_hash"] == content_hash(doc.full_text) and doc.metadata["source"]
    assert [d.id for d in ingest(tmp_path)] == [d.id for d in ingest(tmp_path)]


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        ingest(tmp_path / "nope")
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(DataError, match="unsupported file type"):
        ingest(tmp_path / "x.pdf")
    with pytest.raises(EmptyDataError):
        ingest(tmp_path)
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9")
    with pytest.raises(DataError, match="not UTF-8"):
        ingest(tmp_path / "bad.txt")
    (tmp_path / "bad.csv").write_text("title\nno text column\n")
    with pytest.raises(DataError, match=r"bad\.csv:1: a CSV corpus needs a 'text' column"):
        ingest(tmp_path / "bad.csv")
