"""Reading rows back without reading the data again: per-row byte offsets of ``iter_record_batches(...,
offsets=True)``, byte spans of one plain JSONL file (:func:`~playbook_lib.data.load.split_jsonl`), one line read
alone at its offset (:func:`~playbook_lib.data.load.read_jsonl_at`), and ``FileRows.take`` seeking to the stored
offsets after the pass: every one gives exactly the rows, line numbers and skipped rows of a whole read."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from playbook_lib import sample_data
from playbook_lib.checklist import stream
from playbook_lib.checklist.stream import FileRows, StoredRefs, local_pass
from playbook_lib.checks.batch import FeatureStore
from playbook_lib.data import load as load_module
from playbook_lib.data import load_records
from playbook_lib.data.load import Span, iter_record_batches, read_jsonl_at, split_jsonl
from playbook_lib.errors import DataError, UsageError

BOM = b"\xef\xbb\xbf"


def hostile_lines() -> list[bytes]:
    """Lines (breaks included) a reader must survive: BOM, blanks, CRLF, unreadable JSON, non-objects, surrogates,
    a lone CR inside a line, and no break after the last."""
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        BOM + b'{"instruction": "first, after a BOM", "output": "a"}\n',
        b"\n",
        b'{"instruction": "crlf line", "output": "b"}\r\n',
        b"   \t \n",
        b'{"instruction": "broken", \n',
        b'{"instruction": "lone \\ud800 surrogate", "output": "c\\udfff"}\n',
        b"[1, 2, 3]\n",
        b'"just a string"\n',
        b'{"instruction": "deep", "output": ' + deep + b"}\n",
        b'{"instruction": "long int", "output": ' + b"9" * 5000 + b"}\n",
        b'{"question": "aliased \xc3\xa9t\xc3\xa9", "answer": "d\\r",\r "x": "a CR between values"}\n',
        b"\r\n",
        b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n',
        b'{"instruction": "last, no line break", "output": "e"}',
    ]


@pytest.fixture()
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"".join(hostile_lines()))
    return path


def lines_of(data: bytes) -> list[bytes]:
    """The lines of ``data`` as a JSONL reader sees them: ended by ``\\n`` only (``bytes.splitlines`` also cuts
    at a lone ``\\r``), breaks kept."""
    parts = data.split(b"\n")
    return [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def line_starts(data: bytes) -> np.ndarray:
    """The byte where each line (1-based number ``i`` at index ``i-1``) starts."""
    return np.cumsum([0] + [len(line) for line in lines_of(data)])[:-1]


def read_with_offsets(path: Path, **kwargs: Any) -> tuple[pd.DataFrame, np.ndarray, list[str], list[dict[str, Any]]]:
    """The frames concatenated (their attrs dropped: pandas cannot compare arrays in attrs), the offsets, skipped
    rows and files."""
    skipped: list[str] = []
    files: list[dict[str, Any]] = []
    frames = list(iter_record_batches(path, skipped=skipped, files=files, offsets=True, **kwargs))
    for frame in frames:
        assert frame.attrs["offsets"].dtype == np.int64 and len(frame.attrs["offsets"]) == len(frame)
    offsets = np.concatenate([frame.attrs.pop("offsets") for frame in frames])
    return pd.concat(frames), offsets, skipped, files


# --- offsets -----------------------------------------------------------------------------------------------------


def assert_offsets_are_the_lines(path: Path, whole: pd.DataFrame, offsets: np.ndarray) -> None:
    """Each offset is where the row's line starts: the bytes there, read as a line, are that line."""
    data = path.read_bytes()
    starts = line_starts(data)
    assert offsets.tolist() == starts[whole["line"].to_numpy() - 1].tolist()
    lines = lines_of(data)
    with path.open("rb") as handle:
        for number, offset in zip(whole["line"].tolist()[::97], offsets.tolist()[::97]):
            handle.seek(offset)
            assert handle.readline() == lines[number - 1]


def test_offsets_of_a_real_file(shared_data: Path) -> None:
    gsm = shared_data / "sft" / "gsm8k_train.jsonl"
    plain = load_records(gsm)
    for batch_rows in (1000, 65_536):
        whole, offsets, skipped, files = read_with_offsets(gsm, batch_rows=batch_rows)
        pd.testing.assert_frame_equal(whole, plain)
        assert skipped == plain.attrs["skipped"] and files == plain.attrs["files"]
        assert_offsets_are_the_lines(gsm, whole, offsets)
    assert offsets[0] == 0 and np.all(np.diff(offsets) > 0)


def test_offsets_of_a_hostile_file(hostile: Path) -> None:
    plain = load_records(hostile)
    whole, offsets, skipped, _ = read_with_offsets(hostile, batch_rows=3)
    pd.testing.assert_frame_equal(whole, plain)
    assert skipped == plain.attrs["skipped"] and len(skipped) == 5  # broken, two non-objects, deep, long int
    assert whole["line"].tolist() == [1, 3, 6, 11, 13, 14]
    assert_offsets_are_the_lines(hostile, whole, offsets)
    assert whole["instruction"].tolist()[:4] == [
        "first, after a BOM",
        "crlf line",
        "lone \ufffd surrogate",
        "aliased été",
    ]


def test_offsets_are_minus_one_where_not_known(tmp_path: Path) -> None:
    sample = sample_data.path("sft_sample.jsonl")
    rows = load_records(sample)["raw"].tolist()[:40]
    (tmp_path / "s.jsonl.gz").write_bytes(gzip.compress(sample.read_bytes()))
    (tmp_path / "s.json").write_text(json.dumps(rows), encoding="utf-8")
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    pd.DataFrame(rows).to_parquet(tmp_path / "s.parquet")
    for name in ("s.jsonl.gz", "s.json", "s.csv", "s.parquet"):
        whole, offsets, _, _ = read_with_offsets(tmp_path / name, batch_rows=16)
        assert len(offsets) == len(whole) > 0 and set(offsets.tolist()) == {-1}, name
    assert "offsets" not in next(iter_record_batches(sample)).attrs  # only when asked for


# --- spans -------------------------------------------------------------------------------------------------------


def assert_spans_cover(path: Path, spans: list[Span], parts: int) -> None:
    data = path.read_bytes()
    assert 1 <= len(spans) <= parts
    assert spans[0].start == 0 and spans[-1].stop == len(data)
    for span, after in zip(spans, spans[1:]):
        assert span.stop == after.start and span.start < span.stop
    for span in spans:
        assert span.start == 0 or data[span.start - 1 : span.start] == b"\n"
        assert span.first_line == data.count(b"\n", 0, span.start) + 1


def assert_spans_read_as_whole(path: Path, parts: int) -> list[Span]:
    spans = split_jsonl(path, parts)
    assert_spans_cover(path, spans, parts)
    whole, offsets, skipped, _ = read_with_offsets(path)
    got, got_offsets, got_skipped = [], [], []
    for span in spans:
        part, where, listed, files = read_with_offsets(path, span=span, batch_rows=2)
        assert isinstance(part.index, pd.RangeIndex) and part.index.start == 0
        assert files == [{"path": str(path), "rows": len(part)}]
        got.append(part)
        got_offsets.append(where)
        got_skipped += listed
    pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), whole)
    assert np.concatenate(got_offsets).tolist() == offsets.tolist() and got_skipped == skipped
    return spans


@pytest.mark.parametrize("parts", [1, 2, 3, 4, 5])
def test_spans_read_as_the_whole_file(hostile: Path, shared_data: Path, parts: int) -> None:
    assert len(assert_spans_read_as_whole(hostile, parts)) > 1 or parts == 1
    assert len(assert_spans_read_as_whole(shared_data / "sft" / "gsm8k_test.jsonl", parts)) == parts


def test_split_counts_lines_across_chunks(hostile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wide = split_jsonl(hostile, 7)
    for chunk in (1, 2, 7, 64):
        monkeypatch.setattr(load_module, "_SPLIT_CHUNK", chunk)
        assert split_jsonl(hostile, 7) == wide
    assert len(wide) < 7  # a line is never cut: the deep line holds most of the bytes


def test_split_edge_cases_and_bad_spans(tmp_path: Path, hostile: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert split_jsonl(empty, 3) == [Span(empty, 0, 0, 1)]
    tiny = tmp_path / "tiny.jsonl"
    tiny.write_bytes(b'{"instruction": "a"}\n{"instruction": "b"}\n')
    assert [(s.start, s.first_line) for s in split_jsonl(tiny, 50)] == [(0, 1), (21, 2)]
    with pytest.raises(UsageError, match="at least 1"):
        split_jsonl(tiny, 0)
    (tmp_path / "t.jsonl.gz").write_bytes(gzip.compress(tiny.read_bytes()))
    with pytest.raises(UsageError, match="plain"):
        split_jsonl(tmp_path / "t.jsonl.gz", 2)
    with pytest.raises(UsageError, match="where a line starts"):
        iter_record_batches(tiny, span=Span(tiny, 5, 42, 2))
    with pytest.raises(UsageError, match="not a span"):
        iter_record_batches(tiny, span=Span(tiny, 21, 42, 1))
    with pytest.raises(UsageError, match="reads only that file"):
        iter_record_batches(hostile, span=Span(tiny, 0, 42, 1))
    # a span of blank or unreadable lines only is no error (the file as a whole has records)
    starts = line_starts(hostile.read_bytes())
    skipped: list[str] = []
    assert list(iter_record_batches(hostile, span=Span(hostile, starts[3], starts[5], 4), skipped=skipped)) == []
    assert len(skipped) == 1 and skipped[0].startswith(f"{hostile}:5: invalid JSON")


# --- one line at its offset --------------------------------------------------------------------------------------


def test_read_jsonl_at_is_the_whole_read(hostile: Path, shared_data: Path) -> None:
    rng = np.random.default_rng(7)
    for path in (hostile, shared_data / "sft" / "gsm8k_train.jsonl"):
        whole, offsets, _, _ = read_with_offsets(path)
        pick = np.concatenate([rng.integers(0, len(whole), 300), [0, len(whole) - 1, 0]])
        got = read_jsonl_at(path, offsets[pick], whole["line"].to_numpy()[pick])
        pd.testing.assert_frame_equal(got, whole.iloc[pick].reset_index(drop=True))
    starts = line_starts(hostile.read_bytes())
    with pytest.raises(DataError, match="hostile.jsonl:2: expected a record at byte 56, found no value"):
        read_jsonl_at(hostile, np.array([starts[1]]), np.array([2]))  # a blank line
    with pytest.raises(DataError, match="hostile.jsonl:7: expected a record at byte .*, found a JSON array"):
        read_jsonl_at(hostile, np.array([starts[6]]), np.array([7]))
    with pytest.raises(DataError, match="hostile.jsonl:1: invalid JSON"):
        read_jsonl_at(hostile, np.array([5]), np.array([1]))  # not where a line starts
    with pytest.raises(UsageError, match="known"):
        read_jsonl_at(hostile, np.array([-1]), np.array([1]))


# --- FileRows.take by seeking ------------------------------------------------------------------------------------


def passed(path: Path, seek: bool) -> tuple[FileRows, FeatureStore]:
    """``path`` as FileRows after a pass (no check: the refs only), given its stored refs when ``seek``."""
    rows = FileRows(path)
    store = FeatureStore()
    local_pass(rows, [], store, batch_rows=1000)
    if seek:
        rows.seek_with(StoredRefs(store, rows.files))
    return rows, store


def shards(source: Path, folder: Path, cuts: list[int], gzip_last: bool = False) -> Path:
    folder.mkdir()
    lines = lines_of(source.read_bytes())
    bounds = [0, *cuts, len(lines)]
    for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        data = b"".join(lines[lo:hi])
        last = gzip_last and hi == len(lines)
        (folder / f"part-{i}.jsonl{'.gz' if last else ''}").write_bytes(gzip.compress(data) if last else data)
    return folder


def asked_rows(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [
        rng.integers(0, n, 500),  # unsorted, with repeats
        np.array([n - 1, 0, n - 1, 5]),
        np.arange(0, n, max(1, n // 50)),
        np.array([], dtype=np.int64),
    ]


@pytest.mark.parametrize("layout", ["file", "hostile", "shards", "gzip-shard"])
def test_take_by_seek_is_take_by_rescan(layout: str, shared_data: Path, hostile: Path, tmp_path: Path) -> None:
    gsm = shared_data / "sft" / "gsm8k_test.jsonl"
    path = {
        "file": gsm,
        "hostile": hostile,
        "shards": shards(gsm, tmp_path / "shards", [400, 401, 900]),
        "gzip-shard": shards(gsm, tmp_path / "gz", [500, 1000], gzip_last=True),
    }[layout]
    whole = load_records(path)
    seeking, store = passed(path, seek=True)
    rescanning, other = passed(path, seek=False)
    try:
        assert seeking.rows == rescanning.rows == len(whole)
        stored = StoredRefs(store, seeking.files).offsets(np.arange(len(whole)))
        assert stored is not None
        assert stored[0].tolist() == list(range(len(whole))) and stored[1].tolist() == whole["line"].tolist()
        assert (stored[2] >= 0).all() == (layout != "gzip-shard")
        for rows in asked_rows(len(whole)):
            expected = whole.loc[rows]
            pd.testing.assert_frame_equal(rescanning.take(rows), expected)
            pd.testing.assert_frame_equal(seeking.take(rows), expected)
    finally:
        store.close()
        other.close()


def test_take_seeks_and_reads_no_more(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = shards(shared_data / "sft" / "gsm8k_test.jsonl", tmp_path / "shards", [600])
    seeking, store = passed(folder, seek=True)
    try:

        def no_rescan(*args: object) -> pd.DataFrame:
            raise AssertionError("read the data again")

        monkeypatch.setattr(FileRows, "_rescan", no_rescan)
        reads: list[int] = []
        real = stream.read_jsonl_at

        def counted(path: Path, offsets: np.ndarray, *args: Any) -> pd.DataFrame:
            reads.append(len(offsets))
            return real(path, offsets, *args)

        monkeypatch.setattr(stream, "read_jsonl_at", counted)
        assert seeking.take([1000, 3, 1000, 599, 600])["line"].tolist() == [401, 4, 401, 600, 1]
        assert reads == [2, 2]  # each file opened once, each distinct row read once
        # the file changed since the pass: an error, never another row's text
        (folder / "part-1.jsonl").write_bytes(b"\n" * 10_000_000)
        with pytest.raises(DataError, match="expected a record"):
            seeking.take([700])
    finally:
        store.close()


def test_the_engine_gives_file_rows_the_offsets(tmp_path: Path) -> None:
    from playbook_lib.checklist.parse import parse_checklist
    from playbook_lib.checklist.stream import run_checklist_batched

    spec = parse_checklist(Path(__file__).resolve().parents[2] / "checklists" / "dataset_readiness.yaml")
    spec = dataclasses.replace(spec, items=[i for i in spec.items if i.check == "exact_duplicates"])
    data = FileRows(sample_data.path("sft_sample.jsonl"))
    report, refs, store = run_checklist_batched(spec, data, batch_rows=50)
    try:
        assert data._refs is refs and data._seekable() is not None
        stored = refs.offsets(np.arange(data.rows))
        assert report.items and stored is not None and (stored[2] >= 0).all()
    finally:
        store.close()
    assert refs.offsets([0]) is None  # the store closed: take reads the data again
    assert data.take([3, 1])["line"].tolist() == load_records(data.path).loc[[3, 1], "line"].tolist()
    assert data._refs is None
