"""Bad-input suite, class 4 and part of class 6 of issue 12: any data row can be hostile, in every reader.

A row may be JSON nested 100,000 deep, hold an integer past Python's 4,300-digit limit, carry lone UTF-16
surrogates (``"\\ud800"``), be a list, a number, a string or ``null`` instead of an object, or put a list, an object,
a number or ``null`` where text, a role, a flag, a rating or a category is expected. What must hold:

* ``check --data`` (and ``--eval``, ``--traffic``, ``--golden``), JSONL, JSON array and CSV: an unreadable row is
  skipped and listed with ``file:line`` in the report, a mistyped row is flagged by the check that cares (formatting,
  sft_pairs, preference_pairs), every check runs to its outcome (a small checklist of every model-free check, and
  the whole ``checklists/dataset_readiness.yaml`` once), and the JSON, HTML and JUnit reports are valid UTF-8 and
  parse. Lone surrogates become U+FFFD at load time.
* The configuration-like readers stop at the first bad line with one line naming ``file:line`` and exit code 4: the
  corpus of ``rag query`` (JSONL or BEIR folder), the BEIR queries and qrels of ``rag eval``, the eval results of
  ``decide next`` and the model checklist, the feedback log of ``rag feedback promote``.
* A corpus whose documents are all empty, a BEIR folder with no judged query (an empty qrels file, qrels naming no
  query of queries.jsonl), and an unreadable data file (a folder, missing, no permission, empty, not UTF-8, not the
  format its name says) are exit code 4 with one line.

Nothing here is a traceback or an internal error (exit code 5), and no input changes. Every input is generated here,
in ``tmp_path``.
"""

from __future__ import annotations

import builtins
import csv
import io
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from playbook_lib.data import load_records
from playbook_lib.decide.evals import load_eval_results
from playbook_lib.errors import DataError, EmptyDataError, ExitCode
from playbook_lib.ops.feedback import FeedbackLog
from playbook_lib.rag.corpus import load_beir, load_corpus, load_qrels
from tests.cli import CliResult, assert_one_line_error, assert_unchanged, leftover_temp_files, run_cli, snapshot

ROOT = Path(__file__).resolve().parents[2]
DATASET_CHECKLIST = ROOT / "checklists" / "dataset_readiness.yaml"
MODEL_CHECKLIST = ROOT / "checklists" / "model_readiness.yaml"
MODEL_PLAN = ROOT / "playbook_lib" / "sample_data" / "model_plan.yaml"

#: Every check that needs no embedding model, with thresholds that make the hostile file fail (not crash).
MODEL_FREE = """\
name: model_free
items:
  - {id: fmt, title: formatting, check: formatting, json_categories: [json], outlier_z: 50, warn: 0.0, fail: 0.99}
  - {id: exact, title: exact duplicates, check: exact_duplicates, warn: 0.0, fail: 0.99}
  - {id: near, title: near duplicates, check: near_duplicates, warn: 0.0, fail: 0.99}
  - {id: pii, title: pii, check: pii, warn: 0.0, fail: 0.99}
  - {id: licence, title: licence, check: licence, warn: 0.0, fail: 0.99}
  - {id: consistency, title: consistency, check: consistency, warn: 0.0, fail: 0.99}
  - {id: rules, title: task rules, check: task_rules, forbidden: [lorem], length_bounds: {"*": [1, 2000]},
     warn: 0.0, fail: 0.99}
  - {id: coverage, title: category mix, check: coverage, by: category, warn: 0.1, fail: 0.99}
  - {id: style, title: instruction style, check: coverage, by: instruction_style, warn: 0.1, fail: 0.99}
  - {id: quantity, title: quantity, check: quantity, method: peft}
  - {id: splits, title: splits, check: splits, warn: 0.0, fail: 0.99}
  - {id: contamination, title: contamination, check: contamination, warn: 0.0, fail: 0.99}
  - {id: provenance, title: provenance, check: provenance, warn: 0.5, fail: 0.99}
  - {id: golden, title: golden set, check: golden_set, warn: 50, fail: 1}
  - {id: sft, title: sft pairs, check: sft_pairs, warn: 0.0, fail: 0.99}
  - {id: pref, title: preference pairs, check: preference_pairs, warn: 0.0, fail: 0.99}
  - {id: bias, title: length bias, check: length_bias, min_pairs: 1, warn: 0.65, fail: 0.99}
"""
FORMATTING_ONLY = "name: fmt\nitems:\n  - {id: fmt, title: formatting, check: formatting, warn: 0.0, fail: 0.99}\n"

GOOD = {
    "instruction": "How do I reset my password?",
    "output": "Open the settings page and choose reset.",
    "category": "account",
    "licence": "cc-by-4.0",
    "provenance": "human",
    "split": "train",
    "source": "kb",
    "label": "ok",
    "annotator": "a1",
}


def deep(depth: int = 100_000) -> str:
    """A JSON array nested ``depth`` deep: json raises RecursionError on it."""
    return "[" * depth + "]" * depth


def huge_int(digits: int = 5_000) -> str:
    """An integer past Python's 4,300-digit int/str conversion limit: json raises ValueError on it."""
    return "7" * digits


# ---------------------------------------------------------------- the hostile JSONL rows of a dataset

#: (label, JSONL line, what the report must say about it): ("skipped", fragment of the file:line message) or
#: (item id, fragment of one of the row's reasons in that item).
DATA_ROWS: list[tuple[str, str, tuple[str, str]]] = [
    ("good", json.dumps(GOOD), ("", "")),
    ("nested 100,000 deep", deep(), ("skipped", "nested too deeply")),
    ("integer past 4,300 digits", '{"instruction": "q", "output": ' + huge_int() + "}", ("skipped", "4300 digits")),
    ("top-level list", "[1, 2, 3]", ("skipped", "expected a JSON object, got array")),
    ("top-level number", "42", ("skipped", "expected a JSON object, got number")),
    ("top-level string", '"just a string"', ("skipped", "expected a JSON object, got string")),
    ("top-level null", "null", ("skipped", "expected a JSON object, got null")),
    (
        "lone surrogates",
        '{"instruction": "bad \\ud800 text", "output": "lone \\udfff here", "category": "c\\udc00"}',
        ("fmt", "mojibake in instruction"),
    ),
    (
        "list and object as text",
        json.dumps({"instruction": ["a", "list"], "output": {"an": "object"}}),
        ("fmt", "instruction is list, expected text"),
    ),
    ("number and null as text", json.dumps({"instruction": 12, "output": None}), ("fmt", "instruction is int")),
    ("booleans as text", json.dumps({"instruction": True, "output": False}), ("fmt", "instruction is bool")),
    (
        "NaN and Infinity as text",
        '{"instruction": "x y z", "output": Infinity, "input": NaN}',
        ("fmt", "output is float, expected text"),
    ),
    (
        "text nested 200 deep",
        '{"instruction": ' + deep(200) + ', "output": "deep but readable"}',
        ("fmt", "instruction is list"),
    ),
    (
        "chat turns that are not objects",
        json.dumps({"messages": [1, "two", None]}),
        ("fmt", "a chat turn has no string content"),
    ),
    (
        "chat role a list",
        json.dumps({"messages": [{"role": ["user"], "content": "hi"}, {"role": {"x": 1}, "content": "hello"}]}),
        ("fmt", "chat role is list, expected text"),
    ),
    ("messages a string", json.dumps({"messages": "not a list"}), ("fmt", "messages is not a non-empty list")),
    (
        "messages an object",
        json.dumps({"messages": {"role": "user", "content": "hi"}}),
        ("sft", "chat: messages is not a non-empty list"),
    ),
    (
        "metadata lists and objects",
        json.dumps(
            {**GOOD, "category": ["x", "y"], "licence": {"name": "mit"}, "provenance": 3, "split": None, "label": [1]}
        ),
        ("fmt", "category is list, expected text"),
    ),
    (
        "prompt a list, response a number",
        json.dumps({"instruction": ["q"], "output": 5}),
        ("sft", "prompt is list, expected text"),
    ),
    (
        "preference values mistyped",
        json.dumps({"prompt": {"p": 1}, "chosen": {"a": 1}, "rejected": 5}),
        ("pref", "chosen is dict, expected text or a chat"),
    ),
    (
        "preference chats mistyped",
        json.dumps({"prompt": "p", "chosen": [1, 2], "rejected": [{"role": 1, "content": ["x"]}]}),
        ("pref", "rejected is list, expected text or a chat"),
    ),
]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hostile_jsonl(path: Path) -> Path:
    return write_lines(path, [line for _, line, _ in DATA_ROWS])


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def assert_reports_valid(json_out: Path, html_out: Path, junit_out: Path) -> dict[str, Any]:
    """Each report is strict UTF-8 (no lone surrogate could be written as one) and parses; returns the JSON."""
    report = json.loads(json_out.read_bytes().decode("utf-8"))
    parser = _Html()
    parser.feed(html_out.read_bytes().decode("utf-8"))
    assert "html" in parser.tags and "table" in parser.tags
    suite = ET.fromstring(junit_out.read_bytes().decode("utf-8"))
    assert suite.tag in ("testsuite", "testsuites") and any(case.get("name") for case in suite.iter("testcase"))
    return report


def assert_no_internal_error(result: CliResult) -> None:
    assert result.code != ExitCode.INTERNAL and "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "internal error" not in result.stderr, result.stderr
    result.stdout.encode("utf-8")  # what a terminal or a pipe receives encodes (no lone surrogate)
    result.stderr.encode("utf-8")


def item(report: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in report["items"] if i["id"] == item_id)


def reasons_by_line(it: dict[str, Any]) -> dict[int, str]:
    return {e["line"]: e["reason"] for e in it["examples"] if isinstance(e.get("line"), int)}


def run_check(
    tmp_path: Path, checklist: Path, data: Path, *extra: str | Path, inputs: tuple[Path, ...] = ()
) -> tuple[CliResult, dict[str, Any]]:
    """``playbook check`` with all three reports; asserts no crash, valid reports, unchanged inputs, no temp file."""
    out = tmp_path / "out"
    reports = (out / "r.json", out / "r.html", out / "r.xml")
    watched = (checklist, data, *inputs)
    before = snapshot(*watched)
    result = run_cli(
        "check",
        checklist,
        "--data",
        data,
        *extra,
        "--json",
        reports[0],
        "--html",
        reports[1],
        "--junit",
        reports[2],
        env={"PLAYBOOK_THREADS": "1"},
    )
    assert_no_internal_error(result)
    assert_unchanged(before, [str(p) for p in watched])
    assert not leftover_temp_files(out)
    return result, assert_reports_valid(*reports)


# ---------------------------------------------------------------- check --data / --eval / --traffic / --golden


def test_every_model_free_check_runs_on_hostile_jsonl_in_every_input(tmp_path: Path) -> None:
    """The same hostile file as --data, --eval, --traffic and --golden: every loader skips and lists the unreadable
    lines, every check runs to an outcome, the mistyped rows are flagged with their line, reports encode."""
    checklist = tmp_path / "free.yaml"
    checklist.write_text(MODEL_FREE, encoding="utf-8")
    inputs = {
        flag: hostile_jsonl(tmp_path / f"{flag.strip('-')}.jsonl") for flag in ("--eval", "--traffic", "--golden")
    }
    data = hostile_jsonl(tmp_path / "train.jsonl")
    extra = [x for flag, path in inputs.items() for x in (flag, path)]
    result, report = run_check(tmp_path, checklist, data, *extra, inputs=tuple(inputs.values()))
    assert result.code == ExitCode.FAIL, result.stderr  # preference_pairs: no row is a valid pair
    assert {i["outcome"] for i in report["items"]} <= {"pass", "warn", "fail", "not_evaluated"}
    assert len(report["items"]) == MODEL_FREE.count("- {id:")
    expected_skips = {n: frag for n, (_, _, (kind, frag)) in enumerate(DATA_ROWS, start=1) if kind == "skipped"}
    for role, path in {
        "train": data,
        "eval": inputs["--eval"],
        "traffic": inputs["--traffic"],
        "golden": inputs["--golden"],
    }.items():
        skipped = report["data"][role]["skipped"]
        assert len(skipped) == len(expected_skips), (role, skipped)
        for message, (number, fragment) in zip(skipped, sorted(expected_skips.items()), strict=True):
            assert message.startswith(f"{path}:{number}: ") and fragment in message, (role, message)
        assert report["data"][role]["rows"] == len(DATA_ROWS) - len(expected_skips)
    # every mistyped row is flagged by the check that cares, with its line and a reason that says what is wrong;
    # the preference rows sit in a file of mostly SFT rows, so the preference items do not run here (the next test
    # runs them on a preference file holding the same hostile rows)
    for pref_item in ("pref", "bias"):
        assert item(report, pref_item)["outcome"] == "not_evaluated", item(report, pref_item)
        assert "this dataset is sft" in item(report, pref_item)["message"]
    for number, (label, _, (item_id, fragment)) in enumerate(DATA_ROWS, start=1):
        if item_id in ("", "skipped", "pref"):
            continue
        it = item(report, item_id)
        assert number in it["flagged_lines"], (label, item_id, it["flagged_lines"])
        assert any(fragment in problem for problem in it["summary"]["problems"]), (label, it["summary"])
    fmt = item(report, "fmt")
    assert 1 not in fmt["flagged_lines"]  # the good row is not flagged
    assert fmt["summary"]["skipped_rows"] == len(expected_skips)
    assert [e["line"] for e in fmt["examples"][:2]] == [f"{data}:2", f"{data}:3"]  # skipped rows, with file:line
    # lone surrogates were replaced at load time: the examples hold U+FFFD, and no report holds an escaped surrogate
    surrogate_line = next(n for n, (label, _, _) in enumerate(DATA_ROWS, start=1) if label == "lone surrogates")
    assert "bad \ufffd text" in json.dumps(item(report, "fmt")["examples"], ensure_ascii=False)
    assert surrogate_line in fmt["flagged_lines"]
    for path in (tmp_path / "out").iterdir():
        assert "\\ud800" not in path.read_text(encoding="utf-8").lower()


def test_hostile_preference_rows_are_flagged_in_a_preference_file(tmp_path: Path) -> None:
    """The hostile preference rows among valid pairs: the file's shape is preference, so the preference items run and
    flag each mistyped row with its line and what is wrong."""
    good = json.dumps({"prompt": "Which plan suits a team of five?", "chosen": "The team plan.", "rejected": "Any."})
    hostile = [(line, frag) for _, line, (item_id, frag) in DATA_ROWS if item_id == "pref"]
    data = write_lines(tmp_path / "pref.jsonl", [good] * 6 + [line for line, _ in hostile])
    checklist = tmp_path / "free.yaml"
    checklist.write_text(MODEL_FREE, encoding="utf-8")
    result, report = run_check(tmp_path, checklist, data)
    assert result.code == ExitCode.FAIL, result.stderr
    assert report["data"]["shape"] == "preference"
    pref = item(report, "pref")
    for number, (_, fragment) in enumerate(hostile, start=7):
        assert number in pref["flagged_lines"], (number, pref["flagged_lines"])
        assert any(fragment in problem for problem in pref["summary"]["problems"]), pref["summary"]
    assert item(report, "sft")["outcome"] == "not_evaluated"


def test_whole_dataset_checklist_runs_on_a_hostile_file(tmp_path: Path) -> None:
    """The shipped checklist, embedding items included (MiniLM), on hostile --data, --eval, --traffic, --golden."""
    data = hostile_jsonl(tmp_path / "train.jsonl")
    others = {
        flag: hostile_jsonl(tmp_path / f"{flag.strip('-')}.jsonl") for flag in ("--eval", "--traffic", "--golden")
    }
    extra = [x for flag, path in others.items() for x in (flag, path)]
    result, report = run_check(tmp_path, DATASET_CHECKLIST, data, *extra, "-q", inputs=tuple(others.values()))
    assert result.code == ExitCode.FAIL, result.stderr
    assert {i["id"] for i in report["items"]} >= {
        "quality.formatting",
        "quality.relevance.embedding",
        "coverage.embedding",
        "split.contamination",
    }
    assert {i["outcome"] for i in report["items"]} <= {"pass", "warn", "fail", "not_evaluated"}
    skipped = report["data"]["train"]["skipped"]
    assert skipped and all(s.startswith(f"{data}:") for s in skipped)
    assert item(report, "quality.formatting")["outcome"] == "fail"


def test_hostile_csv_rows_are_read_flagged_or_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A field past the csv module's default 131,072 characters is read; NUL bytes are flagged as control
    characters; a text that looks like a list is still text; a row the csv module cannot read is skipped with
    file:line. The module's field-size limit is the same after the load as before."""
    long_field = "word " * 40_000  # 200,000 characters
    rows = [
        ["instruction", "output", "category", "licence"],
        ["How do I reset it?", "Open the settings.", "account", "mit"],
        ["Summarise this.", long_field, "summary", "mit"],
        ["nul\x00inside", "out\x00put", "account", "mit"],
        ["Looks like a list?", "It is text.", "[1, 2]", "{not: json}"],
        ["too few fields"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = tmp_path / "train.csv"
    data.write_text(buffer.getvalue(), encoding="utf-8")
    checklist = tmp_path / "free.yaml"
    checklist.write_text(MODEL_FREE, encoding="utf-8")
    limit = csv.field_size_limit()
    result, report = run_check(tmp_path, checklist, data, "--eval", data, "--traffic", data, "--golden", data)
    assert csv.field_size_limit() == limit
    assert report["data"]["train"]["rows"] == 5 and report["data"]["train"]["skipped"] == []
    fmt = item(report, "fmt")
    reasons = reasons_by_line(fmt)
    assert "control character in instruction" in reasons[4]
    assert "missing output" in reasons[6]
    assert 5 not in fmt["flagged_lines"] and 2 not in fmt["flagged_lines"]  # "[1, 2]" in a CSV cell is text
    # a field past the (here lowered) limit: that row is skipped with file:line, the rows after it are read
    monkeypatch.setattr("playbook_lib.data.load.CSV_FIELD_LIMIT", 1_000)
    csv.field_size_limit(1_000)
    try:
        frame = load_records(data)
        assert csv.field_size_limit() == 1_000
    finally:
        csv.field_size_limit(limit)
    assert frame["line"].tolist() == [2, 4, 5, 6]
    assert frame.attrs["skipped"] == [f"{data}:3: unreadable CSV row (field larger than field limit (1000))"]


def test_hostile_json_array_elements_are_skipped_one_by_one(tmp_path: Path) -> None:
    """In a JSON array, an element nested too deeply or holding a too-long integer is stepped over (the elements
    after it are read), non-objects are skipped, and each is listed as file:element-number."""
    elements = [
        json.dumps(GOOD),
        deep(),
        '{"instruction": "q", "output": ' + huge_int() + "}",
        '"a string"',
        "3",
        "null",
        '{"instruction": "s \\ud800", "output": {"x": [1]}}',
        json.dumps({**GOOD, "label": "last"}),
    ]
    data = tmp_path / "train.json"
    data.write_text("[\n" + ",\n".join(elements) + "\n]\n", encoding="utf-8")
    checklist = tmp_path / "fmt.yaml"
    checklist.write_text(FORMATTING_ONLY, encoding="utf-8")
    result, report = run_check(tmp_path, checklist, data)
    assert result.code == ExitCode.OK  # 6 of 8 rows flagged or skipped: a warning under fail: 0.99
    train = report["data"]["train"]
    assert train["rows"] == 3
    assert [s.split(": ", 1)[0] for s in train["skipped"]] == [f"{data}:{n}" for n in (2, 3, 4, 5, 6)]
    assert "nested too deeply" in train["skipped"][0] and "starts on text line 3" in train["skipped"][0]
    assert "4300 digits" in train["skipped"][1]
    assert train["skipped"][2].endswith("expected a JSON object, got string")
    # reports name the element by its physical line (element 7 starts on line 8, after the "[" line) and its row
    reasons = reasons_by_line(item(report, "fmt"))
    assert "output is dict, expected text" in reasons[8] and "mojibake in instruction" in reasons[8]
    assert item(report, "fmt")["flagged_rows"] == [1]  # the second of the three rows read
    assert 9 not in item(report, "fmt")["flagged_lines"]  # the element after the hostile ones is read and clean


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("top.json", b"42", "expected a JSON array of objects, got number"),
        ("top.json", b'"text"', "expected a JSON array of objects, got string"),
        ("deep.json", b'{"data": ' + deep().encode() + b"}", ":1: invalid JSON (nested too deeply to read)"),
        ("long.json", b'{"rows": [{"n": ' + huge_int().encode() + b"}]}", ":1: unreadable JSON value"),
        (
            "broken.json",
            b'[{"instruction": "a"},\n {"instruction": }\n]',
            "broken.json:2: invalid JSON (Expecting value",
        ),
        ("fake.parquet", b"PAR1 this is not parquet PAR1", "not a readable Parquet file"),
        ("empty.jsonl", b"", "no records found"),
        ("empty.csv", b"", "no records found"),
        ("empty.json", b"  \n", "no records found"),
        ("only_bad.jsonl", deep().encode() + b"\n" + huge_int().encode() + b"\n", "no records found (2 unreadable"),
        ("latin1.jsonl", '{"instruction": "caf\xe9"}\n'.encode("latin-1"), "latin1.jsonl:1: not UTF-8"),
        ("latin1.csv", "instruction\ncaf\xe9\n".encode("latin-1"), "latin1.csv:2: not UTF-8"),
        ("latin1.json", '[{"instruction": "caf\xe9"}]'.encode("latin-1"), "latin1.json:1: not UTF-8"),
    ],
)
def test_unreadable_data_file_is_a_data_error(tmp_path: Path, name: str, content: bytes, fragment: str) -> None:
    """A data file that is not what its name says, empty, or not UTF-8: one line, exit code 4, as --data and as
    --eval."""
    bad = tmp_path / name
    bad.write_bytes(content)
    good = write_lines(tmp_path / "good.jsonl", [json.dumps(GOOD)])
    checklist = tmp_path / "fmt.yaml"
    checklist.write_text(FORMATTING_ONLY, encoding="utf-8")
    before = snapshot(bad, good, checklist)
    assert_one_line_error(run_cli("check", checklist, "--data", bad), ExitCode.DATA, fragment)
    assert_one_line_error(run_cli("check", checklist, "--data", good, "--eval", bad), ExitCode.DATA, fragment)
    assert_unchanged(before, [str(bad), str(good), str(checklist)])


def test_mistyped_parquet_columns_are_flagged(tmp_path: Path) -> None:
    """A real Parquet file whose text column holds numbers and whose category column holds lists: flagged."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {"instruction": [1, 2], "output": ["fine answer", "another answer"], "category": [["a", "b"], ["c"]]}
    )
    data = tmp_path / "train.parquet"
    frame.to_parquet(data)
    checklist = tmp_path / "fmt.yaml"
    checklist.write_text(FORMATTING_ONLY, encoding="utf-8")
    result, report = run_check(tmp_path, checklist, data)
    assert result.code == ExitCode.FAIL
    fmt = item(report, "fmt")
    assert fmt["flagged_rows"] == [0, 1] and fmt["flagged_lines"] == []  # Parquet has rows, not lines
    assert {"instruction is int, expected text", "category is list, expected text"} <= set(fmt["summary"]["problems"])


# ---------------------------------------------------------------- unreadable files: every loader, exit code 4


@pytest.fixture()
def deny(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """Make a file unreadable. Tests run as root, which reads any file whatever its mode, so as root opening that
    path raises PermissionError (as ``open`` would for another user); otherwise its mode becomes 0."""

    def apply(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0)
            return
        target = os.path.abspath(path)

        def guarded(real: Callable[..., Any]) -> Callable[..., Any]:
            def call(file: Any, *args: Any, **kwargs: Any) -> Any:
                if isinstance(file, (str, os.PathLike)) and os.path.abspath(os.fspath(file)) == target:
                    raise PermissionError(13, "Permission denied", os.fspath(file))
                return real(file, *args, **kwargs)

            return call

        monkeypatch.setattr(builtins, "open", guarded(builtins.open))
        monkeypatch.setattr(io, "open", guarded(io.open))
        monkeypatch.setattr(os, "open", guarded(os.open))

    return apply


#: Every loader of a data or data-like file, with a valid content for it (so only the file itself is wrong).
LOADERS: dict[str, tuple[str, bytes, Callable[[Path], Any]]] = {
    "records jsonl": ("d.jsonl", b'{"instruction": "q", "output": "a"}\n', load_records),
    "records json": ("d.json", b'[{"instruction": "q", "output": "a"}]', load_records),
    "records csv": ("d.csv", b"instruction,output\nq,a\n", load_records),
    "records parquet": ("d.parquet", b"", load_records),
    "corpus": ("c.jsonl", b'{"_id": "d1", "text": "a document"}\n', load_corpus),
    "qrels": ("q.tsv", b"query-id\tcorpus-id\tscore\nq1\td1\t1\n", load_qrels),
    "evals": ("e.jsonl", b'{"task_id": "t1", "success": true}\n', load_eval_results),
    "feedback log": ("f.jsonl", b'{"query": "q", "answer": "a"}\n', lambda p: FeedbackLog(p).entries()),
}


@pytest.mark.parametrize("loader", list(LOADERS))
@pytest.mark.parametrize("kind", ["missing", "folder", "fifo", "no permission"])
def test_every_loader_refuses_an_unreadable_file(
    tmp_path: Path, deny: Callable[[Path], None], loader: str, kind: str
) -> None:
    """Missing, a folder, a FIFO (refused from its mode: never opened, so nothing blocks), no permission: a
    one-line DataError (exit code 4) from every loader, never an OSError."""
    name, content, load = LOADERS[loader]
    path = tmp_path / name
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind != "missing":
        path.write_bytes(content)
        deny(path)
    with pytest.raises(DataError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message, message
    expected = {
        "missing": "not found",
        "folder": "folder",
        "fifo": "not a regular file",
        "no permission": "ermission denied",
    }[kind]
    if (loader, kind) == ("corpus", "folder"):  # a folder is read as a BEIR folder: its corpus.jsonl is missing
        expected = "corpus.jsonl: file not found"
    assert expected in message, message


@pytest.mark.parametrize("flag", ["--data", "--eval", "--traffic", "--golden"])
def test_check_input_without_permission_is_exit_4(tmp_path: Path, deny: Callable[[Path], None], flag: str) -> None:
    checklist = tmp_path / "fmt.yaml"
    checklist.write_text(FORMATTING_ONLY, encoding="utf-8")
    good = write_lines(tmp_path / "good.jsonl", [json.dumps(GOOD)])
    locked = write_lines(tmp_path / "locked.jsonl", [json.dumps(GOOD)])
    deny(locked)
    argv = ["--data", good] if flag != "--data" else []
    assert_one_line_error(run_cli("check", checklist, *argv, flag, locked), ExitCode.DATA, str(locked))


# ---------------------------------------------------------------- rag query: the corpus stops at a bad line


#: Hostile second lines of a corpus (the first is a good document), with the fragment of the one-line error.
CORPUS_LINES = {
    "nested 100,000 deep": (deep(), ":2: invalid JSON (nested too deeply"),
    "integer past 4,300 digits": ('{"_id": "x", "text": "t", "n": ' + huge_int() + "}", ":2: unreadable JSON value"),
    "top-level list": ("[1, 2]", ":2: expected a JSON object, got array"),
    "top-level number": ("3", ":2: expected a JSON object, got number"),
    "top-level string": ('"s"', ":2: expected a JSON object, got string"),
    "top-level null": ("null", ":2: expected a JSON object, got null"),
    "text a list": (json.dumps({"_id": "x", "text": ["a"]}), ":2: text must be a string, got array"),
    "text a number": (json.dumps({"_id": "x", "content": 5}), ":2: content must be a string, got number"),
    "id a list": (json.dumps({"_id": ["x"], "text": "a"}), ":2: document id must be a string or an integer, got array"),
    "id an object": (json.dumps({"id": {"x": 1}, "text": "a"}), ":2: document id must be a string or an integer"),
    "id a bool": (
        json.dumps({"_id": True, "text": "a"}),
        ":2: document id must be a string or an integer, got boolean",
    ),
    "title an object": (json.dumps({"_id": "x", "text": "a", "title": {"t": 1}}), ":2: title must be a string"),
}
GOOD_DOC = json.dumps({"_id": "ok", "title": "Passwords", "text": "Reset a password from the settings page."})


@pytest.mark.parametrize("case", list(CORPUS_LINES))
def test_corpus_reader_stops_at_a_hostile_line(tmp_path: Path, case: str) -> None:
    line, fragment = CORPUS_LINES[case]
    corpus = write_lines(tmp_path / "c.jsonl", [GOOD_DOC, line])
    with pytest.raises(DataError, match=r"c\.jsonl" + fragment.replace("(", r"\(")):
        load_corpus(corpus)


@pytest.mark.parametrize(
    "case", ["nested 100,000 deep", "integer past 4,300 digits", "top-level null", "text a list", "id a list"]
)
def test_rag_query_on_a_hostile_corpus_is_one_line_exit_4(tmp_path: Path, case: str) -> None:
    """The CLI fails before loading the model: one line naming file:line, exit code 4, the corpus unchanged."""
    line, fragment = CORPUS_LINES[case]
    corpus = write_lines(tmp_path / "c.jsonl", [GOOD_DOC, line])
    before = snapshot(corpus)
    assert_one_line_error(
        run_cli("rag", "query", "-c", corpus, "reset password", "-q"), ExitCode.DATA, f"{corpus}{fragment}"
    )
    assert_unchanged(before, [str(corpus)])


def test_rag_query_on_empty_documents_is_exit_4(tmp_path: Path) -> None:
    corpus = write_lines(tmp_path / "c.jsonl", ['{"_id": "a", "text": ""}', '{"_id": "b", "text": "  \\n "}'])
    assert_one_line_error(run_cli("rag", "query", "-c", corpus, "anything"), ExitCode.DATA, "all 2 documents are empty")
    beir = tmp_path / "beir"
    beir.mkdir()
    (beir / "corpus.jsonl").write_bytes(corpus.read_bytes())
    assert_one_line_error(run_cli("rag", "query", "-c", beir, "anything"), ExitCode.DATA, "documents are empty")


def test_rag_query_answers_from_a_corpus_with_lone_surrogates(tmp_path: Path) -> None:
    """Lone surrogates in ids, titles and text become U+FFFD: the hits print, as a table and as JSON."""
    corpus = write_lines(
        tmp_path / "c.jsonl",
        [GOOD_DOC, '{"_id": "s\\ud800", "title": "T\\udfff", "text": "Reset a password \\udc00 from settings."}'],
    )
    result = run_cli(
        "rag",
        "query",
        "-c",
        corpus,
        "reset my password",
        "-k",
        "2",
        "--format",
        "json",
        "-q",
        env={"PLAYBOOK_THREADS": "1"},
    )
    assert_no_internal_error(result)
    assert result.code == ExitCode.OK, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert {h["doc_id"] for h in hits} == {"ok", "s\ufffd"}
    assert "\ufffd" in next(h["text"] for h in hits if h["doc_id"] == "s\ufffd")
    table = run_cli("rag", "query", "-c", corpus, "reset my password", "-k", "2", "-q", env={"PLAYBOOK_THREADS": "1"})
    assert_no_internal_error(table)
    assert table.code == ExitCode.OK and "s\ufffd" in table.stdout, table.stderr


# ---------------------------------------------------------------- rag eval: a BEIR folder with bad lines


def beir_folder(
    root: Path, corpus: list[str] | None = None, queries: list[str] | None = None, qrels: bytes | None = None
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "qrels").mkdir(exist_ok=True)
    docs = (
        corpus
        if corpus is not None
        else [json.dumps({"_id": f"d{i}", "text": f"document {i} about topic {i}"}) for i in range(4)]
    )
    write_lines(root / "corpus.jsonl", docs)
    write_lines(
        root / "queries.jsonl",
        queries
        if queries is not None
        else [json.dumps({"_id": "q1", "text": "topic 1"}), json.dumps({"_id": "q2", "text": "topic 2"})],
    )
    (root / "qrels" / "test.tsv").write_bytes(
        qrels if qrels is not None else b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n"
    )
    return root


HEADER = b"query-id\tcorpus-id\tscore\n"
BEIR_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "corpus line nested too deeply": ({"corpus": [GOOD_DOC, deep()]}, "corpus.jsonl:2: invalid JSON"),
    "corpus text a list": (
        {"corpus": [GOOD_DOC, json.dumps({"_id": "x", "text": [1]})]},
        "corpus.jsonl:2: text must be a string",
    ),
    "query line an integer too long": (
        {"queries": [json.dumps({"_id": "q1", "text": "t"}), huge_int()]},
        "queries.jsonl:2: unreadable JSON value",
    ),
    "query text an object": (
        {"queries": [json.dumps({"_id": "q1", "text": {"t": 1}})]},
        "queries.jsonl:1: a query needs '_id' and 'text'",
    ),
    "query id a list": (
        {"queries": [json.dumps({"_id": ["q1"], "text": "t"})]},
        "queries.jsonl:1: query id must be a string or an integer",
    ),
    "query a top-level list": ({"queries": ["[1]"]}, "queries.jsonl:1: expected a JSON object, got array"),
    "qrels two columns": ({"qrels": HEADER + b"q1\td1\n"}, "test.tsv:2: expected 3 tab-separated columns"),
    "qrels score not an integer": ({"qrels": HEADER + b"q1\td1\t[1]\n"}, "test.tsv:2: score '[1]' is not an integer"),
    "qrels score past 4,300 digits": (
        {"qrels": HEADER + b"q1\td1\t" + huge_int().encode() + b"\n"},
        "test.tsv:2: score",
    ),
    "qrels empty id": ({"qrels": HEADER + b"\td1\t1\n"}, "test.tsv:2: empty query or corpus id"),
    "qrels field past the csv limit": (
        {"qrels": HEADER + b"q1\t" + b"d" * 140_000 + b"\t1\n"},
        "test.tsv:2: unreadable qrels line (field larger than field limit",
    ),
    "qrels NUL bytes": ({"qrels": HEADER + b"q1\x00\td1\t1\nq9\td9\x00\n"}, "test.tsv:3: expected 3"),
    "qrels not UTF-8": ({"qrels": HEADER + "q1\td\xe9\t1\n".encode("latin-1")}, "test.tsv:2: not UTF-8"),
    "qrels empty": ({"qrels": b""}, "test.tsv: no judgements"),
    "qrels only a header": ({"qrels": HEADER}, "test.tsv: no judgements"),
    "qrels name no known query": ({"qrels": HEADER + b"q7\td1\t1\nq8\td2\t1\n"}, "none of the 2 judged queries is in"),
    "documents all empty": (
        {"corpus": ['{"_id": "d1", "text": ""}', '{"_id": "d2", "text": " "}']},
        "corpus.jsonl: all 2 documents are empty",
    ),
}


@pytest.mark.parametrize("case", list(BEIR_CASES))
def test_rag_eval_on_a_hostile_beir_folder_is_one_line_exit_4(tmp_path: Path, case: str) -> None:
    """BM25 only (no model): every bad line of corpus, queries and qrels, and a folder with nothing to score."""
    parts, fragment = BEIR_CASES[case]
    folder = beir_folder(tmp_path / "beir", **parts)
    before = snapshot(folder)
    assert_one_line_error(run_cli("rag", "eval", folder, "-m", "bm25", "-q"), ExitCode.DATA, fragment)
    assert_unchanged(before, [p for p in before if Path(p).is_file()])
    with pytest.raises(DataError):
        load_beir(folder)


def test_rag_eval_scores_a_beir_folder_with_lone_surrogates(tmp_path: Path) -> None:
    folder = beir_folder(
        tmp_path / "beir", queries=['{"_id": "q1", "text": "topic 1 \\ud800"}', '{"_id": "q2", "text": "topic 2"}']
    )
    result = run_cli("rag", "eval", folder, "-m", "bm25", "-q")
    assert_no_internal_error(result)
    assert result.code == ExitCode.OK and "bm25" in result.stdout, result.stderr
    assert load_beir(folder).queries["q1"] == "topic 1 \ufffd"


def test_beir_empty_qrels_is_empty_data(tmp_path: Path) -> None:
    with pytest.raises(EmptyDataError, match="no judgements"):
        load_beir(beir_folder(tmp_path / "b", qrels=b""))


@pytest.mark.parametrize("score", [b"0", b"-5"])
def test_rag_eval_qrels_without_a_relevant_judgement_is_data_error(tmp_path: Path, score: bytes) -> None:
    """Qrels that judge queries but never with a score above 0: no query can be scored, so exit 4 naming the qrels
    file (it was an internal error, exit 5)."""
    folder = beir_folder(tmp_path / "b", qrels=HEADER + b"q1\td1\t" + score + b"\nq2\td2\t" + score + b"\n")
    result = run_cli("rag", "eval", folder, "-m", "bm25", "-q")
    assert_one_line_error(result, ExitCode.DATA, "test.tsv: no judgement of a known query has a score above 0")


# ---------------------------------------------------------------- eval results: decide next and the model checklist


def eval_line(**fields: Any) -> str:
    return json.dumps(
        {
            "task_id": "t1",
            "model": "open-weights-8b",
            "attempt": 1,
            "cost": 0.001,
            "success": True,
            "category": "none",
            "confidence": 0.9,
            **fields,
        }
    )


EVAL_LINES: dict[str, tuple[str, str]] = {
    "nested 100,000 deep": (deep(), ":2: invalid JSON (nested too deeply"),
    "integer past 4,300 digits": (
        '{"task_id": "t2", "success": true, "cost": ' + huge_int() + "}",
        ":2: unreadable JSON value",
    ),
    "top-level list": ("[1]", ":2: expected a JSON object per line"),
    "top-level string": ('"t2"', ":2: expected a JSON object per line"),
    "task_id a list": (eval_line(task_id=["t2"]), ":2: task_id must be a string or an integer, got an array"),
    "task_id an object": (eval_line(task_id={"t": 2}), ":2: task_id must be a string or an integer"),
    "task_id a bool": (eval_line(task_id=True), ":2: task_id must be a string or an integer, got True"),
    "success null": (eval_line(success=None), ":2: success must be true or false, got None"),
    "success a list": (eval_line(success=[True]), ":2: success must be true or false, got an array"),
    "success a string": (eval_line(success="yes"), ":2: success must be true or false, got 'yes'"),
    "category a list": (eval_line(success=False, category=["reasoning"]), ":2: unknown category an array"),
    "category a number": (eval_line(success=False, category=3), ":2: unknown category 3"),
    "cost a list": (eval_line(cost=[1]), ":2: cost must be a number >= 0"),
    "cost Infinity": ('{"task_id": "t2", "success": true, "cost": Infinity}', ":2: cost must be a number >= 0"),
    "cost NaN": ('{"task_id": "t2", "success": true, "cost": NaN}', ":2: cost must be a number >= 0"),
    "attempt a list": (eval_line(attempt=[1]), ":2: attempt must be an integer >= 1"),
    "attempt zero": (eval_line(attempt=0), ":2: attempt must be an integer >= 1"),
    "attempt a bool": (eval_line(attempt=True), ":2: attempt must be an integer >= 1"),
    "model a list": (eval_line(model=["a"]), ":2: model must be a string, got an array"),
    "confidence a string": (eval_line(confidence="high"), ":2: confidence must be a number from 0 to 1"),
    "confidence out of range": (eval_line(confidence=7), ":2: confidence must be a number from 0 to 1"),
}


@pytest.mark.parametrize("case", list(EVAL_LINES))
def test_decide_next_on_hostile_evals_is_one_line_exit_4(tmp_path: Path, case: str) -> None:
    line, fragment = EVAL_LINES[case]
    evals = write_lines(tmp_path / "e.jsonl", [eval_line(), line])
    before = snapshot(evals)
    assert_one_line_error(run_cli("decide", "next", "-e", evals), ExitCode.DATA, f"{evals}{fragment}")
    assert_unchanged(before, [str(evals)])
    with pytest.raises(DataError, match=r"e\.jsonl:2: "):
        load_eval_results(evals)


@pytest.mark.parametrize(
    "case", ["nested 100,000 deep", "task_id a list", "success null", "category a list", "confidence a string"]
)
def test_model_checklist_on_hostile_evals_is_one_line_exit_4(tmp_path: Path, case: str) -> None:
    line, fragment = EVAL_LINES[case]
    evals = write_lines(tmp_path / "e.jsonl", [eval_line(), line])
    before = snapshot(evals)
    assert_one_line_error(
        run_cli("check", MODEL_CHECKLIST, "--plan", MODEL_PLAN, "--evals", evals), ExitCode.DATA, f"{evals}{fragment}"
    )
    assert_unchanged(before, [str(evals)])


def _model_evals(path: Path, rows: Iterator[dict[str, Any]]) -> Path:
    return write_lines(path, [json.dumps(r, ensure_ascii=True) for r in rows])


def test_model_checklist_reads_surrogates_and_missing_confidences(tmp_path: Path) -> None:
    """Task ids with lone surrogates are read (U+FFFD) and reported; first attempts without a confidence make
    routing not measurable (an outcome, not a crash); every report encodes."""
    sample = [
        json.loads(x)
        for x in (ROOT / "playbook_lib" / "sample_data" / "model_evals.jsonl").read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    for i, row in enumerate(sample):
        row["task_id"] = row["task_id"] + "\ud800"  # json.dumps writes the escape "\ud800"
        if i % 5 == 0:
            row["confidence"] = None
    evals = _model_evals(tmp_path / "e.jsonl", iter(sample))
    assert "\\ud800" in evals.read_text(encoding="utf-8")
    out = tmp_path / "out"
    before = snapshot(evals)
    result = run_cli(
        "check",
        MODEL_CHECKLIST,
        "--plan",
        MODEL_PLAN,
        "--evals",
        evals,
        "--json",
        out / "r.json",
        "--html",
        out / "r.html",
        "--junit",
        out / "r.xml",
    )
    assert_no_internal_error(result)
    assert result.code in (ExitCode.OK, ExitCode.FAIL), result.stderr
    report = assert_reports_valid(out / "r.json", out / "r.html", out / "r.xml")
    routing = item(report, "model.routing")
    assert routing["outcome"] == "not_evaluated" and "have no confidence" in routing["message"]
    assert_unchanged(before, [str(evals)])
    frame = load_eval_results(evals)
    assert all(t.endswith("\ufffd") for t in frame["task_id"])


def test_decide_next_logs_a_decision_from_evals_with_surrogates(tmp_path: Path) -> None:
    evals = write_lines(
        tmp_path / "e.jsonl",
        [
            eval_line(task_id=f"t{i}\ud800", success=i > 2, category="none" if i > 2 else "knowledge_missing")
            for i in range(10)
        ],
    )
    log = tmp_path / "decisions.jsonl"
    result = run_cli("decide", "next", "-e", evals, "--json", "--log", log)
    assert_no_internal_error(result)
    assert result.code == ExitCode.OK, result.stderr
    json.loads(result.stdout)
    for line in log.read_bytes().decode("utf-8").splitlines():
        json.loads(line)


# ---------------------------------------------------------------- the feedback log of rag feedback promote


def feedback_line(**fields: Any) -> str:
    return json.dumps(
        {
            "query": "How do I reset my password?",
            "answer": "From settings [kb-1].",
            "cited_ids": ["kb-1"],
            "retrieved_ids": ["kb-1", "kb-2"],
            "rating": 5,
            **fields,
        }
    )


FEEDBACK_LINES: dict[str, tuple[str, str]] = {
    "nested 100,000 deep": (deep(), ":2: invalid JSON (nested too deeply"),
    "integer past 4,300 digits": (
        '{"query": "q", "answer": "a", "rating": ' + huge_int() + "}",
        ":2: unreadable JSON value",
    ),
    "top-level list": ("[1]", ":2: a feedback line needs 'query' and 'answer'"),
    "top-level null": ("null", ":2: a feedback line needs 'query' and 'answer'"),
    "query a list": (feedback_line(query=["q"]), ":2: a feedback line needs 'query' and 'answer'"),
    "answer an object": (feedback_line(answer={"a": 1}), ":2: answer must be a string or null, got object"),
    "rating a string": (feedback_line(rating="5"), ":2: rating must be an integer from 1 to 5"),
    "rating a list": (feedback_line(rating=[5]), ":2: rating must be an integer from 1 to 5"),
    "rating a bool": (feedback_line(rating=True), ":2: rating must be an integer from 1 to 5"),
    "cited ids a string": (feedback_line(cited_ids="kb-1"), ":2: cited_ids must be a list of ids"),
    "relevant ids of objects": (feedback_line(relevant_ids=[{"id": 1}]), ":2: relevant_ids must be a list of ids"),
    "correction a number": (feedback_line(correction=3), ":2: correction must be a string or null, got number"),
    "timestamp a list": (feedback_line(timestamp=["2026"]), ":2: timestamp must be a string, got array"),
    "extra a list": (feedback_line(extra=[1]), ":2: extra must be a mapping with string keys"),
    "extra nested too deeply for hashing": ('{"query": "q", "answer": "a", "extra": {"x": ' + deep(900) + "}}", ":2: "),
}


@pytest.mark.parametrize("case", list(FEEDBACK_LINES))
def test_feedback_promote_on_a_hostile_log_is_one_line_exit_4(tmp_path: Path, case: str) -> None:
    line, fragment = FEEDBACK_LINES[case]
    log = write_lines(tmp_path / "feedback.jsonl", [feedback_line(), line])
    out = tmp_path / "golden.jsonl"
    before = snapshot(log)
    result = run_cli("rag", "feedback", "promote", log, "--out", out)
    if case == "extra nested too deeply for hashing" and result.code == ExitCode.OK:
        pytest.skip("this interpreter hashes 900 levels: nothing hostile left to refuse")
    assert_one_line_error(result, ExitCode.DATA, f"{log}{fragment}")
    assert_unchanged(before, [str(log)])
    assert not out.exists() and not leftover_temp_files(tmp_path)


def test_feedback_promote_on_an_empty_log_is_exit_4(tmp_path: Path) -> None:
    log = tmp_path / "feedback.jsonl"
    log.write_bytes(b"\n \n")
    out = tmp_path / "golden.jsonl"
    out.write_text("previous golden set\n", encoding="utf-8")
    assert_one_line_error(run_cli("rag", "feedback", "promote", log, "--out", out), ExitCode.DATA, "no entry")
    assert out.read_text(encoding="utf-8") == "previous golden set\n"  # not replaced by an empty set


def test_feedback_promote_writes_utf8_from_a_log_with_surrogates(tmp_path: Path) -> None:
    log = write_lines(
        tmp_path / "feedback.jsonl",
        [
            feedback_line(query="Reset \ud800 password?", answer="From settings \udfff [kb-1]."),
            feedback_line(query="Who \udc00 founded it?", correction="Ingrid \ud800", rating=2),
        ],
    )
    out = tmp_path / "golden.jsonl"
    result = run_cli("rag", "feedback", "promote", log, "--out", out)
    assert_no_internal_error(result)
    assert result.code == ExitCode.OK, result.stderr
    items = [json.loads(x) for x in out.read_bytes().decode("utf-8").splitlines()]
    assert sorted(i["text"] for i in items) == ["Reset \ufffd password?", "Who \ufffd founded it?"]
    assert {i.get("answer") for i in items} == {"From settings \ufffd [kb-1].", "Ingrid \ufffd"}
