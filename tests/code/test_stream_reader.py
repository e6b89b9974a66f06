"""The dataset reader in batches (:func:`playbook_lib.data.load.iter_record_batches`): batches concatenated are
exactly :func:`~playbook_lib.data.load_records`; CSV streams and still reads as the whole-text reader did; gzip and
zstd files read as the plain file; folders and glob patterns of shards number rows globally and name each row's
file; bad archives and bad shard sets are one line and exit code 4 through ``playbook check``; memory stays with
the batch, not the dataset."""

from __future__ import annotations

import csv
import gc
import gzip
import io
import json
import re
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from playbook_lib import sample_data
from playbook_lib.checklist.rows import RowRefs
from playbook_lib.data import load_records
from playbook_lib.data.load import RECORD_COLUMNS, iter_record_batches
from playbook_lib.errors import DataError, EmptyDataError, ExitCode, StreamError, UsageError
from tests.cli import CliResult, assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[2]
READINESS = ROOT / "checklists" / "dataset_readiness.yaml"
SAMPLE = sample_data.path("sft_sample.jsonl")


def batches(path: str | Path, batch_rows: int, **kwargs: object) -> list[pd.DataFrame]:
    return list(iter_record_batches(path, batch_rows=batch_rows, **kwargs))  # type: ignore[arg-type]


def assert_batches_make(parts: list[pd.DataFrame], whole: pd.DataFrame, batch_rows: int) -> None:
    """Every batch holds at most ``batch_rows`` rows, the record model's columns and dtypes, and a RangeIndex that
    continues the previous batch's; concatenated they are ``whole``."""
    start = 0
    for part in parts:
        assert 0 < len(part) <= batch_rows
        assert list(part.columns) == list(RECORD_COLUMNS) and list(part.dtypes) == list(whole.dtypes)
        assert isinstance(part.index, pd.RangeIndex) and (part.index.start, part.index.stop) == (
            start,
            start + len(part),
        )
        start += len(part)
    assert start == len(whole)
    pd.testing.assert_frame_equal(pd.concat(parts), whole)


def gzip_copy(source: Path, target: Path) -> Path:
    target.write_bytes(gzip.compress(source.read_bytes()))
    return target


def zstd_copy(source: Path, target: Path) -> Path:
    with pa.output_stream(str(target), compression="zstd") as out:
        out.write(source.read_bytes())
    return target


def split_lines(source: Path, folder: Path, sizes: list[int], suffix: str = ".jsonl") -> list[Path]:
    """``source``'s lines cut into consecutive shards of ``sizes`` lines (the last takes the rest)."""
    folder.mkdir()
    lines = source.read_bytes().splitlines(keepends=True)
    paths, at = [], 0
    for i, size in enumerate([*sizes, len(lines)]):
        paths.append(folder / f"part-{i:03d}{suffix}")
        paths[-1].write_bytes(b"".join(lines[at : at + size]))
        at += size
    return paths


# --- batches are the whole ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sft_sample.jsonl", "sft_chat_sample.jsonl", "preference_sample.jsonl"])
@pytest.mark.parametrize("batch_rows", [1, 7, 10_000])
def test_batches_concatenated_are_load_records_on_the_sample(name: str, batch_rows: int) -> None:
    path = sample_data.path(name)
    whole = load_records(path)
    skipped: list[str] = []
    files: list[dict[str, object]] = []
    parts = batches(path, batch_rows, skipped=skipped, files=files)
    assert_batches_make(parts, whole, batch_rows)
    assert len(parts) == -(-len(whole) // batch_rows)  # batches are full but the last
    assert skipped == whole.attrs["skipped"] and files == whole.attrs["files"] == [
        {"path": str(path), "rows": len(whole)}
    ]
    if name == "sft_sample.jsonl":
        assert len(skipped) == 3  # the sample's unreadable lines, listed as load_records lists them


def test_batches_of_a_real_file_and_of_json_csv_parquet(shared_data: Path, tmp_path: Path) -> None:
    gsm = shared_data / "sft" / "gsm8k_train.jsonl"
    whole = load_records(gsm)
    assert len(whole) == 7473
    for batch_rows in (7, 4096, 100_000):  # batch_rows=1: the smaller files below
        assert_batches_make(batches(gsm, batch_rows), whole, batch_rows)
    # the same rows as a JSON array (parsed whole, cut into batches), CSV and Parquet with small row groups
    head = whole["raw"].tolist()[:500]
    (tmp_path / "g.json").write_text(json.dumps(head, indent=1), encoding="utf-8")
    pd.DataFrame(head).to_csv(tmp_path / "g.csv", index=False)
    pd.DataFrame(head).to_parquet(tmp_path / "g.parquet", row_group_size=64)
    for name in ("g.json", "g.csv", "g.parquet"):
        one = load_records(tmp_path / name)
        assert one["instruction"].tolist() == whole["instruction"].tolist()[:500]
        for batch_rows in (1, 7, 1000):
            assert_batches_make(batches(tmp_path / name, batch_rows), one, batch_rows)


def test_errors_come_at_the_call_and_the_collector_is_on_between_batches(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        iter_record_batches(tmp_path / "missing.jsonl")  # no next() needed
    with pytest.raises(UsageError, match="unknown record field"):
        iter_record_batches(SAMPLE, columns={"nope": "x"})
    with pytest.raises(UsageError, match="batch_rows"):
        iter_record_batches(SAMPLE, batch_rows=0)
    (tmp_path / "e.jsonl").write_text("\n{broken\n", encoding="utf-8")
    empty = iter_record_batches(tmp_path / "e.jsonl")
    with pytest.raises(EmptyDataError, match=r"no records found \(1 unreadable rows"):
        next(empty)
    was = gc.isenabled()
    gc.enable()
    try:
        states = [gc.isenabled() for _ in iter_record_batches(SAMPLE, batch_rows=10)]
        assert states and all(states)  # paused only while a batch is built
        stopped = iter_record_batches(SAMPLE, batch_rows=10)
        next(stopped)
        stopped.close()  # type: ignore[attr-defined]  # an early stop closes the file, the collector stays on
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


# --- CSV streams -------------------------------------------------------------------------------------------------


def whole_text_csv(path: Path) -> tuple[list[tuple[int, int, dict[str, str]]], list[str]]:
    """The CSV reading of the record model before it streamed: the whole text decoded, ``csv.DictReader`` over a
    StringIO; ``(end line, start line, row)`` of each row and the skipped rows. The field limit is the caller's."""
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, skipped = [], []
    while True:
        start = reader.line_num + 1
        try:
            obj = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            skipped.append(f"{path}:{start}: unreadable CSV row ({exc})")
            continue
        row = {k: v for k, v in obj.items() if k is not None}
        breaks = sum(len(re.findall(r"\r\n|\r|\n", v)) for v in row.values() if isinstance(v, str))
        rows.append((reader.line_num, reader.line_num - breaks, row))
    return rows, skipped


def test_csv_streaming_reads_as_the_whole_text_reader_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Quoted fields holding \\n, \\r\\n and a lone \\r, a byte-order mark, multi-byte characters across the
    stream's read boundaries, a row past the field limit (skipped, the rows after it read), a row too short: the
    same rows, end and start lines and skipped rows as whole-text reading, at any batch size."""
    rows = [["instruction", "output", "category"]]
    for i in range(3000):
        if i % 250 == 0:
            rows.append([f"multi\nline {i}", "with\r\ncrlf and\ra lone cr", "é" * 7])
        elif i == 1234:
            rows.append(["x" * 5000, "past the limit", "long"])
        elif i == 2222:
            rows.append(["too short"])
        else:
            rows.append([f"question {i} ünïcödé", f"answer {i} 漢字", "plain"])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "hostile.csv"
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    monkeypatch.setattr("playbook_lib.data.load.CSV_FIELD_LIMIT", 1_000)
    limit = csv.field_size_limit()
    csv.field_size_limit(1_000)
    try:
        expected, expected_skipped = whole_text_csv(path)
        frame = load_records(path)
        for batch_rows in (1, 7, 5000):
            assert_batches_make(batches(path, batch_rows), frame, batch_rows)
        assert csv.field_size_limit() == 1_000
    finally:
        csv.field_size_limit(limit)
    assert len(expected_skipped) == 1 and "field larger than field limit" in expected_skipped[0]
    assert frame.attrs["skipped"] == expected_skipped
    assert frame["line"].tolist() == [e[0] for e in expected]
    assert frame["start_line"].tolist() == [e[1] for e in expected]
    assert frame["raw"].tolist() == [e[2] for e in expected]
    assert len(frame) == 2999 and frame["instruction"].iat[0] == "multi\nline 0"


def test_a_csv_not_utf8_is_named_by_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    good = "".join(f"q{i},a{i}\n" for i in range(5000))
    path.write_bytes(b"instruction,output\n" + good.encode() + b"r,caf\xe9\n")
    offset = len(b"instruction,output\n" + good.encode() + b"r,caf")
    with pytest.raises(DataError) as info:
        load_records(path)
    assert str(info.value) == f"{path}:5002: not UTF-8 (invalid continuation byte at byte {offset})"


# --- compressed files --------------------------------------------------------------------------------------------


def test_gzip_and_zstd_read_as_the_plain_file(shared_data: Path, tmp_path: Path) -> None:
    gsm = shared_data / "sft" / "gsm8k_train.jsonl"
    plain = load_records(gsm)
    sample = load_records(SAMPLE)
    head = plain["raw"].tolist()[:300]
    pd.DataFrame(head).to_csv(tmp_path / "h.csv", index=False)
    (tmp_path / "h.json").write_text(json.dumps(head), encoding="utf-8")
    cases = [
        (gsm, plain, "gsm8k_train.jsonl"),
        (SAMPLE, sample, "sample.ndjson"),
        (tmp_path / "h.csv", load_records(tmp_path / "h.csv"), "h.csv"),
        (tmp_path / "h.json", load_records(tmp_path / "h.json"), "h.json"),
    ]
    for source, expected, name in cases:
        for copy, ending in ((gzip_copy, ".gz"), (zstd_copy, ".zst")):
            packed = copy(source, tmp_path / f"{name}{ending}")
            frame = load_records(packed)
            pd.testing.assert_frame_equal(frame, expected)
            assert frame.attrs["format"] == expected.attrs["format"]
            assert frame.attrs["files"] == [{"path": str(packed), "rows": len(expected)}]
            assert [s.split(":", 1)[1] for s in frame.attrs["skipped"]] == [
                s.split(":", 1)[1] for s in expected.attrs["skipped"]
            ]  # the same lines, named by the compressed file
            assert_batches_make(batches(packed, 1000), frame, 1000)


def test_corrupt_and_truncated_archives_are_one_data_error(tmp_path: Path) -> None:
    data = b"".join(json.dumps({"instruction": f"q{i}", "output": f"a{i}"}).encode() + b"\n" for i in range(50_000))
    packed = gzip.compress(data)
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "plain.jsonl").write_bytes(data)
    whole = zstd_copy(tmp_path / "plain.jsonl", tmp_path / "whole.csv.zst").read_bytes()
    (tmp_path / "cut.csv.zst").write_bytes(whole[: len(whole) // 3])
    (tmp_path / "fake.jsonl.gz").write_bytes(data[:2000])
    for name, fragment in [
        ("cut.jsonl.gz", "corrupt or truncated gzip file after line "),
        ("cut.csv.zst", "corrupt or truncated zstd file after line "),
        ("fake.jsonl.gz", "corrupt or truncated gzip file before its first line (zlib inflate failed"),
    ]:
        with pytest.raises(StreamError) as info:
            load_records(tmp_path / name)
        message = str(info.value)
        assert message.startswith(f"{tmp_path / name}: ") and fragment in message and "\n" not in message
        if "after line" in message:
            line = int(message.split("after line ")[1].split()[0])
            assert 0 < line < 50_000
    with pytest.raises(UsageError, match="cannot be read compressed"):
        load_records(gzip_copy(tmp_path / "plain.jsonl", tmp_path / "d.parquet.gz"))


# --- shards ------------------------------------------------------------------------------------------------------


def test_shards_number_rows_globally_and_keep_lines_per_file(shared_data: Path, tmp_path: Path) -> None:
    gsm = shared_data / "sft" / "gsm8k_train.jsonl"
    plain = load_records(gsm)
    paths = split_lines(gsm, tmp_path / "shards", [3000, 2500])
    gzip_copy(paths[1], paths[1].with_name("part-001.jsonl.gz"))
    paths[1].unlink()  # one shard compressed: the same format
    paths[1] = paths[1].with_name("part-001.jsonl.gz")
    (tmp_path / "shards" / "README.md").write_text("not data", encoding="utf-8")
    (tmp_path / "shards" / ".hidden.jsonl").write_text('{"instruction": "never read"}\n', encoding="utf-8")
    (tmp_path / "shards" / "sub").mkdir()
    (tmp_path / "shards" / "sub" / "deeper.jsonl").write_text('{"instruction": "never read"}\n', encoding="utf-8")
    for given in (tmp_path / "shards", str(tmp_path / "shards" / "part-*.jsonl*")):
        frame = load_records(given)
        assert frame.attrs["path"] == str(given)
        assert frame.attrs["files"] == [
            {"path": str(paths[0]), "rows": 3000},
            {"path": str(paths[1]), "rows": 2500},
            {"path": str(paths[2]), "rows": 1973},
        ]
        assert isinstance(frame.index, pd.RangeIndex) and len(frame) == len(plain)
        assert frame["raw"].tolist() == plain["raw"].tolist()
        lines = np.concatenate([np.arange(1, 3001), np.arange(1, 2501), np.arange(1, 1974)])
        assert frame["line"].tolist() == frame["start_line"].tolist() == lines.tolist()
        for batch_rows in (7, 2999, 100_000):  # batches may span two shards
            assert_batches_make(batches(given, batch_rows), frame, batch_rows)
        refs = RowRefs(frame)
        assert refs.ref(0)["file"] == str(paths[0]) and refs.ref(2999) == {
            "row": 2999,
            "file": str(paths[0]),
            "line": 3000,
        }
        assert refs.ref(3000) == {"row": 3000, "file": str(paths[1]), "line": 1}
        assert refs.ref(7472) == {"row": 7472, "file": str(paths[2]), "line": 1973}
    assert "file" not in RowRefs(plain).ref(5)  # one file: references as before
    assert "file" not in RowRefs(frame.iloc[:10]).ref(5)  # a slice that kept the attrs names no wrong file


def test_bad_shard_sets(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x", encoding="utf-8")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.jsonl").write_text('{"instruction": "q"}\n', encoding="utf-8")
    (mixed / "b.csv").write_text("instruction\nq\n", encoding="utf-8")
    for path, fragment in [
        (tmp_path / "empty", "is a folder with no data file directly inside it"),
        (tmp_path / "other", "is a folder with no data file directly inside it"),
        (mixed, "holds data files of more than one format: csv (b.csv), jsonl (a.jsonl)"),
        (tmp_path / "train-*.jsonl.gz", "no data file matches this pattern"),
    ]:
        with pytest.raises(DataError) as info:
            load_records(path)
        assert str(info.value).startswith(f"{path}: ") and fragment in str(info.value)


# --- through playbook check --------------------------------------------------------------------------------------


def check(*args: str | Path) -> CliResult:
    return run_cli("check", READINESS, *args, "--quiet", env={"PLAYBOOK_THREADS": "1"})


def test_bad_inputs_through_the_cli_are_one_line(tmp_path: Path) -> None:
    """Exit code 4 (data error) for a corrupt gzip, a truncated zstd, an empty or mixed folder, a glob with no
    match; 3 (usage) for --write-clean of shards or a compressed file and for an output among the shards."""
    raw = gzip.compress(SAMPLE.read_bytes())
    corrupt = bytearray(raw)
    corrupt[len(raw) // 2 : len(raw) // 2 + 40] = bytes(40)
    (tmp_path / "corrupt.jsonl.gz").write_bytes(bytes(corrupt))
    whole = zstd_copy(SAMPLE, tmp_path / "whole.jsonl.zst").read_bytes()
    (tmp_path / "cut.jsonl.zst").write_bytes(whole[: len(whole) - 10])
    (tmp_path / "empty").mkdir()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.jsonl").write_bytes(SAMPLE.read_bytes())
    (mixed / "b.csv").write_text("instruction,output\nq,a\n", encoding="utf-8")
    shards = split_lines(SAMPLE, tmp_path / "shards", [50])
    pattern = str(tmp_path / "shards" / "part-*.jsonl")
    data_errors = [
        (tmp_path / "corrupt.jsonl.gz", "corrupt or truncated gzip file"),
        (tmp_path / "cut.jsonl.zst", "corrupt or truncated zstd file"),
        (tmp_path / "empty", "is a folder with no data file"),
        (mixed, "more than one format"),
        (tmp_path / "none-*.jsonl", "no data file matches this pattern"),
    ]
    for data, fragment in data_errors:
        assert_one_line_error(check("--data", data), ExitCode.DATA, fragment)
    usage_errors: list[tuple[tuple[str | Path, ...], str]] = [
        (("--data", pattern, "--write-clean", tmp_path / "c.jsonl"), "needs --data to be one uncompressed file"),
        (("--data", tmp_path / "shards", "--write-clean", tmp_path / "c.jsonl"), "is a folder of shards"),
        (("--data", tmp_path / "whole.jsonl.zst", "--write-clean", tmp_path / "c.jsonl"), "is compressed"),
        (("--data", pattern, "--json", shards[0]), "must differ from --data"),
        (("--data", pattern, "--flags", tmp_path / "shards" / "part-999.jsonl"), "matches --data"),
        (("--data", tmp_path / "shards", "--json", tmp_path / "shards" / "r.json"), "must differ from --data"),
    ]
    for args, fragment in usage_errors:
        assert_one_line_error(check(*args), ExitCode.USAGE, fragment)
    assert_one_line_error(  # only --data reads shards
        check("--data", SAMPLE, "--eval", tmp_path / "shards"), ExitCode.DATA, "is a folder, expected a data file"
    )
    assert not (tmp_path / "c.jsonl").exists() and not (tmp_path / "shards" / "r.json").exists()


def test_a_sharded_run_names_each_flagged_row_by_file_and_line(tmp_path: Path) -> None:
    shards = split_lines(SAMPLE, tmp_path / "shards", [40, 45])
    per_file = [load_records(p) for p in shards]
    report_path, flags_path = tmp_path / "r.json", tmp_path / "f.jsonl"
    result = check("--data", str(tmp_path / "shards" / "part-*.jsonl"), "--json", report_path, "--flags", flags_path)
    assert result.code == ExitCode.FAIL, result.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["data"]["train"]["path"] == str(tmp_path / "shards" / "part-*.jsonl")
    assert report["data"]["train"]["rows"] == sum(len(f) for f in per_file)
    ends = np.cumsum([len(f) for f in per_file])

    def expected(row: int) -> tuple[str, int]:
        k = int(np.searchsorted(ends, row, side="right"))
        local = row - (int(ends[k - 1]) if k else 0)
        return str(shards[k]), int(per_file[k]["start_line"].iat[local])

    named = [e for item in report["items"] for e in item["examples"] if isinstance(e.get("row"), int)]
    assert len(named) > 10 and {e["file"] for e in named} == {str(p) for p in shards}
    for example in named:
        assert (example["file"], example["line"]) == expected(example["row"]), example
    flagged = [json.loads(line) for line in flags_path.read_text(encoding="utf-8").splitlines()]
    assert flagged and all((f["file"], f["line"]) == expected(f["row"]) for f in flagged)


# --- memory ------------------------------------------------------------------------------------------------------


def test_batches_hold_a_batch_not_the_dataset(tmp_path: Path) -> None:
    """60,000 generated rows in batches of 3,000: the traced peak is a small fraction of loading them whole."""
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(60_000):
            out.write(json.dumps({"instruction": f"question {i}?", "output": f"answer {i % 97}", "id": i}) + "\n")

    def peak(work: object) -> int:
        tracemalloc.start()
        try:
            work()  # type: ignore[operator]
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    counted: list[int] = []
    streamed = peak(lambda: counted.extend(len(b) for b in iter_record_batches(path, batch_rows=3_000)))
    whole = peak(lambda: load_records(path))
    assert sum(counted) == 60_000 and len(counted) == 20
    assert streamed < 0.25 * whole, (streamed, whole)
