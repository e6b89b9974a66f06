"""The Model–Data Operations pages' verdicts on constructed outputs: held when the chapter's sentence is true of
them, did not hold when an output contradicts it, inconclusive when it cannot be measured or the interval
straddles the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.experiments.verdict import Verdict
from playbook_lib.scenarios.ops_claims import (
    MIN_REPEATS,
    MOST,
    REFRESH_SPEEDUP,
    Measure,
    Snapshot,
    judge_corrections,
    judge_dominates,
    judge_feedback,
    judge_first_hit,
    judge_grounded,
    judge_improves,
    judge_memory,
    judge_offline,
    judge_refresh,
    judge_same_ranking,
    judge_session_lifecycle,
    judge_snapshots,
    judge_stages,
    judge_synthetic_easier,
    judge_time,
    judge_traceable,
    judge_training_time,
    judge_versions,
    ratio_check,
)

H, N, INC = Verdict.HELD, Verdict.DID_NOT_HOLD, Verdict.INCONCLUSIVE
STAGES = ["ingest", "embed", "retrieve", "generate"]
OFFLINE, ONLINE = ["ingest", "embed"], ["retrieve", "generate"]
#: A shared machine: repeat r runs every step LOAD[r] times slower (the pairing must cancel it), plus 3% jitter.
LOAD = np.array([1.0, 2.5, 0.7, 1.8, 1.2, 3.0])
JITTER = np.exp(np.random.default_rng(0).normal(0.0, 0.03, size=(8, LOAD.size)))


def timed(base: dict[str, float]) -> dict[str, list[float]]:
    """Per-repeat seconds: each step's ``base`` time under the repeat's load, with its own jitter."""
    return {name: list(t * LOAD * JITTER[i]) for i, (name, t) in enumerate(base.items())}


def test_a_ratio_check_needs_enough_repeats_and_an_interval_clear_of_the_threshold() -> None:
    fast = list(LOAD)
    assert ratio_check("x", [3 * t for t in fast], fast, 2.0).passed is True
    assert ratio_check("x", [1.5 * t for t in fast], fast, 2.0).passed is False
    straddles = [t * r for t, r in zip(fast, [1.0, 4.0, 1.5, 3.0, 1.2, 3.5])]  # ratios either side of 2
    assert ratio_check("x", straddles, fast, 2.0).passed is None
    few = ratio_check("x", [30.0] * (MIN_REPEATS - 1), [1.0] * (MIN_REPEATS - 1), 2.0)
    assert few.passed is None and "fewer than" in few.detail  # one timing, however clear, is not a claim
    with pytest.raises(ValueError, match="paired"):
        ratio_check("x", [1.0] * 5, [1.0] * 6, 2.0)


def test_stages_hold_when_each_ran_produced_and_the_log_carries_the_versions() -> None:
    produced = dict.fromkeys(STAGES, 3)
    versions = {"corpus_version": "abc", "index_version": "def"}
    assert judge_stages(STAGES, produced, versions, "abc").verdict is H
    assert judge_stages(STAGES, {**produced, "embed": 0}, versions, "abc").verdict is N
    assert judge_stages(STAGES, {"ingest": 3}, versions, "abc").verdict is N
    assert judge_stages(STAGES, produced, {"corpus_version": "old", "index_version": "d"}, "abc").verdict is N


def test_time_is_concentrated_and_in_the_stages_the_page_names() -> None:
    base = {"ingest": 0.1, "embed": 1.0, "retrieve": 0.05, "generate": 3.0}
    assert judge_time(timed(base), OFFLINE, ONLINE).verdict is H
    v = judge_time(timed(dict.fromkeys(STAGES, 1.0)), OFFLINE, ONLINE)
    assert v.verdict is N and v.failed[0].name.startswith("the slowest stage")
    assert judge_time(timed({**base, "retrieve": 5.0}), OFFLINE, ONLINE).verdict is N  # retrieval, not generation
    no_generation = {k: s for k, s in timed(base).items() if k != "generate"}
    assert judge_time(no_generation, OFFLINE, ONLINE).verdict is INC
    # generation about as slow as retrieval: the ratio interval straddles 1, so that part cannot be told
    many = timed({**base, "chunk": 0.01, "index": 0.01, "context": 0.01})  # small stages: a small even share
    close = {**many, "retrieve": [g * r for g, r in zip(many["generate"], [0.8, 1.3, 0.9, 1.2, 0.85, 1.25])]}
    v = judge_time(close, OFFLINE, ONLINE)
    assert v.verdict is INC and [c.passed for c in v.checks] == [True, None, True]
    one_run = {k: [t] for k, t in base.items()}
    assert judge_time(one_run, OFFLINE, ONLINE).verdict is INC  # a single timing decides nothing


def test_an_operation_improves_a_total_or_a_paired_mean() -> None:
    cost = Measure("tokens embedded", [1000], [700], "below")
    flat = Measure("recall", [1.0] * 6, [1.0] * 6, "above")  # a tie: not measured
    assert judge_improves("dedup", [cost, flat]).verdict is H
    worse = Measure("tokens embedded", [700], [1000], "below")
    assert judge_improves("dedup", [worse]).verdict is N
    assert judge_improves("dedup", [worse, flat]).verdict is INC
    up = Measure("served fresh", [0.0] * 8, [1.0] * 8, "above")
    assert judge_improves("refresh", [up]).verdict is H
    noisy = Measure("latency", [1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5], "below")  # straddles 0
    assert judge_improves("chunking", [noisy]).verdict is INC
    down = Measure("served fresh", [1.0] * 8, [0.0] * 8, "above")
    assert judge_improves("refresh", [down]).verdict is N


def test_refresh_must_reembed_exactly_what_the_page_changed() -> None:
    assert judge_refresh(2, ["a", "b"], [], 20, "v1", "v2").verdict is H
    assert judge_refresh(20, ["a", "b"], [], 20, "v1", "v2").verdict is N  # re-embedded everything
    assert judge_refresh(2, ["a", "b"], [], 20, "v1", "v1").verdict is N  # the version did not move
    assert judge_refresh(0, [], [], 20, "v1", "v1").verdict is H


def test_versions_change_exactly_with_content() -> None:
    assert judge_versions("a", "a", "a", "b", "a").verdict is H
    assert judge_versions("a", "a", "c", "b", "a").verdict is N  # order-dependent
    assert judge_versions("a", "a", "a", "a", "a").verdict is N  # the edit went unnoticed
    assert judge_versions("a", "a", "a", "b", "b").verdict is N  # undoing did not restore it


def test_snapshots_follow_the_corpus() -> None:
    snaps = [
        Snapshot("day 0", ["d1", "d2", "d3"], [], [], 3, "v0"),
        Snapshot("day 1", ["n"], ["d1"], [], 2, "v1"),
        Snapshot("day 2", [], [], ["d3"], 0, "v2"),
    ]
    assert judge_snapshots(snaps, "n", "n", "d3", False).verdict is H
    assert judge_snapshots(snaps, "n", "d2", "d3", False).verdict is N  # the new document is not found
    assert judge_snapshots(snaps, "n", "n", "d3", True).verdict is N  # the deleted one is still served
    over = [snaps[0], Snapshot("day 1", ["n"], ["d1"], [], 4, "v1"), snaps[2]]
    assert judge_snapshots(over, "n", "n", "d3", False).verdict is N  # re-embedded the unchanged
    still = [*snaps[:2], Snapshot("day 2", [], [], ["d3"], 0, "v1")]
    assert judge_snapshots(still, "n", "n", "d3", False).verdict is N  # a deletion left the version


def test_memory_needs_a_gain_and_most_follow_ups_answered() -> None:
    assert judge_memory([False] * 12, [True] * 11 + [False]).verdict is H
    assert judge_memory([False] * 12, [False] * 12).verdict is N
    # 3 of 5 answered with memory: the Wilson interval straddles MOST
    assert judge_memory([False] * 5, [True] * 3 + [False] * 2).verdict is INC
    assert MOST == 0.5


def test_session_lifecycle() -> None:
    assert judge_session_lifecycle(6, 4, 4, 0, 0).verdict is H
    assert judge_session_lifecycle(6, 4, 6, 0, 0).verdict is N
    assert judge_session_lifecycle(6, 4, 4, 2, 0).verdict is N
    assert judge_session_lifecycle(6, 4, 4, 0, 1).verdict is N


def test_feedback_promotion() -> None:
    qs = ["q1", "q2", "q3"]
    rated = [("q1", 5), ("q2", 1), ("q3", 5)]
    assert judge_feedback(qs, rated, ["q2"], qs, 0.0).verdict is H
    assert judge_feedback(qs, rated, [], qs, 0.0).verdict is N  # the failure was never reviewed
    assert judge_feedback(qs, rated, ["q2"], qs[:2], 0.0).verdict is N  # a question missing from the golden set
    assert judge_feedback(qs, rated, ["q2"], qs, 0.5).verdict is N
    assert judge_feedback(qs, [("q1", 5), ("q2", 5), ("q3", 5)], [], qs, None).verdict is INC


def test_synthetic_easier_unpaired() -> None:
    assert judge_synthetic_easier([0.2, 0.5, 0.3, 0.4], [1.0, 0.9, 1.0, 1.0]).verdict is H
    assert judge_synthetic_easier([1.0, 0.9, 1.0, 1.0], [0.2, 0.5, 0.3, 0.4]).verdict is N
    assert judge_synthetic_easier([1.0, 0.5, 1.0, 0.5], [0.5, 1.0, 0.5, 1.0]).verdict is INC
    assert judge_synthetic_easier([], [1.0, 1.0]).verdict is INC  # no human questions


def test_traceable_and_grounded() -> None:
    ranked, scores = ["a", "b", "c"], [0.9, 0.7, 0.5]
    assert judge_traceable(ranked, scores, ["a", "b"], ["a"]).verdict is H
    assert judge_traceable(ranked, scores, ["b", "a"], []).verdict is N  # out of rank order
    assert judge_traceable(ranked, scores, ["a", "z"], []).verdict is N  # a chunk the search never returned
    assert judge_traceable(ranked, scores, ["a"], ["z"]).verdict is N  # cites what it never saw
    assert judge_traceable(ranked, [0.5, 0.9, 0.1], ["a"], []).verdict is N
    assert judge_traceable(ranked, scores, [], []).verdict is INC  # an empty prompt
    assert judge_grounded(["E17 is a clock fault.", "Call us."], [False, True]).verdict is N
    assert judge_grounded(["E17 is a sensor fault."], [True]).verdict is H
    assert judge_grounded([], []).verdict is INC


def test_generation_dominates_when_it_outlasts_the_other_steps_together() -> None:
    steps = {"embed": 0.01, "search": 0.005, "prompt": 0.001, "generation": 2.0}
    assert judge_dominates("generation dominates", timed(steps), "generation").verdict is H
    # slower than each other step but not than all of them together: did not hold
    spread = {"embed": 0.8, "search": 0.7, "prompt": 0.6, "generation": 1.0}
    assert judge_dominates("generation dominates", timed(spread), "generation").verdict is N
    even = {"embed": 1.0, "generation": 1.0}  # a tie with the rest
    assert judge_dominates("generation dominates", timed(even), "generation").verdict is INC
    assert judge_dominates("generation dominates", timed({"embed": 3.0}), "generation").verdict is INC


def test_first_hit_share() -> None:
    assert judge_first_hit([1] * 11 + [2]).verdict is H
    assert judge_first_hit([2, None, 3, 1, 4, 5, None, 2, 2, 3]).verdict is N
    assert judge_first_hit([1, 1, 2]).verdict is INC
    assert judge_first_hit([]).verdict is INC


def test_same_ranking() -> None:
    assert judge_same_ranking(["a", "b"], ["a", "b"], ["a", "b"]).verdict is H
    assert judge_same_ranking(["a", "b"], ["a", "b"], ["b", "a"]).verdict is N


def test_training_time() -> None:
    fast = {k: v for k, v in zip((1, 8, 32), timed({"1": 4.0, "8": 1.0, "32": 1.2}).values())}
    assert judge_training_time(0, True, fast).verdict is H
    assert judge_training_time(3, True, fast).verdict is N
    slower = {k: v for k, v in zip((1, 8), timed({"1": 1.0, "8": 1.3}).values())}
    assert judge_training_time(0, True, slower).verdict is N
    assert judge_training_time(0, True, {4: fast[8], 8: fast[32]}).verdict is INC  # no batch of 1
    same = {k: v for k, v in zip((1, 8), timed({"1": 1.0, "8": 1.0}).values())}
    assert judge_training_time(0, True, same).verdict is INC  # batching made no measurable difference


def test_offline() -> None:
    ok = dict(
        n_served=3,
        n_read_back=3,
        read_back_equal=True,
        embedded=2,
        n_changed=2,
        n_documents=20,
        same_version=True,
        same_rankings=True,
        incremental_s=list(0.1 * LOAD),
        rebuild_s=list(1.0 * LOAD * JITTER[0]),
    )
    assert judge_offline(**ok).verdict is H
    barely = [t * REFRESH_SPEEDUP * 0.6 for t in ok["incremental_s"]]  # faster, but not REFRESH_SPEEDUP times
    assert judge_offline(**{**ok, "rebuild_s": barely}).verdict is N
    around = [t * REFRESH_SPEEDUP * r for t, r in zip(ok["incremental_s"], [0.5, 2.0, 0.7, 1.6, 0.6, 1.8])]
    assert judge_offline(**{**ok, "rebuild_s": around}).verdict is INC
    assert judge_offline(**{**ok, "embedded": 20}).verdict is N
    assert judge_offline(**{**ok, "same_rankings": False}).verdict is N
    assert judge_offline(**{**ok, "n_read_back": 2}).verdict is N


def test_corrections() -> None:
    assert judge_corrections([3, None], [1, 2], [0.0] * 9).verdict is H
    assert judge_corrections([3, 2], [1, 2], [0.0] * 9).verdict is N  # one did not move
    assert judge_corrections([3], [1], [-0.3, -0.2, -0.4, -0.3]).verdict is N  # the others fell
    assert judge_corrections([], [], [0.0] * 9).verdict is INC
