"""impact_claims on constructed frames: held, did not hold and inconclusive for each verdict."""

from __future__ import annotations

import pandas as pd
import pytest

from playbook_lib import sample_data
from playbook_lib.errors import DataError
from playbook_lib.experiments import impact_claims as ic
from playbook_lib.experiments.verdict import Verdict
from playbook_lib.ops.refresh import RefreshReport
from playbook_lib.rag.corpus import Document, load_corpus, load_labelled_queries, load_reference_answers


def frame(scores: dict[str, list[tuple[bool, float]]]) -> pd.DataFrame:
    """One row per question and mode from ``{mode: [(correct, grounded) per question]}``."""
    rows = [
        {"qid": f"q{i}", "mode": mode, "correct": c, "grounded": g, "answer": "", "states_fact": c}
        for mode, values in scores.items()
        for i, (c, g) in enumerate(values)
    ]
    return pd.DataFrame(rows)


N = 20


def test_retrieval_claims_held_when_retrieval_helps_on_most_questions() -> None:
    f = frame({ic.WITHOUT: [(False, 0.1)] * N, ic.with_k(1): [(i % 5 != 0, 0.8 + 0.01 * i) for i in range(N)]})
    a1, a2 = ic.judge_retrieval(f)
    assert a1.verdict is Verdict.HELD and a1.interval.estimate == pytest.approx(0.8)
    assert a2.verdict is Verdict.HELD and "A2" in a2.markdown() and "held" in a2.markdown()


def test_retrieval_claims_did_not_hold_when_retrieval_hurts() -> None:
    f = frame({ic.WITHOUT: [(True, 0.9)] * N, ic.with_k(1): [(i % 5 == 0, 0.2 + 0.01 * i) for i in range(N)]})
    assert [v.verdict for v in ic.judge_retrieval(f)] == [Verdict.DID_NOT_HOLD] * 2


def test_retrieval_claims_inconclusive_on_a_tie_or_noise() -> None:
    tie = frame({ic.WITHOUT: [(False, 0.5)] * N, ic.with_k(1): [(False, 0.5)] * N})
    assert [v.verdict for v in ic.judge_retrieval(tie)] == [Verdict.INCONCLUSIVE] * 2  # a tie is never held
    noisy = frame(
        {ic.WITHOUT: [(i % 2 == 0, 0.5) for i in range(N)], ic.with_k(1): [(i % 2 == 1, 0.5) for i in range(N)]}
    )
    assert ic.judge_retrieval(noisy)[0].verdict is Verdict.INCONCLUSIVE


def test_more_context_two_sided() -> None:
    worse = frame({ic.with_k(1): [(True, 1.0)] * N, ic.with_k(3): [(i % 4 == 0, 1.0) for i in range(N)]})
    assert ic.judge_more_context(worse).verdict is Verdict.HELD  # beyond the margin, downwards
    same = frame(
        {ic.with_k(1): [(i % 2 == 0, 1.0) for i in range(N)], ic.with_k(3): [(i % 2 == 0, 1.0) for i in range(N)]}
    )
    assert ic.judge_more_context(same).verdict is Verdict.DID_NOT_HOLD  # identical: inside the margin
    one_flip = frame({ic.with_k(1): [(True, 1.0)] * N, ic.with_k(3): [(i not in (0, 1), 1.0) for i in range(N)]})
    assert ic.judge_more_context(one_flip).verdict is Verdict.INCONCLUSIVE  # -0.10, interval straddles -0.05
    with pytest.raises(DataError):
        ic.judge_more_context(frame({ic.with_k(1): [(True, 1.0)] * N}))


def report(changed: list[str], embedded: int, before: str = "v1", after: str = "v2") -> RefreshReport:
    return RefreshReport([], changed, [], 36 - len(changed), embedded, before, after)


def test_refresh_rules() -> None:
    edited = ["kb-002", "kb-016"]
    assert ic.judge_refresh(report(edited, 2), edited).verdict is Verdict.HELD
    assert ic.judge_refresh(report(edited, 36), edited).verdict is Verdict.DID_NOT_HOLD  # re-embedded everything
    assert ic.judge_refresh(report(["kb-002"], 1), edited).verdict is Verdict.DID_NOT_HOLD  # missed one
    assert ic.judge_refresh(report(edited, 2, "v1", "v1"), edited).verdict is Verdict.DID_NOT_HOLD
    kept = ic.refresh_from_meta(ic.refresh_meta(report(edited, 2)))
    assert kept == report(edited, 2)


def fresh_frame(stale_new: list[bool], fresh_new: list[bool]) -> pd.DataFrame:
    rows = [{"index": "stale", "states_new": v} for v in stale_new]
    return pd.DataFrame(rows + [{"index": "refreshed", "states_new": v} for v in fresh_new])


def test_freshness_proportions() -> None:
    held = ic.judge_freshness(fresh_frame([False] * 8, [True] * 7 + [False]))
    assert held.verdict is Verdict.HELD and held.interval.estimate == pytest.approx(7 / 8)
    assert ic.judge_freshness(fresh_frame([False] * 8, [True] * 3 + [False] * 5)).verdict is Verdict.INCONCLUSIVE
    assert ic.judge_freshness(fresh_frame([True] * 8, [False] * 8)).verdict is Verdict.DID_NOT_HOLD
    assert ic.judge_freshness(fresh_frame([], [])).verdict is Verdict.INCONCLUSIVE


def test_updated_documents_edits_in_memory_only() -> None:
    path = sample_data.path("heronsgate_impact_questions.jsonl")
    docs = load_corpus(sample_data.path("heronsgate_kb.jsonl"))
    before = sample_data.path("heronsgate_kb.jsonl").read_bytes()
    _, qrels = load_labelled_queries(path)
    relevant = {q: list(r) for q, r in qrels.items()}
    facts = load_reference_answers(path)
    new = ic.updated_documents(docs, facts, relevant)
    edited = ic.edited_ids(relevant)
    assert len(edited) >= 5 and len(new) == len(docs)
    changed = [b.id for a, b in zip(docs, new) if a.text != b.text]
    assert changed == edited
    for qid, value in ic.FRESHNESS_UPDATES.items():
        doc = next(d for d in new if d.id == relevant[qid][0])
        assert value in doc.text and facts[qid] not in doc.text
    assert sample_data.path("heronsgate_kb.jsonl").read_bytes() == before
    with pytest.raises(DataError):
        ic.updated_documents([Document("d", "nothing here")], {"q": "14 days"}, {"q": ["d"]}, {"q": "21 days"})


def test_a_committed_table_is_rescored_from_its_answers(tmp_path) -> None:
    from playbook_lib.experiments.tables import read_table, write_table

    impact = pd.DataFrame(
        [
            {"qid": "q1", "mode": ic.WITHOUT, "answer": "Every 4 days.", "grounded": 0.0, "correct": True},
            {
                "qid": "q1",
                "mode": ic.with_k(1),
                "answer": "Every 14 days or 90 days.",
                "grounded": 1.0,
                "correct": True,
            },
            {"qid": "q2", "mode": ic.with_k(1), "answer": "It costs 1,890 euros.", "grounded": 1.0, "correct": False},
        ]
    )
    fresh = pd.DataFrame(
        [
            {"qid": "q2", "index": "stale", "old": "1,890 euros", "new": "2,040 euros", "answer": "1,890 euros"},
            {"qid": "q2", "index": "refreshed", "old": "1,890 euros", "new": "2,040 euros", "answer": "2040 euros"},
        ]
    )
    write_table(ic.results_frame(impact, ic.score_freshness(fresh)), tmp_path / "t.csv", {"k": "v"})
    frame, _ = read_table(tmp_path / "t.csv")
    a, b = ic.split_results(frame, {"q1": "14 days", "q2": "1,890 euros"})
    assert a["correct"].tolist() == [False, False, True]  # the stored "correct" column is not trusted
    assert a["contradicts"].tolist() == [True, True, False] and a["grounded"].tolist() == [0.0, 1.0, 1.0]
    assert b["states_new"].tolist() == [False, True] and b["states_old"].tolist() == [True, False]


def test_k_summary_shows_the_committed_runs_measures_at_each_k() -> None:
    from playbook_lib.experiments.tables import read_table
    from playbook_lib.experiments.verdict import mean_interval, proportion_interval
    from tests.conftest import ROOT

    table, _ = read_table(ROOT / "notebooks" / "results" / "ops_09_practical_impact.csv")
    facts = load_reference_answers(sample_data.path(ic.QUESTIONS_FILE))
    impact, _ = ic.split_results(table, facts)
    shown = {k: ic.k_summary(table, k) for k in (0, 1, 3)}
    assert len(set(shown.values())) == 3  # the output moves with k
    for k, text in shown.items():
        rows = impact[impact["mode"] == (ic.WITHOUT if k == 0 else ic.with_k(k))]
        assert f"data-pb-k='{k}'" in text and f"{len(rows)} questions" in text
        assert proportion_interval(int(rows["correct"].sum()), len(rows)).text() in text
        assert mean_interval(rows["grounded"].to_numpy(dtype=float)).text() in text
    assert "A1" not in shown[0] and "A3" not in shown[1] and "A3" in shown[3]
    for k in (1, 3):
        a1, a2 = ic.judge_retrieval(impact, k)
        assert str(a1.interval) in shown[k] and f"<strong>{a2.verdict.value}</strong>" in shown[k]
    assert str(ic.judge_more_context(impact).interval) in shown[3]
    with pytest.raises(DataError):
        ic.k_summary(table, 5)
