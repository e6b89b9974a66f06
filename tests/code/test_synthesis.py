"""The synthesis tool: prompts, cleaning, provenance tags, rejections and the ledger (playbook_lib.ops.synthesis)."""

from __future__ import annotations

import pytest

from playbook_lib.errors import DataError, UsageError
from playbook_lib.ops.synthesis import (
    TemplateGenerator,
    build_prompt,
    clean_output,
    gap_slices,
    parent_overlap,
    read_ledger,
    synthesize,
    write_ledger,
)
from playbook_lib.rag.generation import Generation

PARENTS = [
    ("p1", "What are the latest headlines about electric cars today"),
    ("p2", "Show me recent news stories about the stock market crash"),
    ("p3", "Any news on the Mars rover mission this week please"),
    ("p4", "Give me breaking news about the football world cup final"),
]


def test_prompt_numbers_examples_and_asks_for_the_next():
    prompt = build_prompt("news", ["a  b\nc", "d"])
    assert "1. a b c\n2. d" in prompt and "request 3" in prompt and "'news'" in prompt
    with pytest.raises(UsageError):
        build_prompt("news", [])


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("Sure! Here is one: What is new in Paris?", "What is new in Paris?"),
        ('\n4. "Find news about rain"\nmore', "Find news about rain"),
        ("- Request 4: list files", "list files"),
        ("", ""),
    ],
)
def test_clean_output(raw, clean):
    assert clean_output(raw) == clean


def test_rows_carry_provenance_and_are_deterministic():
    a = synthesize(TemplateGenerator(), "news", PARENTS, 5, seed=3, created="2026-01-01T00:00:00+00:00")
    b = synthesize(TemplateGenerator(), "news", PARENTS, 5, seed=3, created="2026-01-01T00:00:00+00:00")
    assert [r.as_dict() for r in a.rows] == [r.as_dict() for r in b.rows]
    assert a.rows and len(a.rows) <= 5
    ids = {p for p, _ in PARENTS}
    for row in a.rows:
        assert row.provenance == "synthetic" and row.generator == "template" and row.label == "news"
        assert len(row.parent_ids) == 3 and set(row.parent_ids) <= ids
        assert row.prompt is not None and all(t in row.prompt for p, t in PARENTS if p in row.parent_ids)
    assert len({r.seed for r in a.rows}) == len(a.rows)
    other = synthesize(TemplateGenerator(), "news", PARENTS, 5, seed=4)
    assert [r.text for r in other.rows] != [r.text for r in a.rows]


class _Echo:
    """Returns the first example verbatim, then junk: every generation must be rejected."""

    name = "echo"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, prompt, max_tokens=128, temperature=0.0, seed=0):
        self.calls += 1
        text = prompt.split("\n")[1][3:] if self.calls % 2 else "ok"
        return Generation(text, self.name, 0, 0, 0.0)


def test_copies_and_short_rows_are_rejected_and_counted():
    gen = _Echo()
    result = synthesize(gen, "news", PARENTS, 4, max_attempts=6)
    assert result.rows == [] and gen.calls == 6
    assert result.rejected == {"copies a parent": 3, "too short": 3}


def test_ledger_round_trip_and_never_replaces_an_input(tmp_path):
    rows = synthesize(TemplateGenerator(), "news", PARENTS, 3, keep_prompt=False).rows
    assert all(r.prompt is None and len(r.prompt_sha256) == 64 for r in rows)
    path = tmp_path / "ledger.jsonl"
    write_ledger(path, rows)
    assert read_ledger(path) == rows
    data = tmp_path / "data.jsonl"
    data.write_text("{}\n")
    with pytest.raises(UsageError):
        write_ledger(data, rows, inputs={"--data": data})
    assert data.read_text() == "{}\n"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n')
    with pytest.raises(DataError, match="bad.jsonl:1"):
        read_ledger(bad)


def test_parent_overlap():
    assert parent_overlap(PARENTS[0][1], [PARENTS[0][1]]) == 1.0
    assert parent_overlap("completely different words in this new row here", [PARENTS[0][1]]) == 0.0
    assert parent_overlap("too short", [PARENTS[0][1]]) == 0.0
    half = "What are the latest headlines about volcanoes in Iceland and Chile now"
    assert 0 < parent_overlap(half, [PARENTS[0][1]]) < 1


def test_gap_slices_reads_a_coverage_result():
    class R:
        summary = {"under_covered": ["news"], "missing_slices": ["shell"]}

    assert gap_slices(R()) == ["news", "shell"]  # type: ignore[arg-type]

    class Other:
        summary = {"rows": 3}

    with pytest.raises(UsageError):
        gap_slices(Other())  # type: ignore[arg-type]
