"""playbook_lib.data.load_records: formats, column mapping, bad lines with file:line, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from playbook_lib.data import load_records, record_text
from playbook_lib.errors import DataError, EmptyDataError, UsageError

ROWS = [
    {"instruction": "Say hi", "input": "", "output": "hi", "provenance": "human", "license": "MIT"},
    {"question": "2+2?", "answer": "4", "split": "test"},
    {"messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there"}]},
    {"prompt": "Pick one", "chosen": "A", "rejected": "B", "label": "good", "annotator": "ann1"},
]


def write_jsonl(path: Path, rows: list, extra: list[str] = ()) -> Path:
    path.write_text("\n".join([json.dumps(r) for r in rows] + list(extra)) + "\n", encoding="utf-8")
    return path


def test_jsonl_maps_every_shape_and_keeps_the_file(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", ROWS)
    before = path.read_bytes()
    frame = load_records(path)
    assert path.read_bytes() == before
    assert frame["instruction"].tolist() == ["Say hi", "2+2?", "Hello", "Pick one"]
    assert frame["output"].tolist() == ["hi", "4", "Hi there", "A"]
    assert frame["licence"].tolist()[0] == "MIT" and frame["split"].tolist()[1] == "test"
    assert frame["rejected"].tolist()[3] == "B" and frame["annotator"].tolist()[3] == "ann1"
    assert frame["line"].tolist() == [1, 2, 3, 4]
    assert frame["provenance"].tolist()[1] is None
    assert record_text(frame)[0] == "Say hi\nhi"


def test_json_csv_parquet_and_format_override(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text(json.dumps(ROWS[:2]), encoding="utf-8")
    assert len(load_records(tmp_path / "d.json")) == 2
    pd.DataFrame([{"instruction": "a", "output": "b"}, {"instruction": "c", "output": "d"}]).to_csv(
        tmp_path / "d.csv", index=False
    )
    csv_frame = load_records(tmp_path / "d.csv")
    assert csv_frame["output"].tolist() == ["b", "d"] and csv_frame["line"].tolist() == [2, 3]
    pd.DataFrame([{"instruction": "a", "response": "b"}]).to_parquet(tmp_path / "d.parquet")
    assert load_records(tmp_path / "d.parquet")["output"].tolist() == ["b"]
    write_jsonl(tmp_path / "d.txt", ROWS[:1])
    assert len(load_records(tmp_path / "d.txt", format="jsonl")) == 1
    assert load_records(tmp_path / "d.txt", format="jsonl", columns={"output": "instruction"})["output"][0] == "Say hi"
    with pytest.raises(UsageError, match="unknown data format"):
        load_records(tmp_path / "d.txt")


def test_bad_lines_are_skipped_with_file_and_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", ROWS[:2], extra=['{"instruction": "trunc', "[1, 2]"])
    frame = load_records(path)
    assert len(frame) == 2
    assert frame.attrs["skipped"][0].startswith(f"{path}:3: invalid JSON")
    assert frame.attrs["skipped"][1].startswith(f"{path}:4: expected a JSON object")


def test_missing_empty_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_records(tmp_path / "nope.jsonl")
    (tmp_path / "e.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(EmptyDataError, match="no records"):
        load_records(tmp_path / "e.jsonl")
    (tmp_path / "b.jsonl").write_bytes(b'{"instruction": "ok"}\n{"instruction": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"b\.jsonl:2: not UTF-8"):
        load_records(tmp_path / "b.jsonl")
    (tmp_path / "t.json").write_text('[{"instruction": "a"}, {"instr', encoding="utf-8")
    with pytest.raises(DataError, match=r"t\.json:1: invalid JSON"):
        load_records(tmp_path / "t.json")


def test_loading_leaves_the_garbage_collector_as_it_was(tmp_path: Path) -> None:
    """The loader pauses the cyclic garbage collector while it builds rows (a speed-up only): afterwards, also after
    an error, it is on again when it was on, and still off when the caller had turned it off. Blank and
    whitespace-only lines are still skipped, a bad line still listed with file:line."""
    import gc

    path = write_jsonl(tmp_path / "d.jsonl", ROWS, extra=["", "   \t", "{broken"])
    empty = write_jsonl(tmp_path / "e.jsonl", [], extra=["{broken"])
    was = gc.isenabled()
    try:
        for state in (True, False):
            (gc.enable if state else gc.disable)()
            frame = load_records(path)
            assert gc.isenabled() is state
            assert len(frame) == len(ROWS) and frame.attrs["skipped"] == [
                f"{path}:7: invalid JSON (Expecting property name enclosed in double quotes; column 2)"
            ]
            with pytest.raises(EmptyDataError):
                load_records(empty)
            assert gc.isenabled() is state
    finally:
        (gc.enable if was else gc.disable)()
