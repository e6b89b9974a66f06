"""Which rows, why, and a cleaned copy: every report names a row by ``row`` (0-based), ``line`` (where the record
starts) and ``id``; ``--flags`` writes every flagged row with its reason; ``--write-clean`` drops duplicates and
contaminated rows, masks personal data and leaves every other record byte-identical, never touching the input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from playbook_lib.data import load_records
from playbook_lib.errors import ExitCode
from tests.cli import assert_no_secret, assert_one_line_error, assert_unchanged, run_cli, snapshot

CHECKLIST = """\
name: gate
items:
  - {id: exact, title: exact duplicates, check: exact_duplicates, warn: 0.0, fail: 0.5}
  - {id: pii, title: personal data, check: pii, warn: 0.0, fail: 0.5}
  - {id: leak, title: contamination, check: contamination, ngram: 8, warn: 0.0, fail: 1.0}
"""
EMAIL = "maria.gonzalez@corp-mail.net"
PHONE = "+44 20 7946 0958"


def _rows() -> list[dict[str, object]]:
    """12 rows: row 3 repeats row 1, row 5 holds an e-mail, row 8 copies the eval question, row 10 a phone."""
    rows: list[dict[str, object]] = [
        {"id": f"ex-{i}", "instruction": f"Describe step {i} of the\nmaintenance routine for pump model {i}.",
         "output": f"Step {i}: close valve {i}, then check the seal."}
        for i in range(12)
    ]  # fmt: skip
    rows[3] = dict(rows[1], id="ex-3")
    rows[5]["output"] = f"Write to {EMAIL} for a replacement seal."
    rows[8]["instruction"] = (
        "How many litres per minute does the standard pump move when the inlet valve is fully open?"
    )
    rows[10]["output"] = f"Call {PHONE} for the engineer."
    return rows


EVAL = [{"instruction": "How many litres per minute does the standard pump move when the inlet valve is fully open?",
         "output": "About forty."}]  # fmt: skip


def _write(path: Path, fmt: str, rows: list[dict[str, object]]) -> Path:
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif fmt == "json":
        path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    elif fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["id", "instruction", "output"], lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(rows)
    else:
        pd.DataFrame(rows).to_parquet(path)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "parquet"])
def test_reports_name_rows_by_row_line_and_id_and_flags_file_lists_every_row(tmp_path: Path, fmt: str) -> None:
    data = _write(tmp_path / f"train.{fmt}", fmt, _rows())
    ev = _write(tmp_path / "eval.jsonl", "jsonl", EVAL)
    checklist = tmp_path / "c.yaml"
    checklist.write_text(CHECKLIST, encoding="utf-8")
    report, flags = tmp_path / "r.json", tmp_path / "flags.jsonl"
    result = run_cli("check", checklist, "--data", data, "--eval", ev, "--json", report, "--flags", flags, "-q")
    assert result.code == ExitCode.OK, result.stderr  # warnings only
    body = json.loads(report.read_text())
    items = {i["id"]: i for i in body["items"]}
    records = load_records(data)
    starts = records["start_line"].tolist()
    assert items["exact"]["flagged_rows"] == [3] and items["pii"]["flagged_rows"] == [5, 10]
    assert items["leak"]["flagged_rows"] == [8]
    example = items["pii"]["examples"][0]
    assert example["row"] == 5 and example["id"] == "ex-5"
    if fmt == "parquet":
        assert "line" not in example and items["pii"]["flagged_lines"] == []
    else:
        assert example["line"] == starts[5] and items["pii"]["flagged_lines"] == [starts[5], starts[10]]
    # the physical line is where the record starts: in the file, that line holds the record's first field
    if fmt in ("jsonl", "csv"):
        lines = data.read_text(encoding="utf-8").splitlines()
        assert "ex-5" in lines[example["line"] - 1]
    written = [json.loads(line) for line in flags.read_text().splitlines()]
    assert [(f["item"], f["row"]) for f in written] == [("exact", 3), ("pii", 5), ("pii", 10), ("leak", 8)]
    dup = written[0]
    assert dup["detail"]["kept_row"] == 1 and "duplicate of row 1" in dup["reason"] and dup["id"] == "ex-3"
    assert written[1]["reason"] == "email" and body["data"]["flags_file"] == str(flags)
    leak = written[3]["detail"]
    assert leak["eval_row"] == 0 and leak["containment"] == 1.0 and "eval row 0" in written[3]["reason"]
    assert_no_secret(result, files=[report, flags], secrets=[EMAIL, PHONE])


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "parquet"])
def test_write_clean_drops_masks_and_keeps_the_rest_byte_identical(tmp_path: Path, fmt: str) -> None:
    data = _write(tmp_path / f"train.{fmt}", fmt, _rows())
    ev = _write(tmp_path / "eval.jsonl", "jsonl", EVAL)
    checklist = tmp_path / "c.yaml"
    checklist.write_text(CHECKLIST, encoding="utf-8")
    out, report = tmp_path / f"clean.{fmt}", tmp_path / "r.json"
    before = snapshot(data, ev, checklist)
    result = run_cli("check", checklist, "--data", data, "--eval", ev, "--write-clean", out, "--json", report, "-q")
    assert result.code == ExitCode.OK, result.stderr
    assert_unchanged(before, snapshot(data, ev, checklist))
    clean = load_records(out)
    ids = [r["id"] for r in clean["raw"]]
    assert ids == [f"ex-{i}" for i in range(12) if i not in (3, 8)]
    assert json.loads(report.read_text())["data"]["clean"] == {
        "path": str(out), "rows": 12, "dropped": 2, "masked": 2, "kept": 10
    }  # fmt: skip
    text = out.read_bytes().decode("utf-8") if fmt != "parquet" else json.dumps(clean["raw"].tolist())
    assert EMAIL not in text and PHONE not in text and "[EMAIL]" in text and "[PHONE]" in text
    if fmt == "jsonl":  # untouched records are the source's bytes
        source = data.read_bytes().splitlines(keepends=True)
        kept = out.read_bytes().splitlines(keepends=True)
        assert [line for line in kept if b"[EMAIL]" not in line and b"[PHONE]" not in line] == [
            source[i] for i in range(12) if i not in (3, 5, 8, 10)
        ]
    if fmt == "csv":
        source_text, clean_text = data.read_bytes().decode("utf-8"), out.read_bytes().decode("utf-8")
        for i in (0, 1, 2, 11):  # a multi-line quoted record, copied with its CRLF endings
            record = io.StringIO(newline="")
            csv.writer(record, lineterminator="\r\n").writerow(list(_rows()[i].values()))
            assert record.getvalue() in source_text and record.getvalue() in clean_text


def test_write_clean_never_overwrites_its_input(tmp_path: Path) -> None:
    data = _write(tmp_path / "train.jsonl", "jsonl", _rows())
    checklist = tmp_path / "c.yaml"
    checklist.write_text(CHECKLIST, encoding="utf-8")
    before = snapshot(data)
    result = run_cli("check", checklist, "--data", data, "--write-clean", data, "-q")
    assert result.code in (ExitCode.USAGE, ExitCode.DATA)
    assert_one_line_error(result, result.code)
    assert_unchanged(before, snapshot(data))


def test_flags_needs_a_jsonl_or_parquet_name(tmp_path: Path) -> None:
    data = _write(tmp_path / "train.jsonl", "jsonl", _rows())
    checklist = tmp_path / "c.yaml"
    checklist.write_text(CHECKLIST, encoding="utf-8")
    result = run_cli("check", checklist, "--data", data, "--flags", tmp_path / "flags.txt", "-q")
    assert_one_line_error(result, ExitCode.USAGE, "--flags writes JSONL (.jsonl) or Parquet (.parquet)")
    assert not (tmp_path / "flags.txt").exists()


def test_flags_as_parquet(tmp_path: Path) -> None:
    data = _write(tmp_path / "train.jsonl", "jsonl", _rows())
    checklist = tmp_path / "c.yaml"
    checklist.write_text(CHECKLIST, encoding="utf-8")
    flags = tmp_path / "flags.parquet"
    assert run_cli("check", checklist, "--data", data, "--flags", flags, "-q").code == ExitCode.OK
    table = pd.read_parquet(flags)
    assert list(table.columns) == ["item", "check", "row", "line", "id", "reason", "score", "detail"]
    assert table["row"].tolist() == [3, 5, 10] and json.loads(table["detail"].iloc[0])["kept_row"] == 1
