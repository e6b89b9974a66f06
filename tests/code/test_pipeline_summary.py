"""The whole-pipeline summary run: stale vs refreshed answers after a fact change, lineage, and its verdicts."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from playbook_lib.experiments.verdict import Verdict
from playbook_lib.rag.chunk import ChunkSpec
from playbook_lib.rag.corpus import Document
from playbook_lib.scenarios.pipeline_summary import judge_summary, run_summary


class WordsEmbedder:
    """Bag of hashed words: texts sharing words are close; counts how many texts it embedded."""

    dim = 256

    def __init__(self) -> None:
        self.calls = 0

    def embed_documents(self, texts):
        self.calls += len(texts)
        x = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().replace("?", "").replace(".", "").split():
                x[i, zlib.crc32(w.encode()) % self.dim] += 1.0
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)

    def embed_query(self, text):
        return self.embed_documents([text])[0]


TOPICS = ["battery", "probe", "case", "screen", "cable", "sensor", "charger", "strap", "lid", "clip"]
DOCS = [Document(id=f"d{i}", text=f"The {w} lasts {10 + i} days before service.") for i, w in enumerate(TOPICS)]
QUERIES = {f"q{i}": f"How long does the {w} last?" for i, w in enumerate(TOPICS)}
QRELS = {f"q{i}": {f"d{i}": 1} for i in range(len(TOPICS))}
FACTS = {f"q{i}": f"{10 + i} days" for i in range(len(TOPICS))}


def _run(**kw):
    return run_summary(
        DOCS, QUERIES, QRELS, FACTS, WordsEmbedder(), lambda t: len(t.split()), spec=ChunkSpec("recursive", 32, 4), **kw
    )


def test_stale_index_answers_changed_questions_from_the_old_fact() -> None:
    run = _run(change_share=0.3, k=1, seeds=(0, 1, 2, 3, 4))
    q = run.questions
    assert len(q) == 5 * len(TOPICS) and (q.groupby("seed")["changed"].sum() == 3).all()
    changed, same = q[q["changed"]], q[~q["changed"]]
    assert changed["stale_old"].all() and not changed["fresh_old"].any()
    assert not changed["stale_current"].any() and changed["fresh_current"].all()
    assert same["stale_current"].all() and same["fresh_current"].all()
    assert (changed["stale_verified"] == 0).all() and (q["fresh_verified"] == 1).all()
    assert (run.timings["refresh_embedded"] == 3).all() and (run.timings["rebuild_embedded"] == len(TOPICS)).all()
    assert run.versions[0] != run.versions[1]
    assert run.lineage_status == {
        "against the changed corpus": "ok",
        "against the corpus before the change": "document changed",
    }
    v = judge_summary(run)
    assert v.verdicts["unreliable"] is Verdict.HELD and v.verdicts["outdated"] is Verdict.HELD
    assert v.embedded_share == pytest.approx(0.3)
    assert "unreliable" in v.markdown() and "slow" in v.verdicts


def test_a_small_change_moves_the_all_question_share_by_its_size() -> None:
    run = _run(change_share=0.1, k=1, seeds=(0, 1))
    v = judge_summary(run)
    # one changed question per seed of ten: the effect over all questions is 0.1, with too few rows to be sure
    assert v.intervals["unreliable"].estimate == pytest.approx(0.1)
    assert v.verdicts["unreliable"] is not Verdict.DID_NOT_HOLD


def test_needs_a_seed_and_a_changeable_fact() -> None:
    with pytest.raises(ValueError):
        _run(seeds=())
    with pytest.raises(ValueError):
        run_summary(DOCS, QUERIES, QRELS, {q: "no number" for q in FACTS}, WordsEmbedder(), lambda t: len(t.split()))


def test_context_grid_agrees_with_run_summary_and_the_explorer_moves_with_its_settings() -> None:
    import html

    from playbook_lib.experiments.verdict import difference_interval
    from playbook_lib.scenarios.pipeline_summary import CONTEXT_CLAIMS, context_grid, context_html

    spec, count = ChunkSpec("recursive", 32, 4), lambda t: len(t.split())
    embedder = WordsEmbedder()
    grid = context_grid(
        DOCS, QUERIES, QRELS, FACTS, embedder, count, spec=spec, shares=(0.1, 0.3), ks=(1, 2), seeds=(0, 1)
    )
    assert len(grid) == 2 * 2 * 2 * len(TOPICS)
    # queries and corpus once, then at most the changed chunks of each share and seed (a repeat is cached)
    assert 2 * len(TOPICS) < embedder.calls <= 2 * len(TOPICS) + (1 + 3) * 2
    cols = ["seed", "qid", "changed", "stale_current", "fresh_current", "stale_old", "fresh_old"]
    for share in (0.1, 0.3):
        for k in (1, 2):
            run = _run(change_share=share, k=k, seeds=(0, 1))
            here = grid[(grid["change_share"] == share) & (grid["k"] == k)]
            assert here[cols].to_dict("records") == run.questions[cols].to_dict("records")
    shown = {(s, k): context_html(grid, s, k) for s in (0.1, 0.3) for k in (1, 2)}
    assert len(set(shown.values())) == 4  # both knobs move the output
    q = grid[(grid["change_share"] == 0.3) & (grid["k"] == 2)]
    unreliable = difference_interval(q["fresh_current"].astype(float), q["stale_current"].astype(float))
    assert html.escape(CONTEXT_CLAIMS["unreliable"].sentence(unreliable)) in shown[(0.3, 2)]
    assert "6 of them changed" in shown[(0.3, 2)] and "2 of them changed" in shown[(0.1, 1)]
    with pytest.raises(ValueError):
        context_html(grid, 0.2, 1)
