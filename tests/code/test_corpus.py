"""Corpus loading: the happy paths and every kind of bad file, with file:line in the message."""

from __future__ import annotations

from pathlib import Path

import pytest

from playbook_lib import sample_data
from playbook_lib.errors import DataError, EmptyDataError, ExitCode
from playbook_lib.rag.corpus import (
    BeirDataset,
    Document,
    load_beir,
    load_corpus,
    load_labelled_queries,
    subsample_beir,
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bundled_sample_loads() -> None:
    docs = load_corpus(sample_data.path("heronsgate_kb.jsonl"))
    assert len(docs) == 36 and len({d.id for d in docs}) == 36
    queries, qrels = load_labelled_queries(sample_data.path("heronsgate_queries.jsonl"))
    assert set(queries) == set(qrels) and all(d in {x.id for x in docs} for q in qrels.values() for d in q)
    with pytest.raises(FileNotFoundError, match="available"):
        sample_data.path("nope.jsonl")


def test_ids_titles_and_fallbacks(tmp_path: Path) -> None:
    path = write(tmp_path, "c.jsonl", b'{"_id": 7, "title": "T", "text": "x"}\n\n{"content": "y"}\n')
    docs = load_corpus(path)
    assert docs == [Document(id="7", text="x", title="T"), Document(id="3", text="y")]
    assert docs[0].full_text == "T x" and docs[1].full_text == "y"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"text": "ok"}\n{"text": "broken"\n', r"c\.jsonl:2: invalid JSON"),
        (b'{"text": "ok"}\n[1, 2]\n', r"c\.jsonl:2: expected a JSON object"),
        (b'{"title": "no text"}\n', r"c\.jsonl:1: no text field"),
        (b'{"text": "caf\xe9"}\n', r"c\.jsonl:1: not UTF-8"),
        (b'{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', r"c\.jsonl:2: duplicate document id 'a'"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, data: bytes, message: str) -> None:
    path = write(tmp_path, "c.jsonl", data)
    with pytest.raises(DataError, match=message) as info:
        load_corpus(path)
    assert info.value.exit_code == ExitCode.DATA
    assert "\n" not in str(info.value)
    assert path.read_bytes() == data


def test_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_corpus(tmp_path / "missing.jsonl")
    with pytest.raises(EmptyDataError, match="no documents"):
        load_corpus(write(tmp_path, "e.jsonl", b"\n  \n"))
    with pytest.raises(DataError, match="not a BEIR folder"):
        load_beir(tmp_path / "nope")


def test_beir_folder_and_subsample(tmp_path: Path) -> None:
    (tmp_path / "qrels").mkdir()
    write(tmp_path, "corpus.jsonl", b"".join(b'{"_id": "d%d", "text": "t%d"}\n' % (i, i) for i in range(20)))
    write(
        tmp_path,
        "queries.jsonl",
        b'{"_id": "q1", "text": "a"}\n{"_id": "q2", "text": "b"}\n{"_id": "q3", "text": "c"}\n',
    )
    write(tmp_path, "qrels/test.tsv", b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq2\td3\t2\n")
    ds = load_beir(tmp_path)
    assert isinstance(ds, BeirDataset) and len(ds.corpus) == 20
    assert ds.queries == {"q1": "a", "q2": "b"} and ds.qrels["q2"] == {"d2": 1, "d3": 2}
    small = subsample_beir(ds, n_queries=1, n_distractors=3, seed=1)
    assert len(small.queries) == 1
    judged = set(next(iter(small.qrels.values())))
    assert judged <= {d.id for d in small.corpus} and len(small.corpus) == len(judged) + 3
    assert subsample_beir(ds, 1, 3, seed=1) == small
    write(tmp_path, "qrels/test.tsv", b"query-id\tcorpus-id\tscore\nq1\td1\n")
    with pytest.raises(DataError, match=r"test\.tsv:2: expected 3"):
        load_beir(tmp_path)
