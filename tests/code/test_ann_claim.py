import pandas as pd

from playbook_lib.experiments.ann_claim import ann_recall_verdicts
from playbook_lib.experiments.verdict import Verdict
from playbook_lib.rag.ann import ann_sweep, clustered_vectors


def _frame(rows: list[tuple[str, int, int, float, float]], trials: int = 2000, rounds: int = 5) -> pd.DataFrame:
    """Rows of (index, nprobe, hits, ms/query, sd of the per-round log speed-ups)."""
    exact = {"index": "exact (flat)", "knob": "-", "value": 0, "recall@10": 1.0, "hits": trials}
    exact |= {"trials": trials, "ms/query": 1.0, "speedup": 1.0, "log_speedup_sd": 0.0, "rounds": rounds}
    body = [
        {"index": name, "knob": "nprobe", "value": v, "recall@10": hits / trials, "hits": hits}
        | {"trials": trials, "ms/query": ms, "speedup": 1.0 / ms, "log_speedup_sd": sd, "rounds": rounds}
        for name, v, hits, ms, sd in rows
    ]
    return pd.DataFrame([exact, *body])


def test_held_at_the_cheapest_setting_that_reaches_the_target() -> None:
    frame = _frame([("IVF", 1, 1500, 0.05, 0.1), ("IVF", 4, 1990, 0.1, 0.1), ("IVF", 8, 2000, 0.2, 0.1)])
    (v,) = ann_recall_verdicts(frame)
    assert (v.value, v.reached, v.verdict) == (4, True, Verdict.HELD)
    assert v.recall.low > 0.95 and abs(v.speedup.estimate - 10.0) < 1e-9
    assert 1.0 < v.speedup.low < 10.0 < v.speedup.high
    assert "**held**" in v.markdown() and "nprobe=4" in v.markdown()


def test_recall_just_at_the_target_is_inconclusive() -> None:
    (v,) = ann_recall_verdicts(_frame([("IVF", 2, 1900, 0.1, 0), ("IVF", 4, 1910, 0.2, 0)]))
    assert v.value == 2 and v.recall.low < 0.95 < v.recall.high and v.verdict is Verdict.INCONCLUSIVE


def test_no_setting_reaching_the_target_did_not_hold() -> None:
    (v,) = ann_recall_verdicts(_frame([("IVF", 1, 1200, 0.05, 0), ("IVF", 2, 1600, 0.1, 0)]))
    assert (v.value, v.reached, v.verdict) == (2, False, Verdict.DID_NOT_HOLD)
    assert "no setting reached" in v.markdown()


def test_high_recall_but_slower_than_exact_did_not_hold() -> None:
    (v,) = ann_recall_verdicts(_frame([("HNSW", 64, 2000, 1.5, 0.05)]))
    assert v.recall.low > 0.95 and v.speedup.high < 1 and v.verdict is Verdict.DID_NOT_HOLD


def test_a_speed_up_whose_interval_straddles_one_is_inconclusive() -> None:
    # 1.1x faster on average, but the paired rounds spread (sd 0.5 in log) so widely that 1x is inside
    (v,) = ann_recall_verdicts(_frame([("HNSW", 64, 2000, 1 / 1.1, 0.5)]))
    assert v.speedup.low < 1 < v.speedup.high and v.verdict is Verdict.INCONCLUSIVE


def test_one_timing_round_cannot_judge_speed() -> None:
    (v,) = ann_recall_verdicts(_frame([("HNSW", 64, 2000, 0.1, float("nan"))], rounds=1))
    assert v.speedup.estimate > 9 and v.verdict is Verdict.INCONCLUSIVE


def test_on_a_real_sweep_frame_hits_match_recall() -> None:
    x = clustered_vectors(2100, dim=16, n_clusters=8, seed=3)
    frame = ann_sweep(x[:2000], x[2000:], k=10, nprobes=(1, 11), ef_searches=(8, 64), repeats=3)
    assert (frame["trials"] == 1000).all() and (frame["rounds"] == 3).all()
    assert (frame.loc[frame["knob"] != "-", "log_speedup_sd"] >= 0).all()
    assert ((frame["hits"] / frame["trials"] - frame["recall@10"]).abs() < 1e-3).all()
    verdicts = ann_recall_verdicts(frame)
    assert [v.index.split(" ")[0] for v in verdicts] == ["IVF", "HNSW"]
