"""``--engine ray`` (playbook_lib.checklist.ray_engine) writes the reports of ``--engine local`` on the same data.

One local Ray cluster of 2 workers for the module. Real rows (GSM8K train and test from ../shared/data) with planted
duplicates, near-duplicates, personal data, broken and untagged rows, label conflicts, split leaks and test questions
copied into training; the shipped checklist (every dataset item) over 3 shards and over one JSONL file cut into byte
spans; the JSON report, the flagged-rows file and the data description compared with the local pass's, through the
Python API and the CLI. Without the cluster: the row shift, the batch contract's ``row`` columns for every shipped
check, and the one-line errors of ``--address``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from playbook_lib import sample_data
from playbook_lib.checklist.inputs import assemble
from playbook_lib.checklist.parse import parse_checklist, parse_checklist_text
from playbook_lib.checklist.report import to_json
from playbook_lib.checklist.rows import write_flags
from playbook_lib.checklist.stream import FileRows, run_checklist_batched
from playbook_lib.checks import CheckContext, get_check
from playbook_lib.checks.batch import BatchCheck
from playbook_lib.data import load_records, records_from_rows
from playbook_lib.errors import ExitCode
from tests.cli import assert_one_line_error, run_cli

ray = pytest.importorskip("ray", reason="needs Ray: pip install 'data-models-playbook[ray]'")
pytest.importorskip("ray.data", reason="needs Ray Data: pip install 'data-models-playbook[ray]'")

from playbook_lib.checklist.ray_engine import RayPass, partitions, shift_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
READINESS = ROOT / "checklists" / "dataset_readiness.yaml"
SHARED = ROOT.parent / "shared" / "data" / "sft"
ENV = {"PLAYBOOK_THREADS": "1", "HF_HUB_OFFLINE": "1"}
SAMPLE = sample_data.path("sft_sample.jsonl")
SAMPLE_EVAL = sample_data.path("sft_eval.jsonl")
SAMPLE_TRAFFIC = sample_data.path("sft_traffic.jsonl")


def _gsm8k(name: str, n: int) -> pd.DataFrame:
    path = SHARED / name
    if not path.is_file():
        pytest.skip("needs ../shared/data (see its README)")
    return load_records(path).iloc[:n]


def _planted_rows(n: int) -> list[dict[str, Any]]:
    """GSM8K train rows with splits, provenance, licences, labels and categories, and planted problems."""
    base = _gsm8k("gsm8k_train.jsonl", n)
    test = _gsm8k("gsm8k_test.jsonl", 20)
    rng = np.random.default_rng(14)
    rows: list[dict[str, Any]] = []
    for i, (q, a) in enumerate(zip(base.instruction, base.output)):
        row: dict[str, Any] = {"id": f"g{i}", "instruction": q, "output": a}
        row["split"] = "test" if i % 20 == 0 else "validation" if i % 20 == 1 else "train"
        if i % 9:
            row["provenance"] = "human" if i % 5 else "synthetic"
        row["licence"] = "MIT" if i % 11 else "CC-BY-NC-4.0"
        row["category"] = "arithmetic" if i % 3 else "word_problem"
        if i % 7 == 0:
            row.update(label="ok" if i % 2 else "bad", annotator=f"a{i % 3}")
        rows.append(row)
    picked = rng.choice(n, 60, replace=False).tolist()
    for k, i in enumerate(picked[:20]):  # exact copies after normalisation, some across splits
        rows.append(dict(rows[i], id=f"c{k}", instruction=rows[i]["instruction"].upper(), split="train"))
    for k, i in enumerate(picked[20:40]):  # near-duplicates: one word changed
        words = rows[i]["output"].split()
        words[len(words) // 2] = "banana"
        rows.append(dict(rows[i], id=f"n{k}", output=" ".join(words)))
    for k, i in enumerate(picked[40:50]):  # the same input labelled the other way
        rows.append(dict(rows[i], id=f"l{k}", label="flip", annotator="a9"))
    for k, (q, a) in enumerate(zip(test.instruction[:10], test.output[:10])):  # test questions in training
        rows.append({"id": f"t{k}", "instruction": q, "output": a, "split": "train", "provenance": "human"})
    rows += [
        {"id": "p0", "instruction": "Mail grace.hopper@heronsgate.org today.", "output": "Sent to her."},
        {"id": "p1", "instruction": "Call me", "output": "My number is +44 20 7946 0958, ring after six."},
        {"id": "p2", "instruction": "Key?", "output": "use AKIAIOSFODNN7EXAMPLF for the bucket"},
        {"id": "e0", "instruction": "", "output": "an empty question"},
        {"id": "e1", "instruction": "What is 2+2?", "output": 4},
        {"id": "e2", "instruction": "Tell me a story", "output": "word " * 5000},
        {"id": "e3", "instruction": "Say it", "output": "As an AI language model I cannot help with that."},
    ]
    order = rng.permutation(len(rows))
    return [rows[i] for i in order]


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The planted rows as 3 shards (the middle one with an unreadable line) and as one file; the eval set,
    traffic and golden set."""
    folder = tmp_path_factory.mktemp("ray-data")
    rows = _planted_rows(1200)
    shards = folder / "shards"
    shards.mkdir()
    cuts = [0, 500, 900, len(rows)]
    for k in range(3):
        text = _jsonl(rows[cuts[k] : cuts[k + 1]])
        if k == 1:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[:100]) + "{broken\n" + "".join(lines[100:])
        (shards / f"part-{k}.jsonl").write_text(text, encoding="utf-8")
    single = folder / "train.jsonl"
    single.write_text(_jsonl(rows[:900]) + "[1, 2]\n" + _jsonl(rows[900:]), encoding="utf-8")
    test = _gsm8k("gsm8k_test.jsonl", 300)
    (folder / "eval.jsonl").write_text(
        _jsonl([{"instruction": q, "output": a} for q, a in zip(test.instruction, test.output)]), encoding="utf-8"
    )
    traffic = [
        {"instruction": q, "category": "arithmetic" if i % 4 else "geometry"}
        for i, q in enumerate(test.instruction[200:300])
    ]
    (folder / "traffic.jsonl").write_text(_jsonl(traffic), encoding="utf-8")
    (folder / "golden.jsonl").write_text(_jsonl(rows[:60]), encoding="utf-8")
    return {"shards": shards, "single": single, "folder": folder}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray cluster of 2 CPUs (2 workers) for the module; yields its address."""
    context = ray.init(
        address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False
    )
    try:
        yield str(context.address_info["address"])
    finally:
        ray.shutdown()


def _context(data: dict[str, Path]) -> CheckContext:
    spec = parse_checklist(READINESS)
    folder = data["folder"]
    return assemble(
        spec,
        data=data["single"],
        eval=folder / "eval.jsonl",
        traffic=folder / "traffic.jsonl",
        golden=folder / "golden.jsonl",
        licence="MIT",
        load_data=False,
    ).context


def _run(path: Path, context: CheckContext, flags: Path, **ray_options: Any) -> tuple[dict, str, dict, list]:
    """The JSON report, the flags file, the data description and files of the shipped checklist over ``path``:
    the local pass, or on the cluster when ``ray_options`` are given."""
    source = FileRows(path)
    feature_pass = RayPass(source, **ray_options) if ray_options else None
    report, refs, store = run_checklist_batched(
        parse_checklist(READINESS), source, context, describe_data=source.describe, feature_pass=feature_pass
    )
    try:
        write_flags(report, refs, flags)
        return json.loads(to_json(report)), flags.read_text(), source.describe(), source.files
    finally:
        store.close()


@pytest.mark.parametrize("layout", ["shards", "spans"])
def test_the_shipped_checklist_on_ray_gives_the_local_report(
    cluster: str, data: dict[str, Path], layout: str, tmp_path: Path
) -> None:
    path = data["shards"] if layout == "shards" else data["single"]
    context = _context(data)
    local = _run(path, context, tmp_path / "local.jsonl")
    on_ray = _run(path, context, tmp_path / "ray.jsonl", parts=3)
    report, flags, described, files = on_ray
    assert report == local[0]
    assert flags == local[1] and flags.count("\n") > 50
    assert described == local[2] and files == local[3]
    assert described["skipped_rows"] == 1 and described["rows"] == sum(f["rows"] for f in files)
    if layout == "shards":
        assert [Path(f["path"]).name for f in files] == ["part-0.jsonl", "part-1.jsonl", "part-2.jsonl"]
        assert described["skipped"][0].startswith(f"{path / 'part-1.jsonl'}:101:")
    else:
        assert len(partitions(FileRows(path), 3, min_bytes=1)) == 3 and len(files) == 1
        assert described["skipped"][0].startswith(f"{path}:901:")
    outcomes = {item["id"]: item["outcome"] for item in report["items"]}
    for found in (
        "quality.uniqueness.exact",
        "quality.uniqueness.near",
        "quality.compliance.pii",
        "split.contamination",
    ):
        assert outcomes[found] in ("warn", "fail"), found  # the planted problems are found
    assert outcomes["coverage"] != "not_evaluated" and outcomes["post_training.preference"] == "not_evaluated"


def _without_flags_file(report: dict) -> dict:
    report["data"].pop("flags_file")
    return report


def _cli_reports(tmp_path: Path, *argv: str | Path) -> tuple[dict, str]:
    """``playbook check ARGV --json --flags`` in this process: the JSON report (less the flags file's name) and the
    flags file."""
    out = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    out.mkdir()
    result = run_cli("check", *argv, "--json", out / "r.json", "--flags", out / "f.jsonl", "-q", env=ENV)
    assert result.code in (0, 1, 2) and "Traceback" not in result.stderr, result.stderr[-2000:]
    return _without_flags_file(json.loads((out / "r.json").read_text())), (out / "f.jsonl").read_text()


def test_the_cli_on_ray_writes_the_local_reports(cluster: str, data: dict[str, Path], tmp_path: Path) -> None:
    """In this process (already connected to the cluster) on the shards, and in a new process given the cluster's
    --address on the bundled sample."""
    folder = data["folder"]
    inputs = [
        READINESS, "--data", data["shards"], "--eval", folder / "eval.jsonl", "--traffic", folder / "traffic.jsonl",
        "--golden", folder / "golden.jsonl", "--licence", "MIT",
    ]  # fmt: skip
    local = _cli_reports(tmp_path, *inputs, "--engine", "local")
    assert _cli_reports(tmp_path, *inputs, "--engine", "ray") == local
    assert local[0]["outcome"] == "fail" and local[1].count("\n") > 50
    sample = [READINESS, "--data", SAMPLE, "--eval", SAMPLE_EVAL, "--traffic", SAMPLE_TRAFFIC, "--licence", "MIT"]
    local = _cli_reports(tmp_path, *sample, "--engine", "local")
    shown = run_cli("check", *sample, "--engine", "ray", env=ENV, terminal=True)  # progress, then the summary
    assert shown.code in (0, 1, 2) and "Traceback" not in shown.stderr and "rows read" in shown.stderr
    out = tmp_path / "address"
    out.mkdir()
    argv = [*sample, "--engine", "ray", "--address", cluster, "--json", out / "r.json", "--flags", out / "f.jsonl"]
    process = subprocess.run(
        [sys.executable, "-m", "playbook_lib.cli", "check", *map(str, argv), "-q"],
        capture_output=True, text=True, timeout=300, env={**os.environ, **ENV},
    )  # fmt: skip
    assert process.returncode in (0, 1, 2) and process.stderr == "" and process.stdout == "", process.stderr[-2000:]
    assert (_without_flags_file(json.loads((out / "r.json").read_text())), (out / "f.jsonl").read_text()) == local


def test_a_first_partition_of_another_shape_gets_the_skipped_checks_a_second_pass(cluster: str, tmp_path: Path) -> None:
    sft = [{"instruction": f"Question {i}?", "output": f"Answer {i}."} for i in range(20)]
    pairs = [
        {"prompt": f"Pick {i}", "chosen": f"good {i}", "rejected": f"good {i}" if i % 7 == 0 else f"bad {i}"}
        for i in range(60)
    ]
    (tmp_path / "a.jsonl").write_text(_jsonl(sft), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(_jsonl(pairs), encoding="utf-8")
    spec = parse_checklist_text(
        "name: x\nitems:\n  - {id: p, title: P, check: preference_pairs}\n  - {id: s, title: S, check: sft_pairs}\n"
    )
    reports = []
    for engine in ("local", "ray"):
        source = FileRows(tmp_path)
        feature_pass = RayPass(source, batch_rows=20) if engine == "ray" else None
        report, _, store = run_checklist_batched(spec, source, batch_rows=20, feature_pass=feature_pass)
        store.close()
        reports.append(json.loads(to_json(report)))
    assert reports[1] == reports[0]
    assert [i["outcome"] for i in reports[1]["items"]] == ["fail", "not_evaluated"]  # preference data


def test_shift_rows_moves_only_the_row_column() -> None:
    table = pa.table({"row": pa.array([0, 2, 5], pa.int64()), "line": [1, 3, 6], "rows": [7, 7, 7]})
    shifted = shift_rows(table, 1000)
    assert shifted.column("row").to_pylist() == [1000, 1002, 1005] and shifted.schema == table.schema
    assert shifted.drop_columns(["row"]).equals(table.drop_columns(["row"]))
    assert shift_rows(table, 0) is table
    counts = pa.table({"label": ["a"], "rows": [3]})
    assert shift_rows(counts, 50).equals(counts)
    empty = pa.table({"row": pa.array([], pa.int32())})
    assert shift_rows(empty, 9).schema == empty.schema


def test_every_shipped_check_numbers_rows_only_in_row_columns(data: dict[str, Path]) -> None:
    """The contract the shift relies on: a batch numbered from k gives the tables of the batch numbered from 0
    with k added to each ``row`` column and nothing else changed, for every dataset check of the checklist."""
    context = _context(data)
    spec = parse_checklist(READINESS)
    other = [
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
        {"prompt": "Pick", "chosen": "good answer here", "rejected": "bad"},
    ]
    frames = [load_records(data["single"]).iloc[:400], records_from_rows(other * 5)]
    for item in spec.items:
        check = get_check(item.check)(**item.params)
        assert isinstance(check, BatchCheck)
        check.prepare(context)
        for frame in frames:
            at_zero = frame.reset_index(drop=True)
            moved = at_zero.copy(deep=False)
            moved.index = pd.RangeIndex(10_000, 10_000 + len(frame))
            for (name, first), (again, second) in zip(check.batch_tables(at_zero), check.batch_tables(moved)):
                assert name == again
                assert shift_rows(first, 10_000).equals(second), f"{item.id}: {name}"
                numbered = [f for f in first.column_names if f == "row"]
                assert numbered or first.equals(second), f"{item.id}: {name} changes with the rows' numbers"


def test_address_applies_to_the_ray_engine_only(tmp_path: Path) -> None:
    for extra, fragment in [
        (("--address", "127.0.0.1:6379"), "--address applies to --engine ray"),
        (("--engine", "local", "--address", "auto"), "--address applies to --engine ray"),
        (("--engine", "local", "--num-cpus", "2"), "--num-cpus applies to --engine ray"),
        (("--engine", "ray", "--address", "127.0.0.1:1", "--num-cpus", "2"), "leave it out with --address"),
    ]:
        assert_one_line_error(run_cli("check", READINESS, "--data", SAMPLE, *extra, env=ENV), ExitCode.USAGE, fragment)


def test_a_bad_address_is_one_line(tmp_path: Path) -> None:
    for address, fragment in [("localhost:1", "no Ray cluster answers there"), ("nowhere", "not a Ray address")]:
        result = run_cli("check", READINESS, "--data", SAMPLE, "--engine", "ray", "--address", address, env=ENV)
        assert_one_line_error(result, ExitCode.USAGE, f"--address {address}: {fragment}")


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import playbook_lib.checklist.ray_engine as engine

    monkeypatch.setattr(engine, "ray_available", lambda: False)
    result = run_cli("check", READINESS, "--data", SAMPLE, "--engine", "ray", env=ENV)
    assert_one_line_error(result, ExitCode.USAGE, "--engine ray needs Ray: pip install 'data-models-playbook[ray]'")


def test_a_data_error_in_a_partition_is_the_local_runs_error(cluster: str, tmp_path: Path) -> None:
    rows = [{"instruction": f"Question {i}?", "output": f"Answer {i}."} for i in range(30)]
    (tmp_path / "part-0.jsonl").write_text(_jsonl(rows), encoding="utf-8")
    (tmp_path / "part-1.jsonl").write_bytes(_jsonl(rows[:3]).encode() + b'{"instruction": "\xff"}\n')
    results = [
        run_cli("check", READINESS, "--data", tmp_path, "--engine", engine, "-q", env=ENV)
        for engine in ("local", "ray")
    ]
    assert_one_line_error(results[1], ExitCode.DATA, f"{tmp_path / 'part-1.jsonl'}:4: not UTF-8")
    assert results[1].stderr == results[0].stderr
