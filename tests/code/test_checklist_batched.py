"""A checklist run in batches (playbook_lib.checklist.stream) writes the reports the whole-frame run writes.

Real rows (GSM8K train from ../shared/data) with planted duplicates, personal data and broken rows; the checklist's
items that have a per-batch step; batches of several sizes; the JSON report and the flagged-rows file compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batching import batches

from playbook_lib.checklist.parse import parse_checklist_text
from playbook_lib.checklist.report import to_json
from playbook_lib.checklist.rows import write_flags
from playbook_lib.checklist.run import run_checklist
from playbook_lib.checklist.stream import run_checklist_batched, scan_frames
from playbook_lib.checks import CheckContext
from playbook_lib.checks.batch import FrameRows
from playbook_lib.data import load_records, records_from_rows
from playbook_lib.errors import UsageError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

CHECKLIST = """
name: batched
items:
  - {id: fmt, title: Formatting, check: formatting, required: [instruction, output], outlier_z: 4.0, warn: 0.0, fail: 0.05}
  - {id: exact, title: Exact, check: exact_duplicates, warn: 0.0, fail: 0.05}
  - {id: exact.question, title: Questions, check: exact_duplicates, fields: [instruction], warn: 0.0, fail: 0.05}
  - {id: pii, title: PII, check: pii, warn: 0.0, fail: 0.01}
"""


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    path = SHARED / "sft" / "gsm8k_train.jsonl"
    if not path.is_file():
        pytest.skip("needs ../shared/data (see its README)")
    base = load_records(path).iloc[:1500]
    rows = [
        {"id": f"g{i}", "instruction": q, "output": a} for i, (q, a) in enumerate(zip(base.instruction, base.output))
    ]
    rng = np.random.default_rng(11)
    copies = [dict(rows[i], id=f"c{i}", instruction=rows[i]["instruction"].lower()) for i in rng.choice(1500, 30)]
    extra = [
        {"instruction": "Mail grace.hopper@heronsgate.org today.", "output": "ok"},
        {"instruction": "", "output": "empty question"},
        {"instruction": "word " * 3000, "output": "long"},
    ]
    mixed = rows + copies + extra
    frame = records_from_rows([mixed[i] for i in rng.permutation(len(mixed))])
    frame.attrs["skipped"] = ["train.jsonl:9: invalid JSON (Expecting value; column 1)"]
    return frame


@pytest.mark.parametrize("size", [1, 64, 1000, 10_000])
def test_batched_report_and_flags_equal_the_whole_run(planted: pd.DataFrame, size: int, tmp_path: Path) -> None:
    if size == 1:  # 300 rows and the planted extras
        keep = (np.arange(len(planted)) < 300) | planted["output"].isin(["ok", "empty question", "long"]).to_numpy()
        records = planted[keep].reset_index(drop=True)
        records.attrs = dict(planted.attrs)
    else:
        records = planted
    spec = parse_checklist_text(CHECKLIST)
    whole = run_checklist(spec, records, CheckContext())
    assert whole.outcome.value in ("warn", "fail")  # the planted problems are found
    seen: list[int] = []
    report, refs, store = run_checklist_batched(
        spec, FrameRows(records), CheckContext(), batch_rows=size, on_batch=seen.append
    )
    try:
        assert sum(seen) == len(records) and len(seen) == -(-len(records) // size)
        # the data description differs only where the whole run knows the file (a frame built from rows has none)
        expected = json.loads(to_json(whole))
        got = json.loads(to_json(report))
        expected["data"]["train"].update(path="", format="")
        assert got == expected
        write_flags(whole, records, tmp_path / "whole.jsonl")
        write_flags(report, refs, tmp_path / "batched.jsonl")
        assert (tmp_path / "batched.jsonl").read_text() == (tmp_path / "whole.jsonl").read_text()
        assert (tmp_path / "whole.jsonl").read_text().count("\n") >= (3 if size == 1 else 30)
    finally:
        store.close()


def test_frames_as_batches_are_numbered_globally() -> None:
    five = records_from_rows([{"instruction": str(i), "output": "x"} for i in range(5)])
    frames = [five.iloc[0:3], five.iloc[3:3], five.iloc[3:5]]
    assert [list(f.index) for f in scan_frames(frames)] == [[0, 1, 2], [], [3, 4]]
    assert [list(b.index) for b in batches(five, 2)] == [[0, 1], [2, 3], [4]]


def test_an_item_that_reads_something_else_is_named() -> None:
    spec = parse_checklist_text(
        "name: x\nitems:\n  - {id: s, title: S, check: superpower}\n  - {id: e, title: E, check: exact_duplicates}\n"
    )
    records = records_from_rows([{"instruction": "a", "output": "b"}])
    with pytest.raises(UsageError, match="items s cannot run on batched data"):
        run_checklist_batched(spec, FrameRows(records))


def _write_jsonl(path: Path, frame: pd.DataFrame) -> None:
    path.write_text("".join(json.dumps(raw) + "\n" for raw in frame["raw"]), encoding="utf-8")


@pytest.mark.parametrize("layout", ["file", "gzip", "shards"])
def test_a_file_streamed_gives_the_report_of_the_file_loaded(
    planted: pd.DataFrame, layout: str, tmp_path: Path
) -> None:
    import gzip

    from playbook_lib.checklist.stream import FileRows

    folder = tmp_path / "data"
    folder.mkdir()
    if layout == "file":
        path = folder / "train.jsonl"
        _write_jsonl(path, planted)
        path.write_text(path.read_text() + "{broken\n", encoding="utf-8")
    elif layout == "gzip":
        plain = tmp_path / "train.jsonl"
        _write_jsonl(plain, planted)
        path = folder / "train.jsonl.gz"
        path.write_bytes(gzip.compress(plain.read_bytes()))
    else:
        _write_jsonl(folder / "part-0.jsonl", planted.iloc[:700])
        _write_jsonl(folder / "part-1.jsonl", planted.iloc[700:])
        path = folder
    spec = parse_checklist_text(CHECKLIST)
    loaded = load_records(path)
    whole = run_checklist(spec, loaded, CheckContext())
    source = FileRows(path)
    report, refs, store = run_checklist_batched(
        spec, source, CheckContext(), batch_rows=256, describe_data=source.describe
    )
    try:
        expected, got = json.loads(to_json(whole)), json.loads(to_json(report))
        if layout == "shards":
            assert got["data"]["train"].pop("files") == 2
            flagged = [e for item in got["items"] for e in item["examples"] if "row" in e]
            assert flagged and all(e["file"].endswith(("part-0.jsonl", "part-1.jsonl")) for e in flagged)
        assert got == expected
        write_flags(whole, loaded, tmp_path / "whole.jsonl")
        write_flags(report, refs, tmp_path / "batched.jsonl")
        assert (tmp_path / "batched.jsonl").read_text() == (tmp_path / "whole.jsonl").read_text()
    finally:
        store.close()
    assert source.take([5, 2, 1400]).index.tolist() == [5, 2, 1400]
    assert source.take([3])["instruction"].iloc[0] == loaded["instruction"].iloc[3]


def test_a_first_batch_of_another_shape_gets_the_skipped_checks_a_second_pass() -> None:
    sft = [{"instruction": f"Question {i}?", "output": f"Answer {i}."} for i in range(20)]
    pairs = [
        {"prompt": f"Pick {i}", "chosen": f"good {i}", "rejected": f"good {i}" if i % 7 == 0 else f"bad {i}"}
        for i in range(60)
    ]
    records = records_from_rows(sft + pairs)
    spec = parse_checklist_text(
        "name: x\nitems:\n  - {id: p, title: P, check: preference_pairs}\n  - {id: s, title: S, check: sft_pairs}\n"
    )
    whole = run_checklist(spec, records, CheckContext())
    assert [r.result.outcome.value for r in whole.items] == ["fail", "not_evaluated"]  # preference data
    report, _, store = run_checklist_batched(spec, FrameRows(records), batch_rows=20)  # first batch: SFT rows
    store.close()
    assert json.loads(to_json(report)) == json.loads(to_json(whole)) | {"data": json.loads(to_json(report))["data"]}
    assert report.data["shape"] == "preference"
