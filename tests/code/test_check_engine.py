"""``playbook check --engine local``: the checklist over --data read in batches writes the reports that
``--engine memory`` (the whole dataset loaded) writes; its options' bad values are one line and a documented code."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from playbook_lib import sample_data
from playbook_lib.errors import ExitCode
from tests.cli import CliResult, assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[2]
READINESS = ROOT / "checklists" / "dataset_readiness.yaml"
SAMPLE = sample_data.path("sft_sample.jsonl")
SAMPLE_EVAL = sample_data.path("sft_eval.jsonl")
SAMPLE_TRAFFIC = sample_data.path("sft_traffic.jsonl")


def run(*args: str | Path, terminal: bool = False) -> CliResult:
    return run_cli("check", *args, env={"PLAYBOOK_THREADS": "1", "HF_HUB_OFFLINE": "1"}, terminal=terminal)


def reports(tmp_path: Path, data: Path, *extra: str) -> tuple[CliResult, dict, str]:
    out = tmp_path / f"report{len(list(tmp_path.glob('report*')))}"
    out.mkdir()
    result = run(
        READINESS, "--data", data, "--eval", SAMPLE_EVAL, "--traffic", SAMPLE_TRAFFIC, "--licence", "CC-BY-4.0",
        "--json", out / "r.json", "--flags", out / "f.jsonl", "-q", *extra,
    )  # fmt: skip
    assert result.code in (0, 1, 2), result.stderr[-2000:]
    return result, json.loads((out / "r.json").read_text()), (out / "f.jsonl").read_text()


def test_the_shipped_checklist_gives_the_same_reports_streamed(tmp_path: Path) -> None:
    whole, whole_json, whole_flags = reports(tmp_path, SAMPLE, "--engine", "memory")
    whole_file = whole_json["data"].pop("flags_file")
    assert whole_flags.count("\n") > 5
    for extra in (("--engine", "local", "--memory-limit", "1GB"), (), ("--batch-rows", "7")):  # () the default
        streamed, streamed_json, streamed_flags = reports(tmp_path, SAMPLE, *extra)
        assert streamed.code == whole.code
        assert streamed_json["data"].pop("flags_file") != whole_file  # each its own
        assert streamed_json == whole_json, extra
        assert streamed_flags == whole_flags, extra


def test_the_default_engine_is_local_for_dataset_checklists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from playbook_lib.checklist import run as whole_run

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the default engine loaded the data whole")

    monkeypatch.setattr(whole_run, "run_checklist", refused)
    result, report, _ = reports(tmp_path, SAMPLE)
    assert report["data"]["train"]["rows"] > 100 and "Traceback" not in result.stderr


def test_compressed_data_streamed_names_the_same_rows(tmp_path: Path) -> None:
    packed = tmp_path / "train.jsonl.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    _, plain_json, plain_flags = reports(tmp_path, SAMPLE, "--engine", "local")
    _, packed_json, packed_flags = reports(tmp_path, packed, "--engine", "local")
    assert packed_json["data"]["train"]["path"] == str(packed)
    for report in (plain_json, packed_json):
        report["data"].pop("flags_file")
    # the skipped rows are named file:line, so the file's name is the one difference
    assert json.dumps(packed_json).replace(str(packed), str(SAMPLE)) == json.dumps(plain_json)
    assert packed_flags == plain_flags


def test_progress_on_a_terminal_and_nothing_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(READINESS, "--data", SAMPLE, "--engine", "local", terminal=True)
    assert result.code in (0, 1, 2) and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # the feature store's folder is gone, nothing written where it ran


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (("--engine", "local", "--memory-limit", "lots"), "memory limit must be a size"),
        (("--engine", "local", "--memory-limit", "-4GB"), "memory limit must be a size"),
        (("--engine", "memory", "--memory-limit", "4GB"), "--memory-limit applies to --engine local"),
        (("--engine", "memory", "--batch-rows", "100"), "--batch-rows applies to --engine local"),
        (("--memory-limit", "1KB"), "the feature store in"),  # DuckDB out of memory: one line, not a traceback
        (("--engine", "local", "--write-clean", "clean.jsonl"), "--write-clean needs --engine memory"),
    ],
)
def test_bad_engine_options_are_one_line(tmp_path: Path, extra: tuple[str, ...], fragment: str) -> None:
    extra = tuple(str(tmp_path / e) if e.endswith(".jsonl") else e for e in extra)
    assert_one_line_error(run(READINESS, "--data", SAMPLE, *extra), ExitCode.USAGE, fragment)
    assert not (tmp_path / "clean.jsonl").exists()


def test_an_unknown_engine_is_a_usage_error() -> None:
    result = run(READINESS, "--data", SAMPLE, "--engine", "spark")
    assert result.code == int(ExitCode.USAGE) and "Traceback" not in result.stderr
