import pandas as pd

from playbook_lib.experiments.ann_claim import ann_recall_verdicts
from playbook_lib.experiments.verdict import Verdict
from playbook_lib.rag.ann import ann_sweep, clustered_vectors


def _frame(rows: list[tuple[str, int, int, float, float]], trials: int = 2000) -> pd.DataFrame:
    exact = {"index": "exact (flat)", "knob": "-", "value": 0, "recall@10": 1.0, "hits": trials}
    exact |= {"trials": trials, "ms/query": 1.0, "speedup": 1.0}
    body = [
        {"index": name, "knob": "nprobe", "value": v, "recall@10": hits / trials, "hits": hits}
        | {"trials": trials, "ms/query": ms, "speedup": 1.0 / ms}
        for name, v, hits, ms, _ in rows
    ]
    return pd.DataFrame([exact, *body])


def test_held_at_the_cheapest_setting_that_reaches_the_target() -> None:
    frame = _frame([("IVF", 1, 1500, 0.05, 0), ("IVF", 4, 1990, 0.1, 0), ("IVF", 8, 2000, 0.2, 0)])
    (v,) = ann_recall_verdicts(frame)
    assert (v.value, v.reached, v.verdict) == (4, True, Verdict.HELD)
    assert v.recall.low > 0.95 and abs(v.speedup - 10.0) < 1e-9
    assert "**held**" in v.markdown() and "nprobe=4" in v.markdown()


def test_recall_just_at_the_target_is_inconclusive() -> None:
    (v,) = ann_recall_verdicts(_frame([("IVF", 2, 1900, 0.1, 0), ("IVF", 4, 1910, 0.2, 0)]))
    assert v.value == 2 and v.recall.low < 0.95 < v.recall.high and v.verdict is Verdict.INCONCLUSIVE


def test_no_setting_reaching_the_target_did_not_hold() -> None:
    (v,) = ann_recall_verdicts(_frame([("IVF", 1, 1200, 0.05, 0), ("IVF", 2, 1600, 0.1, 0)]))
    assert (v.value, v.reached, v.verdict) == (2, False, Verdict.DID_NOT_HOLD)
    assert "no setting reached" in v.markdown()


def test_high_recall_but_slower_than_exact_did_not_hold() -> None:
    (v,) = ann_recall_verdicts(_frame([("HNSW", 64, 2000, 1.5, 0)]))
    assert v.recall.low > 0.95 and v.speedup < 1 and v.verdict is Verdict.DID_NOT_HOLD


def test_on_a_real_sweep_frame_hits_match_recall() -> None:
    x = clustered_vectors(2100, dim=16, n_clusters=8, seed=3)
    frame = ann_sweep(x[:2000], x[2000:], k=10, nprobes=(1, 11), ef_searches=(8, 64), repeats=1)
    assert (frame["trials"] == 1000).all()
    assert ((frame["hits"] / frame["trials"] - frame["recall@10"]).abs() < 1e-3).all()
    verdicts = ann_recall_verdicts(frame)
    assert [v.index.split(" ")[0] for v in verdicts] == ["IVF", "HNSW"]
