"""The provenance page's claims over seeds: disjoint draws, per-seed measures and verdicts on constructed tables
(held, did not hold, inconclusive), and the committed full-profile table judged by the same rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playbook_lib.errors import DataError, UsageError
from playbook_lib.experiments.human_vs_synthetic import MARGINS
from playbook_lib.experiments.provenance_claim import (
    GAP_GROUP,
    PROVENANCE_PROFILES,
    TABLE_COLUMNS,
    comparison_summary,
    comparisons,
    judge_table,
    measure_seed,
    profile_means,
    read_provenance_table,
    run_seeds,
    seed_draws,
)
from playbook_lib.experiments.tables import write_table
from playbook_lib.experiments.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "notebooks" / "results" / "exp_07_provenance.csv"


def constructed(gap: list[float], first_person: tuple[list[float], list[float]], check: list[float]) -> pd.DataFrame:
    """A run_seeds-shaped table over len(gap) seeds: the gap of mtld, two like-with-like pairs (first-person share
    differences as given, every other measure 0) and the tagged share error."""
    rows = []
    for seed, g in enumerate(gap):
        rows.append({"seed": seed, "kind": "gap", "group": "human vs synthetic", "measure": "mtld", "value": g})
        for pair, values in zip(("gpteacher_roleplay - lima", "gpteacher_roleplay - alpaca_seeds"), first_person):
            for m in MARGINS:
                value = values[seed] if m == "share_first_person" else 0.0
                rows.append({"seed": seed, "kind": "difference", "group": pair, "measure": m, "value": value})
        rows.append(
            {"seed": seed, "kind": "check", "group": "provenance check", "measure": "tagged_share_error",
             "value": check[seed]}
        )  # fmt: skip
        rows.append({"seed": seed, "kind": "profile", "group": "lima", "measure": "rows", "value": 30.0})
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def test_held_on_a_constructed_table() -> None:
    jitter = [0.0, 0.01, -0.01, 0.005, -0.005]
    table = constructed([5 + j for j in jitter], ([0.3 + j for j in jitter], [0.25 + j for j in jitter]), [0.0] * 5)
    v = judge_table(table)
    assert v.seeds == 5 and v.gaps["mtld"].n == 5
    assert v.separates == {"mtld": Verdict.HELD} and v.separated is Verdict.HELD
    assert v.like_with_like["share_first_person"] is Verdict.HELD and v.measurable is Verdict.HELD
    assert v.like_with_like["median_tokens"] is Verdict.DID_NOT_HOLD  # a zero difference is inside the margin
    assert v.check_right == {"tagged_share_error": Verdict.HELD}
    text = "\n".join(v.lines())
    assert "**held**: some measure differs like with like" in text and "(share_first_person of 6 measures)" in text
    assert "held: separation gap of mtld = +5.000" in text and "(95%, n=5)" in text


def test_did_not_hold_on_a_constructed_table() -> None:
    jitter = [0.0, 0.01, -0.01, 0.005, -0.005]
    # ranges overlap in every seed; the two pairs point opposite ways; the check is 5 points off
    table = constructed([-3 + j for j in jitter], ([0.3 + j for j in jitter], [-0.3 + j for j in jitter]), [0.05] * 5)
    v = judge_table(table)
    assert v.separated is Verdict.DID_NOT_HOLD
    assert v.like_with_like["share_first_person"] is Verdict.DID_NOT_HOLD and v.measurable is Verdict.DID_NOT_HOLD
    assert v.check_right == {"tagged_share_error": Verdict.DID_NOT_HOLD}


def test_inconclusive_when_the_interval_is_wider_than_the_effect() -> None:
    noisy = [0.3, -0.2, 0.5, -0.1, 0.4]  # mean +0.18, but the seeds disagree in sign: straddles the margin
    table = constructed([1.0, -1.0, 2.0, -1.5, 0.5], (noisy, noisy), [0.02, -0.02, 0.0, 0.01, -0.01])
    v = judge_table(table)
    assert v.separates["mtld"] is Verdict.INCONCLUSIVE and v.separated is Verdict.INCONCLUSIVE
    assert v.like_with_like["share_first_person"] is Verdict.INCONCLUSIVE
    assert v.measurable is Verdict.INCONCLUSIVE  # the rest did not hold, this one cannot tell
    assert v.check_right["tagged_share_error"] is Verdict.INCONCLUSIVE
    one_seed = constructed([5.0], ([0.3], [0.3]), [0.0])
    assert judge_table(one_seed).separated is Verdict.INCONCLUSIVE  # one seed: no interval, nothing holds
    with pytest.raises(UsageError):
        judge_table(table.iloc[:0])
    with pytest.raises(UsageError):
        judge_table(table.drop(columns=["kind"]))


def test_seed_draws_are_disjoint_and_capped_by_the_smallest_share(tmp_path: Path) -> None:
    sizes = {"lima": 23, "gpteacher_roleplay": 60}
    write_jsonl_sources(tmp_path, sizes)
    draws = seed_draws(tmp_path, list(sizes), n=10, seeds=5, seed=1)
    assert len(draws) == 5
    assert [int((d["source"] == "lima").sum()) for d in draws] == [4] * 5  # 23 // 5 rows each: not 10
    assert [int((d["source"] == "gpteacher_roleplay").sum()) for d in draws] == [10] * 5
    outputs = [o for d in draws for o in d["output"]]
    assert len(outputs) == len(set(outputs))  # no row in two seeds
    assert draws[0]["output"].tolist() != seed_draws(tmp_path, list(sizes), 10, 5, seed=2)[0]["output"].tolist()
    with pytest.raises(DataError, match="fewer than 30 seeds"):
        seed_draws(tmp_path, list(sizes), n=10, seeds=30)
    with pytest.raises(UsageError):
        seed_draws(tmp_path, list(sizes), n=10, seeds=1)


def write_jsonl_sources(root: Path, sizes: dict[str, int]) -> None:
    """Write the stand-ins under the file names SOURCES expects (a JSON array, or JSON lines for .jsonl)."""
    from playbook_lib.experiments.human_vs_synthetic import SOURCES

    for name, n in sizes.items():
        rows = [
            {"instruction": f"task {i}", "input": "", "output": f"{name} answer number {i}: I think it may work."}
            for i in range(n)
        ]
        path = root / SOURCES[name].file
        text = "\n".join(json.dumps(r) for r in rows) if path.suffix == ".jsonl" else json.dumps(rows)
        path.write_text(text)


def test_run_seeds_measures_every_seed_and_round_trips(tmp_path: Path) -> None:
    sizes = {"lima": 25, "alpaca_seeds": 25, "gpteacher_roleplay": 25}
    write_jsonl_sources(tmp_path, sizes)
    table, draws = run_seeds(tmp_path, list(sizes), "small", n_rows=5, seeds=5)
    assert sorted(table["seed"].unique()) == [0, 1, 2, 3, 4] and len(draws) == 5
    kinds = set(table["kind"])
    assert kinds == {"profile", "gap", "difference", "check"}
    assert "mean_pairwise_cosine" not in set(table["measure"])  # no embedder given
    assert set(table.loc[table["kind"] == "difference", "group"]) == {
        "gpteacher_roleplay - lima",
        "gpteacher_roleplay - alpaca_seeds",
    }
    # every answer is "I think it may work": no first-person or hedging difference, the check counts right
    v = judge_table(table)
    assert v.like_with_like["share_first_person"] is Verdict.DID_NOT_HOLD
    assert v.check_right == {"tagged_share_error": Verdict.HELD, "untagged_share_error": Verdict.HELD}
    assert profile_means(table).loc["lima", "rows"] == 5.0
    write_table(table, tmp_path / "t.csv", {"command": "test"})
    back, meta = read_provenance_table(tmp_path / "t.csv")
    assert meta == {"command": "test"}
    assert judge_table(back).lines() == v.lines()
    with pytest.raises(UsageError):
        run_seeds(tmp_path, list(sizes), "medium")
    with pytest.raises(UsageError):
        run_seeds(tmp_path, list(sizes), "small", rows=5)
    with pytest.raises(DataError):
        read_provenance_table(tmp_path / "missing.csv")


def test_measure_seed_without_both_groups_has_no_gap() -> None:
    draw = pd.DataFrame(
        [{"source": "lima", "provenance": "human", "instruction": "t", "input": "", "output": f"answer {i}"}
         for i in range(4)]
    )  # fmt: skip
    rows = measure_seed(draw, 0)
    assert {r["kind"] for r in rows} == {"profile", "check"}


def test_committed_full_profile_table() -> None:
    table, meta = read_provenance_table(TABLE)
    assert meta["profile"] == "full" and "exp_07" in meta["command"]
    cfg = PROVENANCE_PROFILES["full"]
    assert sorted(table["seed"].unique()) == list(range(cfg["seeds"]))
    rows = table[(table["kind"] == "profile") & (table["measure"] == "rows")]
    assert rows.groupby("group")["value"].max().to_dict()["lima"] == cfg["n_rows"]
    assert rows.groupby("group")["value"].max().to_dict()["alpaca_seeds"] == 175 // cfg["seeds"]
    v = judge_table(table)
    assert v.seeds == cfg["seeds"] and all(i.n == cfg["seeds"] for i in v.gaps.values())
    assert "mean_pairwise_cosine" in v.gaps
    assert np.isfinite([i.high - i.low for i in v.gaps.values()]).all()


def test_parts_name_every_verdict() -> None:
    jitter = [0.0, 0.01, -0.01, 0.005, -0.005]
    table = constructed([5 + j for j in jitter], ([0.3 + j for j in jitter], [0.25 + j for j in jitter]), [0.0] * 5)
    parts = judge_table(table).parts()
    assert list(parts)[:2] == ["some measure differs like with like", "some measure separates"]
    assert parts["like with like: share_first_person"] is Verdict.HELD
    assert parts["like with like: median_tokens"] is Verdict.DID_NOT_HOLD
    assert parts["separates: mtld"] is Verdict.HELD and parts["check: tagged_share_error"] is Verdict.HELD
    assert len(parts) == 2 + len(MARGINS) + 1 + 1


def test_comparison_summary_shows_each_pair_and_measure_with_the_librarys_verdict() -> None:
    jitter = [0.0, 0.01, -0.01, 0.005, -0.005]
    table = constructed([5 + j for j in jitter], ([0.3 + j for j in jitter], [0.25 + j for j in jitter]), [0.0] * 5)
    assert comparisons(table) == {
        "gpteacher_roleplay vs lima (like with like)": "gpteacher_roleplay - lima",
        "gpteacher_roleplay vs alpaca_seeds (like with like)": "gpteacher_roleplay - alpaca_seeds",
        "human vs synthetic (across tasks)": GAP_GROUP,
    }
    lima = comparison_summary(table, "gpteacher_roleplay - lima", "first_person")
    assert "share_first_person, gpteacher_roleplay minus lima, mean over 5 seeds: +0.300 [" in lima
    assert "against lima: held" in lima and "in the same direction): held</strong>" in lima
    length = comparison_summary(table, "gpteacher_roleplay - alpaca_seeds", "median_tokens")
    assert "+0.000 [+0.000, +0.000]" in length and "against alpaca_seeds: did not hold" in length
    assert "in the same direction): did not hold</strong>" in length  # inside the ±10-token margin
    gap = comparison_summary(table, GAP_GROUP, "mtld")
    assert "<strong>held: separation gap of mtld = +5.000 [" in gap
    assert "No separation gap of hedging" in comparison_summary(table, GAP_GROUP, "hedging")
    assert "not compared like with like" in comparison_summary(table, "gpteacher_roleplay - lima", "mtld")
    opposite = constructed([-3 + j for j in jitter], ([0.3 + j for j in jitter], [-0.3 + j for j in jitter]), [0.0] * 5)
    shown = comparison_summary(opposite, "gpteacher_roleplay - alpaca_seeds", "first_person")
    assert "against alpaca_seeds: held" in shown and "direction): did not hold</strong>" in shown  # opposite signs
    assert "<strong>did not hold: separation gap of mtld" in comparison_summary(opposite, GAP_GROUP, "mtld")
    noisy = [0.3, -0.2, 0.5, -0.1, 0.4]
    unsure = constructed([1.0, -1.0, 2.0, -1.5, 0.5], (noisy, noisy), [0.0] * 5)
    assert "direction): inconclusive</strong>" in comparison_summary(
        unsure, "gpteacher_roleplay - lima", "first_person"
    )
    with pytest.raises(UsageError):
        comparison_summary(table, "gpteacher_codegen - gsm8k", "first_person")
