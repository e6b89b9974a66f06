"""Feedback log: append-only writes, real answers logged, promotion rules, golden set consumed by evaluation, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playbook_lib import sample_data
from playbook_lib.errors import DataError, ExitCode, UsageError
from playbook_lib.ops.feedback import FeedbackEntry, FeedbackLog, entries_frame, promote, write_golden
from playbook_lib.rag.corpus import load_labelled_queries, load_reference_answers
from playbook_lib.rag.evaluate import evaluate_retriever
from playbook_lib.rag.pipeline import answer_question
from playbook_lib.rag.retrieve import DenseRetriever
from tests.cli import CliResult, run_cli


def test_log_is_append_only(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "logs" / "feedback.jsonl")
    first = log.append(
        FeedbackEntry("q1", "a1", ["d1"], ["d1", "d2"], rating=5, index_version="i1", corpus_version="c1")
    )
    assert first.timestamp.endswith("+00:00")
    before = log.path.read_bytes()
    log.append(FeedbackEntry("q2", "a2", rating=1, timestamp="2026-01-01T00:00:00+00:00"))
    after = log.path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 2
    entries = log.entries()
    assert [e.query for e in entries] == ["q1", "q2"] and entries[0] == first
    assert entries[0].index_version == "i1" and entries[0].retrieved_ids == ["d1", "d2"]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"query": "q", "answer": "a"}\n{"query": "q"', "fb.jsonl:2: invalid JSON"),
        ('{"answer": "a"}', "fb.jsonl:1: a feedback line needs"),
        ('{"query": "q", "answer": "a", "mood": "happy"}', "unknown feedback field 'mood'"),
        ('{"query": "q", "answer": "a", "rating": 7}', "fb.jsonl:1: rating must be an integer from 1 to 5"),
    ],
)
def test_bad_log_lines(tmp_path: Path, line: str, fragment: str) -> None:
    (tmp_path / "fb.jsonl").write_text(line)
    with pytest.raises(DataError, match=fragment):
        FeedbackLog(tmp_path / "fb.jsonl").entries()
    with pytest.raises(DataError, match="not found"):
        FeedbackLog(tmp_path / "none.jsonl").entries()
    with pytest.raises(UsageError):
        FeedbackEntry(" ", "a")


def test_promotion_rules() -> None:
    t = lambda minute: f"2026-03-01T10:{minute:02d}:00+00:00"  # noqa: E731
    entries = [
        FeedbackEntry(
            "How often is the probe calibrated?",
            "Every 14 days [kb-004]",
            ["kb-004"],
            ["kb-004", "kb-9"],
            rating=5,
            timestamp=t(1),
        ),
        FeedbackEntry(
            "how often is the  PROBE calibrated?",
            "Monthly [kb-9]",
            ["kb-9"],
            ["kb-9"],
            rating=2,
            correction="Every 14 days",
            relevant_ids=["kb-004", "kb-004"],
            timestamp=t(0),
        ),
        FeedbackEntry("Who founded it?", "Ingrid [kb-036]", ["kb-036"], ["kb-036"], rating=4, timestamp=t(2)),
        FeedbackEntry("What is E22?", "A dry membrane [kb-7]", ["kb-7"], ["kb-7"], rating=1, timestamp=t(3)),
        FeedbackEntry("What is E17?", "Unknown", [], ["kb-1"], correction="A blocked sensor", timestamp=t(4)),
        FeedbackEntry("Unreviewed?", "whatever", ["kb-1"], ["kb-1"], timestamp=t(5)),
    ]
    items = {i.text: i for i in promote(entries)}
    assert set(items) == {"how often is the  PROBE calibrated?", "Who founded it?", "What is E17?"}
    probe = items["how often is the  PROBE calibrated?"]  # the correction beats the later good rating
    assert probe.answer == "Every 14 days" and probe.relevant == ["kb-004"] and len(probe.feedback_ids) == 2
    assert items["Who founded it?"].relevant == ["kb-036"] and items["Who founded it?"].answer == "Ingrid [kb-036]"
    assert items["What is E17?"].relevant == [] and items["What is E17?"].answer == "A blocked sensor"
    assert {i.text for i in promote(entries, min_rating=5)} == {"how often is the  PROBE calibrated?", "What is E17?"}
    assert promote(entries) == promote(list(reversed(entries)))  # order of the log does not matter


def test_real_answers_promoted_and_evaluated(tmp_path: Path, sample_docs, embedder) -> None:
    queries, qrels = load_labelled_queries(sample_data.path("heronsgate_queries.jsonl"))
    retriever = DenseRetriever.from_documents(sample_docs, embedder)
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    right = 0
    for qid, question in queries.items():
        answer = answer_question(question, retriever, None, embedder, k=3)  # extractive: cites [doc ids]
        entry = log.record(answer, rating=5, index_version="flat-v1", corpus_version="kb-v1")
        assert entry.cited_ids and set(entry.cited_ids) <= set(entry.retrieved_ids)
        if not set(entry.cited_ids) <= set(qrels[qid]):  # the reviewer corrects the evidence
            log.append(
                FeedbackEntry(
                    question,
                    answer.generation.text,
                    entry.cited_ids,
                    entry.retrieved_ids,
                    rating=2,
                    relevant_ids=sorted(qrels[qid]),
                    corpus_version="kb-v1",
                )
            )
        else:
            right += 1
    items = promote(log.entries())
    golden = write_golden(items, tmp_path / "golden.jsonl")
    gold_queries, gold_qrels = load_labelled_queries(golden)
    assert len(gold_queries) == len(queries) == 12 and not list(tmp_path.glob(".golden*"))
    for gid, text in gold_queries.items():
        qid = next(q for q, t in queries.items() if t == text)
        assert gold_qrels[gid] and set(gold_qrels[gid]) <= set(qrels[qid])
    # only answers that cited nothing but relevant documents keep their text as the reference answer
    assert len(load_reference_answers(golden)) == right and 0 < right < 12
    report = evaluate_retriever(retriever, gold_queries, gold_qrels, "dense")
    assert report.n_queries == 12 and 0 < report.metrics["nDCG@10"] <= 1


def run(*args: str) -> CliResult:
    return run_cli("rag", "feedback", *args, env={"COLUMNS": "200"})


def test_cli_promote(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "fb.jsonl")
    log.append(FeedbackEntry("q one", "a [d1]", ["d1"], ["d1", "d2"], rating=5))
    log.append(FeedbackEntry("Q one", "a [d1]", ["d1"], ["d1", "d2"], rating=4))
    log.append(FeedbackEntry("q two", "b", [], ["d3"], rating=1))
    raw = log.path.read_bytes()
    ok = run("promote", str(log.path), "--out", str(tmp_path / "gold" / "golden.jsonl"))
    assert ok.code == 0, ok.stderr
    assert "3 entries, 3 reviewed -> 1 golden questions (1 with relevant ids)" in ok.stdout
    rows = [json.loads(line) for line in (tmp_path / "gold" / "golden.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["relevant"] == ["d1"] and len(rows[0]["feedback_ids"]) == 2
    assert log.path.read_bytes() == raw  # the log is only read
    same = run("promote", str(log.path), "--out", str(log.path))
    assert same.code == ExitCode.USAGE and "must differ" in same.stderr and log.path.read_bytes() == raw
    missing = run("promote", str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "g.jsonl"))
    assert missing.code == ExitCode.DATA and "Traceback" not in missing.stderr


def test_request_log_without_rating_keeps_measurements(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "requests.jsonl")
    plain = FeedbackEntry("q1", "a1", ["d1"], ["d1"], rating=5, timestamp="2026-01-01T00:00:00+00:00")
    old_line = {k: v for k, v in json.loads(json.dumps(plain.__dict__)).items() if k != "extra"}
    served = [
        log.append(
            FeedbackEntry(
                f"question {i}",
                "",
                retrieved_ids=[f"d{i}", "d9"],
                corpus_version="c1",
                extra={"qid": f"q{i}", "total_ms": 1.5 * i, "prompt_tokens": 40 + i},
            )
        )
        for i in range(3)
    ]
    with log.path.open("a") as handle:  # a line written before `extra` existed
        handle.write(json.dumps(old_line) + "\n")
    entries = log.entries()
    assert entries[:3] == served and not any(e.reviewed for e in served) and entries[3].extra == {}
    assert entries[3].entry_id == plain.entry_id  # an empty extra does not change the id
    assert len({e.entry_id for e in served}) == 3 and promote(entries) == promote(entries[3:])
    frame = entries_frame(entries)
    assert list(frame["qid"][:3]) == ["q0", "q1", "q2"] and frame["total_ms"][:3].tolist() == [0.0, 1.5, 3.0]
    assert frame["rating"].isna().tolist() == [True, True, True, False] and frame["entry_id"].is_unique
    clash = entries_frame([FeedbackEntry("q", "a", extra={"rating": "thumbs up"})])
    assert clash.loc[0, "extra.rating"] == "thumbs up" and clash["rating"].isna().all()
    for bad in ({1: "x"}, {"t": float("nan")}, {"t": object()}, ["x"]):
        with pytest.raises(UsageError, match="extra must"):
            FeedbackEntry("q", "a", extra=bad)  # type: ignore[arg-type]
    (tmp_path / "bad.jsonl").write_text('{"query": "q", "answer": "a", "extra": [1]}\n')
    with pytest.raises(DataError, match="bad.jsonl:1: extra must"):
        FeedbackLog(tmp_path / "bad.jsonl").entries()
