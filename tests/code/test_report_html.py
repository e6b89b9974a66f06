"""The HTML report (``playbook check --html``), from real runs in-process: one section per item with tables of the
summary, the examples (one column per key) and the flagged rows (sortable), inline SVG charts, nothing loaded from
elsewhere, every planted personal value masked, hostile strings shown as text, the same page twice."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from playbook_lib import sample_data
from playbook_lib.checklist import html_report
from playbook_lib.errors import ExitCode
from tests.cli import SECRETS, assert_no_secret, run_cli

ROOT = Path(__file__).resolve().parents[2]
READINESS = ROOT / "checklists" / "dataset_readiness.yaml"

CHECKLIST = """\
name: html_report_test
description: A small checklist for the HTML report tests.
items:
  - id: fmt
    title: formatting
    check: formatting
    required: [instruction, output]
    warn: 0.0
    fail: 0.5
  - id: dups
    title: exact duplicates
    check: exact_duplicates
    warn: 0.0
    fail: 0.5
  - id: pii
    title: personal data
    check: pii
    warn: 0.0
    fail: 0.5
  - id: mix
    title: category mix versus traffic
    check: coverage
    by: category
    warn: 0.1
    fail: 0.9
"""

HOSTILE = (
    "</script><script>alert(1)</script>",
    'x" onmouseover="alert(2)',
    "'><img src=x onerror=alert(3)>",
)
IBAN = "GB82 WEST 1234 5698 7654 32"


def _rows() -> list[dict[str, Any]]:
    rows = [
        {
            "instruction": f"How do I reset device {i}?",
            "output": f"Hold button {i} for ten seconds.",
            "category": "help",
        }
        for i in range(12)
    ]
    rows += [dict(rows[0]), dict(rows[1])]  # two exact duplicates
    rows.append({"instruction": "", "output": "", "category": "help"})  # a formatting problem
    rows.append({"instruction": f"Mail {SECRETS[4]} about it", "output": "Done.", "category": "help"})
    rows.append({"instruction": f"Refund to IBAN {IBAN} today", "output": "Done.", "category": "billing"})
    rows.append({"instruction": f"Use key {SECRETS[0]} and {SECRETS[2]}", "output": "Ok.", "category": "billing"})
    rows += [{"instruction": h, "output": h, "category": h} for h in HOSTILE]
    return rows


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    data, traffic, checklist = tmp_path / "train.jsonl", tmp_path / "traffic.jsonl", tmp_path / "c.yaml"
    data.write_text("".join(json.dumps(r) + "\n" for r in _rows()), encoding="utf-8")
    queries = [
        {"instruction": f"q{i}", "category": c} for i, c in enumerate(["help"] * 6 + ["sales"] * 4 + [HOSTILE[0]])
    ]
    traffic.write_text("".join(json.dumps(r) + "\n" for r in queries), encoding="utf-8")
    checklist.write_text(CHECKLIST, encoding="utf-8")
    return {"data": data, "traffic": traffic, "checklist": checklist}


def check(files: dict[str, Path], out: Path, *extra: str | Path) -> tuple[str, dict[str, Any]]:
    """Run the small checklist with --traffic; return the HTML page and the JSON report of the same run."""
    page, report = out.with_suffix(".html"), out.with_suffix(".json")
    result = run_cli(
        "check", files["checklist"], "--data", files["data"], "--traffic", files["traffic"], "--html", page,
        "--json", report, "--quiet", *extra, env={"PLAYBOOK_THREADS": "1"},
    )  # fmt: skip
    assert result.code == ExitCode.FAIL, result.stderr
    assert_no_secret(result, [page, report])
    return page.read_text(encoding="utf-8"), json.loads(report.read_text(encoding="utf-8"))


class Page(HTMLParser):
    """The page as a tree of the parts the tests look at: sections, tables, scripts, every attribute and text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.sections: dict[str, str] = {}  # id -> the HTML source of the section
        self._in: str | None = None
        self.feed(text)
        for match in re.finditer(r"<section class='item [a-z_]+' id='([^']+)'>(.*?)</section>", text, re.S):
            self.sections[match.group(1)] = match.group(2)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


def headers(section: str, after: str) -> list[list[str]]:
    """The header cells of each table that follows the heading ``after`` in a section's HTML."""
    part = section.split(after, 1)[1]
    tables = re.findall(r"<table[^>]*><thead><tr>(.*?)</tr></thead>", part, re.S)
    return [[re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", t, re.S)] for t in tables]


def section_for(page: Page, item_id: str) -> str:
    return next(body for anchor, body in page.sections.items() if anchor.endswith("-" + item_id))


def test_every_item_has_a_section_with_tables_and_the_contents_link_to_them(
    files: dict[str, Path], tmp_path: Path
) -> None:
    text, report = check(files, tmp_path / "r")
    page = Page(text)
    ids = [item["id"] for item in report["items"]]
    assert len(page.sections) == len(ids) == 4
    links = [a["href"] for tag, a in page.tags if tag == "a"]
    assert links == ["#" + anchor for anchor in page.sections]  # the table of contents, in item order
    for item in report["items"]:
        body = section_for(page, item["id"])
        assert f"<code>{item['id']}</code>" in body and f"badge {item['outcome']}" in body
        assert "<h3>Thresholds and parameters</h3>" in body and "<h3>Summary</h3>" in body
        assert "{&quot;" not in body and '{"' not in body  # no raw JSON dict anywhere
    pii = next(i for i in report["items"] if i["id"] == "pii")
    keys = {k for e in pii["examples"] for k in e}
    assert keys >= {"row", "line", "reason", "text"}
    example_headers = headers(section_for(page, "pii"), "<h3>Examples")[0]
    assert set(example_headers) == keys and example_headers[:3] == ["row", "line", "reason"]  # the reference first
    # the flagged rows: one row per flagged line, sortable, each with the reason its example gives
    flagged = section_for(page, "pii").split("<h3>Flagged rows", 1)[1]
    assert "class='sortable'" in flagged and "<button type='button'>row</button>" in flagged
    cells = re.findall(r"<tr><td class='num' data-v='(\d+)'>\d+</td><td class='num' data-v='(\d+)'>", flagged)
    assert [int(row) for row, _ in cells] == pii["flagged_rows"] and len(cells) == 3
    assert [int(line) for _, line in cells] == pii["flagged_lines"]
    # every flagged row says why (the check's details of the row), not only those an example names
    assert headers(section_for(page, "pii"), "<h3>Flagged rows")[0][-2:] == ["reason", "detail"]
    assert "&mdash;" not in flagged and flagged.count("matches") == 3
    for e in pii["examples"]:
        assert re.search(
            rf"<tr><td class='num' data-v='{e['row']}'>{e['row']}</td><td class='num' data-v='{e['line']}'>"
            rf"{e['line']}</td>(<td[^>]*>[^<]*</td>)?<td>{re.escape(e['reason'])}<",
            flagged,
        )


def test_summaries_are_tables_and_charts_are_inline_svg(files: dict[str, Path], tmp_path: Path) -> None:
    text, report = check(files, tmp_path / "r")
    page = Page(text)
    mix = section_for(page, "mix")
    coverage = next(i for i in report["items"] if i["id"] == "mix")
    assert coverage["summary"]["missing_slices"] == ["sales"]
    # summary['slices'] (slice -> {train, traffic}) is a nested table, not a dict printed as text
    assert headers(mix, "<h3>Summary</h3>")[0] == ["", "traffic", "train"]
    svg = re.search(r"<svg [^>]*aria-label='coverage per slice'>(.*?)</svg>", mix, re.S)
    assert svg is not None
    assert "<text" in svg.group(1) and "sales (missing)" in svg.group(1) and svg.group(1).count("<rect") >= 4
    # counts by kind as bars where a check counts them (pii: rows of each kind, 3 kinds planted here)
    pii = section_for(page, "pii")
    summary = next(i for i in report["items"] if i["id"] == "pii")["summary"]
    counted = {k: v for k, v in summary.items() if isinstance(v, dict) and len(v) >= 2}
    assert counted and all(isinstance(n, int) for v in counted.values() for n in v.values())
    for key, kinds in counted.items():
        bars = re.search(rf"<svg [^>]*aria-label='{key.replace('_', ' ')}'>(.*?)</svg>", pii, re.S)
        assert bars is not None and all(f">{k}</text>" in bars.group(1) for k in kinds), key
    assert "<svg" not in section_for(page, "dups")  # nothing to draw: no counts by kind, scores only 0 or 1


def test_the_sample_data_report_draws_coverage_groups_and_a_score_histogram(tmp_path: Path) -> None:
    page_path = tmp_path / "r.html"
    result = run_cli(
        "check", READINESS, "--data", sample_data.path("sft_sample.jsonl"),
        "--eval", sample_data.path("sft_eval.jsonl"), "--traffic", sample_data.path("sft_traffic.jsonl"),
        "--html", page_path, "--quiet", env={"PLAYBOOK_THREADS": "1"},
    )  # fmt: skip
    assert result.code == ExitCode.FAIL, result.stderr
    page = Page(page_path.read_text(encoding="utf-8"))
    assert "aria-label='coverage per slice'" in section_for(page, "coverage")
    assert "billing (missing)" in section_for(page, "coverage")
    assert "aria-label='uncovered traffic per group'" in section_for(page, "coverage.embedding")
    relevance = section_for(page, "quality.relevance.embedding")
    assert (
        "aria-label='distribution of row scores'" in relevance
        and "aria-label='distribution of similarity'" in relevance
    )
    assert re.search(r"class='bad'>cutoff 0\.\d+</text>", relevance)  # the cut-off, drawn on the similarities' axis


def test_the_page_loads_nothing_from_elsewhere_and_its_one_script_is_allowed(
    files: dict[str, Path], tmp_path: Path
) -> None:
    text, _ = check(files, tmp_path / "r")
    page = Page(text)
    assert "http://" not in text and "https://" not in text
    for tag, attrs in page.tags:
        assert "src" not in attrs and tag not in ("img", "link", "iframe", "object", "embed"), (tag, attrs)
        assert attrs.get("href", "#").startswith("#"), attrs
    assert len(page.scripts) == 1 and len(page.styles) == 1
    csp = next(
        a["content"] for tag, a in page.tags if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert "default-src 'none'" in csp

    def digest(source: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode() + "'"

    assert f"script-src {digest(page.scripts[0])}" in csp and f"style-src {digest(page.styles[0])}" in csp


def test_planted_personal_values_are_masked_and_hostile_strings_stay_text(
    files: dict[str, Path], tmp_path: Path
) -> None:
    text, _ = check(files, tmp_path / "r")
    for value in (*SECRETS[:1], SECRETS[2], SECRETS[4], IBAN, IBAN.replace(" ", "")):
        assert value not in text and value.lower() not in text.lower()
    assert "[EMAIL]" in text and "[IBAN]" in text
    page = Page(text)
    assert sum(tag == "script" for tag, _ in page.tags) == 1  # ours; no planted one
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]  # no event handler attribute
    assert not [t for t, _ in page.tags if t == "img"]
    shown = "".join(page.text)
    for hostile in HOSTILE:
        assert hostile in shown  # read back as text: it is on the page, escaped, not markup


def test_the_same_run_gives_the_same_page(files: dict[str, Path], tmp_path: Path) -> None:
    first, _ = check(files, tmp_path / "a")
    second, _ = check(files, tmp_path / "b")
    assert first.encode("utf-8") == second.encode("utf-8")


def test_a_long_flagged_table_is_capped_with_a_note(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(html_report, "MAX_TABLE_ROWS", 2)
    text, report = check(files, tmp_path / "r")
    pii = next(i for i in report["items"] if i["id"] == "pii")
    flagged = section_for(Page(text), "pii").split("<h3>Flagged rows", 1)[1]
    assert len(re.findall(r"<tr><td class='num'", flagged)) == 2 < len(pii["flagged_rows"])
    assert f"Showing the first 2 of {len(pii['flagged_rows'])} flagged rows" in flagged


def test_parquet_rows_are_named_by_row_alone(files: dict[str, Path], tmp_path: Path) -> None:
    """Parquet has no lines: the flagged rows table names each row by its 0-based index."""
    parquet = tmp_path / "train.parquet"
    pd.read_json(files["data"], lines=True).to_parquet(parquet)
    text, report = check({**files, "data": parquet}, tmp_path / "p")
    pii = next(i for i in report["items"] if i["id"] == "pii")
    assert pii["flagged_rows"] and not pii["flagged_lines"]
    flagged_headers = headers(section_for(Page(text), "pii"), "<h3>Flagged rows")[0]
    assert flagged_headers[0] == "row" and "line" not in flagged_headers and "reason" in flagged_headers
