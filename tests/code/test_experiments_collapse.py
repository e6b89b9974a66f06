"""The n-gram model of the model-collapse experiment, its metrics, and the recursive loop on a toy corpus."""

from __future__ import annotations

import html
import itertools
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from playbook_lib.checks import Outcome
from playbook_lib.errors import UsageError
from playbook_lib.experiments.collapse import (
    EOS,
    UNK,
    NGramModel,
    collapse_verdict,
    corpus_metrics,
    generation_summary,
    provenance_of,
    rare_words,
    real_rows_alone,
    recursive_training,
    summarise,
)
from playbook_lib.experiments.verdict import Verdict, mean_interval


def toy_corpus() -> list[list[str]]:
    """40 short sentences: a few frequent words and many that occur once or twice (a long tail)."""
    colours = ["red", "blue", "green", "grey"]
    animals = [
        "cat",
        "dog",
        "fox",
        "owl",
        "hen",
        "yak",
        "elk",
        "emu",
        "ram",
        "cod",
        "eel",
        "gnu",
        "bat",
        "ant",
        "ape",
        "koi",
        "jay",
        "asp",
        "boa",
        "cow",
    ]
    things = ["mat", "hat", "box", "cup", "pen", "map", "jar", "rug", "bag", "log"]
    verbs = ["sees", "likes", "finds"]
    rows = itertools.product(colours, animals, verbs, things)
    rng = np.random.default_rng(7)
    picks = rng.choice(len(colours) * len(animals) * len(verbs) * len(things), size=40, replace=False)
    table = list(rows)
    return [["the", c, a, v, "the", t, "."] for c, a, v, t in (table[i] for i in sorted(picks))]


def test_witten_bell_probabilities_by_hand() -> None:
    # vocab [a, b, c, </s>, <unk>]; unigram counts a 2, b 1, c 1, </s> 2 -> add-1: 3/11, 2/11, 2/11, 3/11, 1/11
    m = NGramModel.fit([["a", "b"], ["a", "c"]], order=2, add_k=1.0)
    assert m.vocab == ["a", "b", "c", EOS, UNK]
    assert m.unigram.tolist() == pytest.approx([3 / 11, 2 / 11, 2 / 11, 3 / 11, 1 / 11])
    # after <s>: seen 2 times, 1 distinct follower -> lambda 2/3
    assert m.prob("a") == pytest.approx(2 / 3 * 1 + 1 / 3 * 3 / 11)
    # after a: b and c once each -> lambda 1/2
    assert m.prob("b", ["a"]) == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 11)
    assert m.prob("zebra", ["a"]) == m.prob(UNK, ["a"]) == pytest.approx(0.5 * 1 / 11)
    p_end = 0.5 * 1 + 0.5 * 3 / 11  # after b: only </s>
    assert m.perplexity([["a", "b"]]) == pytest.approx((m.prob("a") * m.prob("b", ["a"]) * p_end) ** (-1 / 3))


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_conditional_distribution_sums_to_one(order: int) -> None:
    m = NGramModel.fit(toy_corpus(), order=order)
    for context in [(), ("the",), ("the", "red"), ("red", "cat", "sees"), ("never", "seen"), ("the", "zebra")]:
        p = m.distribution(context)
        assert p.shape == (len(m.vocab),) and (p > 0).all()
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert [m.prob(w, context) for w in m.vocab] == pytest.approx(p.tolist())


def test_a_fixed_vocabulary_keeps_unseen_words_possible() -> None:
    m = NGramModel.fit([["a", "b"]], order=2, vocab=["a", "b", "c"])
    assert "c" in m.vocab and 0 < m.prob("c", ["a"]) < m.prob("b", ["a"])


def test_sampling_is_seeded_and_follows_the_distribution() -> None:
    m = NGramModel.fit(toy_corpus(), order=3)
    assert m.sample(20, seed=3) == m.sample(20, seed=3)
    assert m.sample(20, seed=3) != m.sample(20, seed=4)
    # first words of many one-word documents: frequencies within 4 standard errors of P(w | <s> <s>)
    n = 4000
    firsts = Counter(d[0] if d else EOS for d in m.sample(n, seed=0, max_len=1))
    p = m.distribution(())
    for i, w in enumerate(m.vocab):
        se = math.sqrt(p[i] * (1 - p[i]) / n)
        assert abs(firsts[w] / n - p[i]) <= 4 * se + 1e-9, w


def test_fit_rejects_bad_options() -> None:
    with pytest.raises(ValueError):
        NGramModel.fit([["a"]], order=0)
    with pytest.raises(ValueError):
        NGramModel.fit([["a"]], add_k=0)
    with pytest.raises(ValueError):
        recursive_training([["a"]], [], 1, real_fraction=1.5)


def test_corpus_metrics_by_hand() -> None:
    real = Counter({"a": 5, "b": 1, "c": 1})
    rare = rare_words(real, max_count=1)
    assert rare == {"b", "c"}
    m = corpus_metrics([["a", "a", "b"], ["a"]], real, rare, budget=10)
    assert m["vocab_size"] == 2 and m["tokens"] == 4 and m["mean_doc_tokens"] == 2.0
    assert m["distinct_1"] == 0.5 and m["distinct_2"] == 1.0  # bigrams "a a", "a b"
    assert m["tail_mass"] == 0.25 and m["rare_types_kept"] == 0.5
    assert m["entropy_bits"] == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))
    assert m["kl_to_real_bits"] > 0
    assert corpus_metrics([["a"] * 5, ["b", "c"]], real, rare, 10)["kl_to_real_bits"] == pytest.approx(
        0.0, abs=0.15
    )  # the same distribution, up to the add-0.5 smoothing


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pure_recursion_collapses_and_full_anchoring_does_not(seed: int) -> None:
    real = toy_corpus()
    heldout = toy_corpus()[:5]
    pure = recursive_training(real, heldout, generations=10, real_fraction=0.0, seed=seed)
    first, last = pure.metrics[0], pure.metrics[-1]
    assert last["distinct_1"] < first["distinct_1"]
    assert last["vocab_size"] < first["vocab_size"] and last["rare_types_kept"] < 1.0
    assert last["kl_to_real_bits"] > first["kl_to_real_bits"]
    anchored = recursive_training(real, heldout, generations=10, real_fraction=1.0, seed=seed)
    assert {m["vocab_size"] for m in anchored.metrics} == {first["vocab_size"]}
    assert {m["heldout_perplexity"] for m in anchored.metrics} == {first["heldout_perplexity"]}
    assert {m["distinct_1"] for m in anchored.metrics} == {first["distinct_1"]}
    assert all(m["synthetic_share"] == 0.0 for m in anchored.metrics)


def test_provenance_tags_follow_every_row() -> None:
    real = toy_corpus()
    run = recursive_training(real, [], generations=3, real_fraction=0.25, seed=0)
    rows = run.final_rows
    assert len(rows) == len(real)
    human = [r for r in rows if r["provenance"] == "human"]
    synthetic = [r for r in rows if r["provenance"] == "synthetic"]
    assert len(human) == 10 and len(synthetic) == 30
    assert all(r["generation"] is None and r["text"] in real for r in human)
    assert {r["generation"] for r in synthetic} == {2} and {r["source"] for r in synthetic} == {"ngram-gen2"}
    assert [m["synthetic_share"] for m in run.metrics] == [0.0, 0.75, 0.75, 0.75]
    assert math.isnan(run.metrics[0]["heldout_perplexity"])  # no held-out text given
    pure = recursive_training(real, [], generations=2, real_fraction=0.0, seed=0)
    check = provenance_of(pure.final_rows)
    assert check.outcome is Outcome.FAIL and check.summary["synthetic"] == 40
    assert pure.metrics[-1]["provenance_outcome"] == "fail" and pure.metrics[0]["provenance_outcome"] == "pass"


def test_summarise_reports_first_and_last_generation() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "real_fraction": 0.0,
                "seed": s,
                "generation": g,
                "vocab_size": 10 - g + s,
                "heldout_perplexity": 100.0 * (g + 1),
            }
            for s in (0, 1)
            for g in range(3)
        ]
    )
    out = summarise(frame, ["vocab_size", "heldout_perplexity"]).set_index("metric")
    assert out.loc["vocab_size", "generation_0"] == 10.5 and out.loc["vocab_size", "change"] == -2.0
    assert out.loc["heldout_perplexity", "change"] == 3.0  # a ratio for perplexity


def test_collapse_plots_draw() -> None:
    from playbook_lib.experiments.collapse import METRICS, collapse_experiment, plot_collapse, plot_rank_frequency

    frame, runs = collapse_experiment(
        toy_corpus(), toy_corpus()[:3], 2, real_fractions=(0.0, 0.5), seeds=(0, 1), progress=False
    )
    assert len(frame) == 2 * 2 * 3 and len(runs) == 4
    fig = plot_collapse(frame, ["vocab_size", "heldout_perplexity"])
    assert fig.axes[0].get_title() == METRICS["vocab_size"]
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["0% real", "50% real"]
    fig = plot_rank_frequency(Counter({"a": 3, "b": 1}), {"later": Counter({"a": 4})})
    assert len(fig.axes[0].get_lines()) == 2


def collapse_frame(pure_last: dict[str, list[float]], mixed_last: dict[str, list[float]]) -> pd.DataFrame:
    """A constructed collapse_experiment frame: 5 seeds, generation 0 alike for every run, then the given last
    generation for pure recursion (0.0) and a 0.5 mix."""
    first = {"rare_types_kept": 1.0, "distinct_2": 0.6, "vocab_size": 2000.0, "heldout_perplexity": 300.0}
    first["tail_mass"] = 0.05
    rows = []
    for fraction, last in ((0.0, pure_last), (0.5, mixed_last)):
        for seed in range(5):
            rows.append({"real_fraction": fraction, "seed": seed, "generation": 0, **first})
            rows.append(
                {"real_fraction": fraction, "seed": seed, "generation": 3, **{m: v[seed] for m, v in last.items()}}
            )
    return pd.DataFrame(rows)


def last_metrics(rare: float, d2: float, vocab: float, ppl: float, tail: float, spread: float) -> dict[str, list]:
    jitter = [0.0, 1.0, -1.0, 0.5, -0.5]
    return {
        "rare_types_kept": [rare + spread * j for j in jitter],
        "distinct_2": [d2 + spread * j for j in jitter],
        "vocab_size": [vocab + 100 * spread * j for j in jitter],
        "heldout_perplexity": [ppl + 100 * spread * j for j in jitter],
        "tail_mass": [tail + spread * j for j in jitter],
    }


def test_collapse_verdict_held() -> None:
    frame = collapse_frame(last_metrics(0.2, 0.4, 800, 900, 0.05, 0.01), last_metrics(0.7, 0.55, 1600, 400, 0.05, 0.01))
    verdict = collapse_verdict(frame)
    assert verdict.base == 0.0 and verdict.seeds == 5 and list(verdict.anchoring) == [0.5]
    assert verdict.collapsed is Verdict.HELD and verdict.anchored(0.5) is Verdict.HELD
    assert verdict.overall is Verdict.HELD and verdict.tail_mass_small is Verdict.HELD
    assert verdict.collapse[0].interval.estimate == pytest.approx(0.8)
    assert verdict.collapse[3].interval.estimate == pytest.approx(3.0)  # a ratio, judged against 1
    assert verdict.anchoring[0.5][2].interval.estimate == pytest.approx(500)  # pure - mixed perplexity
    text = "\n".join(verdict.lines())
    assert "**Claim held** over 5 seeds" in text and "Anchoring with 50% real data: held" in text


def test_collapse_verdict_did_not_hold_when_mixing_hurts() -> None:
    # recursion collapses, but the mixed runs end up worse than the pure ones: anchoring did not hold
    frame = collapse_frame(last_metrics(0.5, 0.5, 1500, 500, 0.2, 0.01), last_metrics(0.2, 0.4, 800, 900, 0.05, 0.01))
    verdict = collapse_verdict(frame)
    assert verdict.collapsed is Verdict.HELD
    assert verdict.anchored(0.5) is Verdict.DID_NOT_HOLD and verdict.overall is Verdict.DID_NOT_HOLD
    assert verdict.tail_mass_small is Verdict.DID_NOT_HOLD  # the tail's token share moved by +0.15


def test_collapse_verdict_inconclusive_when_seeds_disagree() -> None:
    # no change on average and a spread wider than the effect: nothing can be told
    frame = collapse_frame(last_metrics(1.0, 0.6, 2000, 300, 0.05, 0.2), last_metrics(1.0, 0.6, 2000, 300, 0.05, 0.2))
    verdict = collapse_verdict(frame)
    assert verdict.collapsed is Verdict.INCONCLUSIVE and verdict.anchored(0.5) is Verdict.INCONCLUSIVE
    assert verdict.overall is Verdict.INCONCLUSIVE
    with pytest.raises(UsageError):
        collapse_verdict(frame.iloc[:0])


def test_real_rows_alone() -> None:
    real = [["a", "b"], ["c"], ["d"], ["e"]]
    assert real_rows_alone(real, 1.0, {"a", "c"}) == 1.0
    assert real_rows_alone(real, 0.0, {"a", "c"}) == 0.0
    assert 0.0 < real_rows_alone(real, 0.5, {"a", "c", "d", "e"}, draws=20) == pytest.approx(0.5)


def test_run_profile_round_trips_through_a_table(tmp_path) -> None:
    import json

    from playbook_lib.experiments.collapse import COLLAPSE_PROFILES, read_collapse_table, run_profile
    from playbook_lib.experiments.tables import write_table

    path = tmp_path / "texts.jsonl"
    path.write_text("\n".join(json.dumps({"instruction": " ".join(doc)}) for doc in toy_corpus() * 20))
    cfg = COLLAPSE_PROFILES["small"]
    frame = run_profile(path, "small", real_fractions=(0.0, 0.5))
    assert len(frame) == 2 * len(cfg["seeds"]) * (cfg["generations"] + 1)
    assert sorted(frame["seed"].unique()) == list(cfg["seeds"])
    write_table(frame, tmp_path / "t.csv", {"profile": "small"})
    back, meta = read_collapse_table(tmp_path / "t.csv")
    assert meta == {"profile": "small"}
    assert collapse_verdict(back).lines() == collapse_verdict(frame).lines()
    with pytest.raises(UsageError):
        run_profile(path, "medium")
    from playbook_lib.errors import DataError

    (tmp_path / "bad.csv").write_text("seed,generation\n0,0\n")
    with pytest.raises(DataError, match="missing columns"):
        read_collapse_table(tmp_path / "bad.csv")


def test_committed_full_profile_table() -> None:
    from pathlib import Path

    from playbook_lib.experiments.collapse import COLLAPSE_PROFILES, REAL_FRACTIONS, read_collapse_table

    table = Path(__file__).resolve().parents[2] / "notebooks" / "results" / "exp_06_model_collapse.csv"
    frame, meta = read_collapse_table(table)
    cfg = COLLAPSE_PROFILES["full"]
    assert meta["profile"] == "full" and "exp_06" in meta["command"]
    assert sorted(frame["seed"].unique()) == list(cfg["seeds"])
    assert sorted(frame["real_fraction"].unique()) == list(REAL_FRACTIONS)
    assert int(frame["generation"].max()) == cfg["generations"]
    assert (frame.loc[frame["generation"] == 0, "docs"] == cfg["n_docs"]).all()
    verdict = collapse_verdict(frame)
    assert verdict.seeds == len(cfg["seeds"]) and list(verdict.anchoring) == list(REAL_FRACTIONS[1:])
    assert all(p.interval.n == len(cfg["seeds"]) for p in verdict.collapse)


def test_collapse_verdict_parts_name_every_verdict() -> None:
    frame = collapse_frame(last_metrics(0.2, 0.4, 800, 900, 0.05, 0.01), last_metrics(0.7, 0.55, 1600, 400, 0.05, 0.01))
    parts = collapse_verdict(frame).parts()
    assert list(parts)[:2] == ["claim", "collapse with 0% real"]
    assert parts["anchoring with 50% real"] is Verdict.HELD and len(parts) == 2 + 4 + 1 + 3 + 1
    hurt = collapse_verdict(
        collapse_frame(last_metrics(0.5, 0.5, 1500, 500, 0.2, 0.01), last_metrics(0.2, 0.4, 800, 900, 0.05, 0.01))
    ).parts()
    assert hurt["claim"] is Verdict.DID_NOT_HOLD and hurt["anchoring with 50% real"] is Verdict.DID_NOT_HOLD


def test_generation_summary_shows_intervals_and_the_parts_verdict_at_the_last_generation() -> None:
    held = collapse_frame(last_metrics(0.2, 0.4, 800, 900, 0.05, 0.01), last_metrics(0.7, 0.55, 1600, 400, 0.05, 0.01))
    first = generation_summary(held, 0.0, 0)
    assert "Generation 0 with 0% real data: mean over 5 seeds" in first
    assert "<td>1.000 [1.000, 1.000]</td>" in first and "<td>2,000 [2,000, 2,000]</td>" in first  # no spread
    assert "judged at the last generation (3)" in first and "<strong>" not in first
    last = generation_summary(held, 0.0, 3)
    rare = mean_interval([0.2 + 0.01 * j for j in (0.0, 1.0, -1.0, 0.5, -0.5)])
    assert f"<td>0.200 [{rare.low:.3f}, {rare.high:.3f}]</td>" in last and rare.high - rare.low > 0.01
    verdict = collapse_verdict(held)
    assert "<strong>Collapse with 0% real data: held</strong>" in last
    assert all(html.escape(p.claim.sentence(p.interval)) in last for p in verdict.collapse)
    mixed = generation_summary(held, 0.5, 3)
    assert "<strong>Anchoring with 50% real data: held</strong>" in mixed
    assert all(html.escape(p.claim.sentence(p.interval)) in mixed for p in verdict.anchoring[0.5])
    assert generation_summary(held, 0, 3) == last  # an integer share from the page's JSON is the same setting
    hurt = collapse_frame(last_metrics(0.5, 0.5, 1500, 500, 0.2, 0.01), last_metrics(0.2, 0.4, 800, 900, 0.05, 0.01))
    assert "<strong>Anchoring with 50% real data: did not hold</strong>" in generation_summary(hurt, 0.5, 3)
    noisy = collapse_frame(last_metrics(1.0, 0.6, 2000, 300, 0.05, 0.2), last_metrics(1.0, 0.6, 2000, 300, 0.05, 0.2))
    assert "Collapse with 0% real data: inconclusive" in generation_summary(noisy, 0.0, 3)
    one_seed = held[held["seed"] == 0]
    assert "(n=1: no interval)" in generation_summary(one_seed, 0.0, 3)
    with pytest.raises(UsageError):
        generation_summary(held, 0.25, 3)
    with pytest.raises(UsageError):
        generation_summary(held, 0.0, 7)
